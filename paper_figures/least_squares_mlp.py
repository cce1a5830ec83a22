"""Seed 000 §2.1, Figure 2: least squares by a multilayer [2, 20, 20, 1] tanh network.

Figure 1's problem and methods (`_oga`) with the deeper network and greedy step k = 20:
gradient descent, the minimum-norm L² natural gradient (NGD) and NGD-OGA
(`ng.NaturalGradient(ng.Greedy(20), ...)`), each with the best of 30 log-spaced step
sizes in [1e-6, 1], no clipping. Panels: loss and relative L² error on a 50 × 50
evaluation grid, per iteration.

Asserted (tests, quick run): as for Figure 1.
"""

from . import _oga


NAME = "least_squares_mlp"
SEED = "000"
SECTION = "§2.1, Figure 2"
TITLE = (
    "Least squares by a multilayer [2, 20, 20, 1] tanh network: GD vs NGD vs NGD-OGA"
)
SIZES = {"quick": {"points": 400, "steps": 80}, "full": {"points": 1000, "steps": 300}}


def run(quick: bool) -> dict:
    return _oga.run_least_squares(quick, hidden=(20, 20), k=20, sizes=SIZES)


def plot(data: dict, path) -> None:
    header = f"Seed {SEED} {SECTION}: {TITLE}\n{data['settings']['points']} Monte Carlo points, no clipping"
    _oga.plot(data, path, "loss  ½‖u − g‖²  (Monte Carlo)", _oga.EVAL_SIDE, header)
