"""Seed 000 §2.1, Figure 1: least squares by a shallow [2, 30, 1] tanh network; GD, the
minimum-norm L² NGD and NGD-OGA (k = 10 greedy tangent vectors), best of a step grid.

Plotted: loss and relative L² error per iteration.
Asserted (tests): NGD ends 1e-3× below GD and NGD-OGA, NGD-OGA 1e-2× below GD; NGD-OGA
is ahead of NGD at iteration 20; the greedy residual fraction stays in [0, 1], never
grows along a step's greedy curve, is small at the first step and large at the last.
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
    _oga.plot_least_squares(data, path, f"Seed {SEED} {SECTION}: {TITLE}")
