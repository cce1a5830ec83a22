"""Seed 000 §2.1, Figure 2: Figure 1 (`_oga`) with a [2, 20, 20, 1] tanh network and
greedy step k = 20. Plotted: loss and relative L² error per iteration.
Asserted (tests): as for Figure 1.
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
    _oga.plot_least_squares(data, path, f"Seed {SEED} {SECTION}: {TITLE}")
