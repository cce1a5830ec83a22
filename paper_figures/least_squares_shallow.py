"""Seed 000 §2.1, Figure 1: least squares by a shallow [2, 30, 1] tanh network.

Minimises ½‖u − g‖² (Monte Carlo mean over uniform points in [0, 1]²) with gradient
descent, the minimum-norm L² natural gradient (NGD) and NGD-OGA, the natural gradient
from k = 10 tangent vectors chosen by the orthogonal greedy algorithm (seed 000 §1.1,
`ng.Greedy(10)`); all take the best step of a logarithmic grid of 30 step sizes in
[1e-6, 1], no clipping. Panels: loss and relative L² error on a 50 × 50 evaluation grid,
per iteration. The JSON also records, for NGD-OGA, the fraction of ∇_u L that the k
greedy vectors leave at every step, and (full run) the fraction captured by them and by
all tangent vectors at the first and last iterate.

Asserted (tests, quick run): NGD ends far below GD (1e-3×) and below NGD-OGA (1e-3×),
NGD-OGA far below GD (1e-2×); NGD-OGA is ahead of NGD at iteration 20; the greedy
residual fraction stays in [0, 1], never grows along a step's greedy curve, is small at
the first step and large at the last.
"""

from . import _oga


NAME = "least_squares_shallow"
SEED = "000"
SECTION = "§2.1, Figure 1"
TITLE = "Least squares by a shallow [2, 30, 1] tanh network: GD vs NGD vs NGD-OGA"
SIZES = {"quick": {"points": 200, "steps": 80}, "full": {"points": 1000, "steps": 500}}


def run(quick: bool) -> dict:
    return _oga.run_least_squares(quick, hidden=(30,), k=10, sizes=SIZES)


def plot(data: dict, path) -> None:
    header = f"Seed {SEED} {SECTION}: {TITLE}\n{data['settings']['points']} Monte Carlo points, no clipping"
    _oga.plot(data, path, "loss  ½‖u − g‖²  (Monte Carlo)", _oga.EVAL_SIDE, header)
