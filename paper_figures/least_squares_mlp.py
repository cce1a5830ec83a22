"""Seed 000 §2.1, Figure 2: least squares by a multilayer [2, 20, 20, 1] tanh network.

Figure 1's problem and methods (`least_squares_shallow`) with the deeper network and
greedy step k = 20: gradient descent, the minimum-norm L² natural gradient (NGD) and
NGD-OGA (`ng.NaturalGradient(ng.Greedy(20), ...)`), each with the best of 30
log-spaced step sizes in [1e-6, 1], no clipping. Panels: loss and relative L² error
on a 50 × 50 evaluation grid, per iteration.

Measured (1000 points, 300 steps; full run of 2026-11-22): final loss GD 9.3e-2, NGD
1.4e-12, NGD-OGA 3.4e-5 (2.3e-5 with earlier code: the greedy picks follow round-off).
NGD sits near its initial loss for ~25 iterations (its first steps have |h| ~ 2e4 and
no step of the grid lowers the loss), NGD-OGA is at 1.1e-3 by iteration 20; NGD is below
it from iteration 37 on. Per iteration (3 runs): GD 2.5-3.3, NGD 117-126, NGD-OGA 7-10
ms. At step 99 the greedy picked a tangent vector of norm 7e-19 (a saturated neuron),
|h| ~ 4e14, and the best step of the grid raised the loss by 42% (recovered at the
next step).
"""

from . import least_squares_shallow as _ls


NAME = "least_squares_mlp"
SEED = "000"
SECTION = "§2.1, Figure 2"
TITLE = (
    "Least squares by a multilayer [2, 20, 20, 1] tanh network: GD vs NGD vs NGD-OGA"
)

HIDDEN = (20, 20)
K_GREEDY = 20
SIZES = {"quick": {"points": 400, "steps": 80}, "full": {"points": 1000, "steps": 300}}


def run(quick: bool) -> dict:
    return _ls.run_least_squares(quick, hidden=HIDDEN, k=K_GREEDY, sizes=SIZES)


def plot(data: dict, path) -> None:
    _ls.plot_least_squares(data, path, f"Seed {SEED} {SECTION}: {TITLE}")
