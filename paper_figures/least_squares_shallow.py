"""Seed 000 §2.1, Figure 1: least squares by a shallow [2, 30, 1] tanh network.

Minimises 1/2 ‖u − g‖² (Monte Carlo mean over uniform points in [0, 1]²) with gradient
descent and the minimum-norm L² natural gradient; both take the best step of a
logarithmic grid of 30 step sizes in [1e-6, 1]. Panels: loss and relative L² error on a
50 × 50 evaluation grid, per iteration. To add a method (e.g. OGA), add an entry to
`methods()`: the JSON and both panels pick it up.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

import ngflow as ng

from . import _common


NAME = "least_squares_shallow"
SEED = "000"
SECTION = "§2.1, Figure 1"
TITLE = "Least squares by a shallow [2, 30, 1] tanh network: GD vs NGD"

WIDTH = 30
POINTS_KEY, MODEL_KEY = 0, 1
GRID = {"num": 30, "smallest": 1e-6, "largest": 1.0}
EVAL_SIDE = 50
SIZES = {"quick": {"points": 200, "steps": 60}, "full": {"points": 1000, "steps": 500}}


def target(x):
    a, b = jnp.pi * x[0], jnp.pi * x[1]
    return jnp.sin(a) * jnp.sin(b) + jnp.sin(1.5 * a) * jnp.sin(1.5 * b)


def methods() -> dict:
    """`label -> (method, description recorded in the JSON)`, in plotting order."""
    grid = ng.LogGrid(**GRID)
    return {
        "GD": (ng.GradientDescent(grid), "ng.GradientDescent(ng.LogGrid(30, 1e-6))"),
        "NGD (min-norm)": (
            ng.NaturalGradient(ng.Pinv(), grid),
            "ng.NaturalGradient(ng.Pinv(), ng.LogGrid(30, 1e-6)): L2 metric, "
            "minimum-norm direction (default rcond), no clipping",
        ),
    }


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    points = jax.random.uniform(jax.random.key(POINTS_KEY), (size["points"], 2))
    model = eqx.nn.MLP(
        2, "scalar", WIDTH, 1, activation=jnp.tanh, key=jax.random.key(MODEL_KEY)
    )
    problem = ng.Problem(model, ng.LeastSquares(target, points), ng.L2(points))
    axis = jnp.linspace(0.0, 1.0, EVAL_SIDE)
    eval_points = jnp.stack(jnp.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    monitors = {"error": ng.RelativeL2Error(target, eval_points)}
    results = {}
    for label, (method, description) in methods().items():
        solution = ng.solve(
            problem, method, steps=size["steps"], monitors=monitors, throw=False
        )
        results[label] = {"method": description, **_common.record(solution)}
    settings = {
        "quick": quick,
        "target": "g = sin(pi x) sin(pi y) + sin(1.5 pi x) sin(1.5 pi y) on [0, 1]^2",
        "loss": "ng.LeastSquares: 1/2 mean_i (u(x_i) - g(x_i))^2 (Monte Carlo)",
        "metric": "ng.L2 on the same points and weights",
        "points": size["points"],
        "points_sampling": "uniform on [0, 1]^2",
        "points_key": POINTS_KEY,
        "steps": size["steps"],
        "model": f"eqx.nn.MLP(2, 'scalar', {WIDTH}, 1, activation=tanh)",
        "model_key": MODEL_KEY,
        "num_parameters": ng.num_parameters(model),
        "step_grid": {**GRID, "spacing": "geometric, best loss taken"},
        "error_eval": f"relative L2 error on a {EVAL_SIDE}x{EVAL_SIDE} uniform grid of [0, 1]^2 (boundary included), equal weights",
        "our_choices": [
            "Seed 000 does not state the number of Monte Carlo points or of iterations; "
            f"ours: {SIZES['full']['points']} points and {SIZES['full']['steps']} steps "
            f"(--quick: {SIZES['quick']['points']} points, {SIZES['quick']['steps']} steps).",
            "Seed 000's grid is '30 logarithmic grid points in [0, 1]'; we take [1e-6, 1].",
            "Random keys, the evaluation grid and ng.Pinv's default cutoff are ours.",
            "Seed 000's figure also has OGA (greedy step 10); not included yet.",
        ],
        "versions": {
            "ngflow": ng.__version__,
            "jax": jax.__version__,
            "equinox": eqx.__version__,
        },
    }
    return _common.jsonable({"settings": settings, "methods": results})


def plot(data: dict, path) -> None:
    fig, (ax_loss, ax_error) = _common.figure(ncols=2)
    for label, result in data["methods"].items():
        ax_loss.semilogy(_common.series(result["losses"]), label=label)
        ax_error.semilogy(_common.series(result["monitors"]["error"]), label=label)
    ax_loss.set(
        xlabel="iteration",
        ylabel="loss  ½‖u − g‖²  (Monte Carlo)",
        title="Training loss",
    )
    ax_error.set(
        xlabel="iteration",
        ylabel="relative L² error",
        title=f"Relative L² error ({EVAL_SIDE}×{EVAL_SIDE} evaluation grid)",
    )
    for ax in (ax_loss, ax_error):
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
    s = data["settings"]
    fig.suptitle(
        f"Seed {SEED} {SECTION}: {TITLE}\n"
        f"N = {s['points']} Monte Carlo points, {s['steps']} steps, "
        f"best of {GRID['num']} log-spaced step sizes in [{GRID['smallest']:g}, {GRID['largest']:g}]",
        fontsize=10,
    )
    _common.save(fig, path)
