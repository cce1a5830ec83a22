"""Seed 000's greedy natural gradient (NGD-OGA) figures 1-3: the least-squares problem,
timed solves, the OGA diagnostics and the two-panel plot (loss, relative L² error)."""

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

import ngflow as ng

from . import _common


POINTS_KEY, MODEL_KEY = 0, 1
GRID = {"num": 30, "smallest": 1e-6, "largest": 1.0}
GRID_TEXT = "ng.LogGrid(30, 1e-6, 1.0)"
EVAL_SIDE = 50


def target(x):
    a, b = jnp.pi * x[0], jnp.pi * x[1]
    return jnp.sin(a) * jnp.sin(b) + jnp.sin(1.5 * a) * jnp.sin(1.5 * b)


def greedy_summary(solution, k: int) -> dict:
    """Per step the rank and the fraction of ‖∇_u L‖² = 2L the k greedy steps leave; the
    greedy curve at the first and the last step."""
    stats = {key: np.asarray(value) for key, value in solution.stats.items()}
    proj = stats["greedy_projection"]  # (steps, k): ‖Π_{H_j} ∇_u L‖², j = 1..k
    left = 1.0 - proj / (2.0 * np.asarray(solution.losses)[:-1, None])
    last = int(solution.num_steps) - 1
    end = left[last]
    return {
        "k": k,
        "rank": stats["rank"],
        "residual_fraction": left[:, -1],
        "first_step": {"projection": proj[0], "residual_fraction": left[0]},
        "last_step": {"step": last, "projection": proj[last], "residual_fraction": end},
        "note": "residual_fraction = ‖r_j‖²/‖∇_u L‖² = 1 − greedy_projection / (2 loss) "
        "after greedy step j; the per-step series is after all k steps",
    }


@eqx.filter_jit
def _residual_and_tangent(features, model):
    params, static = eqx.partition(model, eqx.is_inexact_array)
    flat, unravel = jax.flatten_util.ravel_pytree(params)

    def phi(theta):
        return features(eqx.combine(unravel(theta), static))

    return phi(flat), jax.jacfwd(phi)(flat)


def tangent_capture(features, model, k: int) -> dict:
    """The fraction of ‖g‖² (L = ½‖g‖²) captured by the k greedy tangent vectors and by
    all of them (`ng.Pinv`), with the dense tangent map E = ∂g/∂θ."""
    g, e = _residual_and_tangent(features, model)
    norm2 = g @ g
    out = {"loss": 0.5 * norm2, "p": int(e.shape[1]), "N": int(e.shape[0])}
    for label, solver in (("greedy", ng.Greedy(k)), ("all", ng.Pinv())):
        h, stats = ng.gram_solve(solver, e, e.T @ g, residual=g)
        r = g - e @ h
        out[f"captured_{label}"] = 1.0 - (r @ r) / norm2
        out[f"rank_{label}"] = stats["rank"]
    return out


def solve_all(problem, table, steps, monitors, k, features, check=True) -> dict:
    """Runs every `label -> (method, description)`; a greedy one gets the greedy summary
    and, if `check`, the tangent-space check at its first and last iterate."""
    results = {}
    for label, (method, description) in table.items():
        sol = _common.solve(problem, method, steps, monitors=monitors)
        rec = {"method": description, **_common.record(sol)}
        if isinstance(getattr(method, "gram", None), ng.Greedy):
            rec["greedy"] = greedy_summary(sol, k)
            stats = rec["stats"].items()
            rec["stats"] = {key: v for key, v in stats if not key.startswith("greedy")}
            rec["tangent_check"] = "skipped (--quick)"
            if check:
                first = tangent_capture(features, problem.model, k)
                last = tangent_capture(features, sol.model, k)
                rec["tangent_check"] = {"first_iterate": first, "last_iterate": last}
        results[label] = rec
    return results


def run_least_squares(quick, *, hidden, k, sizes) -> dict:
    """Figures 1 and 2: GD, NGD and NGD-OGA(k) on the seed-000 least-squares problem."""
    size = sizes["quick" if quick else "full"]
    points = jax.random.uniform(jax.random.key(POINTS_KEY), (size["points"], 2))
    width, depth = hidden[0], len(hidden)
    key = jax.random.key(MODEL_KEY)
    model = eqx.nn.MLP(2, "scalar", width, depth, activation=jnp.tanh, key=key)
    problem = ng.Problem(model, ng.LeastSquares(target, points), ng.L2(points))
    axis = jnp.linspace(0.0, 1.0, EVAL_SIDE)
    eval_points = jnp.stack(jnp.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    monitors = {"error": ng.RelativeL2Error(target, eval_points)}
    values, scale = jax.vmap(target)(points), 1.0 / np.sqrt(size["points"])

    def features(m):  # L = ½‖g‖²
        return scale * (jax.vmap(m)(points) - values)

    grid = ng.LogGrid(**GRID)
    name = {"gd": "GD", "ngd": "NGD (min-norm)", "oga": f"NGD-OGA (k={k})"}
    table = {name["gd"]: (ng.GradientDescent(grid), f"ng.GradientDescent({GRID_TEXT})")}
    text = f"ng.NaturalGradient(ng.Pinv(), {GRID_TEXT}): L2 metric, minimum norm"
    table[name["ngd"]] = (ng.NaturalGradient(ng.Pinv(), grid), text)
    text = f"ng.NaturalGradient(ng.Greedy({k}), {GRID_TEXT}): L2 metric, {k} greedily "
    text += "chosen tangent vectors (OGA, seed 000 §1.1)"
    table[name["oga"]] = (ng.NaturalGradient(ng.Greedy(k), grid), text)
    results = solve_all(problem, table, size["steps"], monitors, k, features, not quick)
    settings = {
        "quick": quick,
        "target": "g = sin(pi x) sin(pi y) + sin(1.5 pi x) sin(1.5 pi y) on [0, 1]^2",
        "loss": "ng.LeastSquares: 1/2 mean_i (u(x_i) - g(x_i))^2 (Monte Carlo)",
        "metric": "ng.L2 on the same points and weights",
        **{"points": size["points"], "points_key": POINTS_KEY, "steps": size["steps"]},
        **{"layers": [2, *hidden, 1], "model_key": MODEL_KEY},
        **{"num_parameters": ng.num_parameters(model), "greedy_k": k, "labels": name},
        **{"step_grid": GRID, "clip": None},
        "error_eval": f"relative L2 error on a {EVAL_SIDE}x{EVAL_SIDE} grid of [0, 1]^2",
        "our_choices": "Seed 000 gives neither the number of points nor of iterations, "
        "and a grid of '30 logarithmic points in [0, 1]' (ours: [1e-6, 1]); the keys, "
        f"the evaluation grid and ng.Greedy's rtol {ng.Greedy(k).rtol:g} are ours.",
        "versions": _common.versions(),
    }
    return _common.jsonable({"settings": settings, "methods": results})


def plot_least_squares(data: dict, path, title: str) -> None:
    header = f"{title}\n{data['settings']['points']} Monte Carlo points, no clipping"
    plot(data, path, "loss  ½‖u − g‖²  (Monte Carlo)", EVAL_SIDE, header)


def plot(data: dict, path, loss_label: str, eval_side: int, header: str) -> None:
    """Two panels, loss and relative L² error against iteration, one line per method."""
    s, g = data["settings"], data["settings"]["step_grid"]
    fig, ((ax_loss, ax_error),) = _common.figure(1, 2)
    for label, result in data["methods"].items():
        name = f"{label}, {result['ms_per_iter']:.0f} ms/iter"
        ax_loss.semilogy(_common.series(result["losses"]), label=name)
        ax_error.semilogy(_common.series(result["monitors"]["error"]), label=name)
    legend = {"fontsize": 8}
    _common.finish(ax_loss, legend, xlabel="iteration", ylabel=loss_label)
    title = f"Relative L² error ({eval_side}×{eval_side} evaluation grid)"
    ylabel = "relative L² error"
    _common.finish(ax_error, legend, xlabel="iteration", ylabel=ylabel, title=title)
    ax_loss.set_title("Training loss")
    title = (
        f"{header}\n{s['steps']} steps, best of {g['num']} log-spaced step sizes in "
        f"[{g['smallest']:g}, {g['largest']:g}], greedy step k = {s['greedy_k']}"
    )
    _common.save(fig, path, title)
