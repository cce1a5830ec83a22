"""Seed 003 ('Beyond L² loss': L_u(v) = ∫ v log(v/u)) with seed 001's Fisher metric: a 1D
Gaussian mixture fitted by v = exp(tanh network) on 200 points, minimising the reverse
and (full run) forward KL with GD, Fisher NGD and L² NGD of log v (`ng.Cholesky(1e-4)`,
log-grid steps), one ensemble solve over the seeds per (direction, method).

Plotted: the KL per iteration (median and range over seeds) per direction, and the
fitted normalised densities (seed 0) against the target.
Asserted (tests): in each direction Fisher NGD's median final KL is below a tenth of
GD's and half of L² NGD's, and below GD on every seed; the drawn densities are
normalised and give the recorded final KLs.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import ngflow as ng

from . import _common


NAME = "density_kl"
SEED = "003"
SECTION = "'Beyond L² loss': the KL loss ∫ v log(v/u), with seed 001's Fisher metric"
TITLE = "Gaussian mixture by v = exp(tanh net): KL fits with GD, Fisher NGD and L² NGD"

N_POINTS, DOMAIN, HIDDEN, INPUT_SCALE, DAMPING = 200, (-5.0, 5.0), 8, 2.5, 1e-4
MIXTURE = ((0.35, -1.5, 0.45), (0.65, 1.2, 0.7))  # (weight, mean, std)
GRID = {"num": 31, "smallest": 0.5**30, "largest": 1.0}
GD_GRID = {"num": 31, "smallest": 1e-4, "largest": 100.0}
SIZES = {
    # --quick: seed 003's direction only (each direction costs three ~3 s compilations)
    "quick": {"steps": 150, "seeds": (0, 1), "directions": ("reverse",)},
    "full": dict(steps=300, seeds=tuple(range(5)), directions=("reverse", "forward")),
}
DIRECTIONS = {
    "reverse": ("ng.ReverseKL", "KL(v‖u) = ∫ v log(v/u)  (seed 003; mode-seeking)"),
    "forward": ("ng.KL", "KL(u‖v) = ∫ u log(u/v)  (max. likelihood; mass-covering)"),
}


class LogDensity(eqx.Module):
    """log v(x) = MLP(x / 2.5): an unnormalised density, returned as its log."""

    mlp: eqx.nn.MLP

    def __call__(self, x):
        return self.mlp(x[None] / INPUT_SCALE)


def make_model(seed: int) -> LogDensity:
    key = jax.random.key(seed)
    return LogDensity(eqx.nn.MLP(1, "scalar", HIDDEN, 1, activation=jnp.tanh, key=key))


def quadrature():
    n, (lo, hi) = N_POINTS, DOMAIN
    points = lo + (np.arange(n) + 0.5) * (hi - lo) / n
    return points, np.full(n, (hi - lo) / n)


def target(x):
    out = 0.0
    for w, m, s in MIXTURE:
        out = out + w * jnp.exp(-0.5 * ((x - m) / s) ** 2) / (s * jnp.sqrt(2 * jnp.pi))
    return out


def labels(directions=tuple(DIRECTIONS)) -> dict:
    names = {"gd": "GD", "fisher": "Fisher NGD", "l2": "L² NGD (log v)"}
    return {f"{m}_{d}": f"{n} ({d} KL)" for d in directions for m, n in names.items()}


@functools.cache
def _setting():
    p, w = (jnp.asarray(v) for v in quadrature())
    return {
        "reverse": ng.ReverseKL(target, p, w, log=True),
        "forward": ng.KL(target, p, w, log=True),
        "fisher": ng.Fisher(p, ng.Density(log=True), w),
        "l2": ng.L2(p, w),
    }


def _problem(direction, metric, seed):
    s = _setting()
    return ng.Problem(make_model(seed), s[direction], s[metric])


GRAMS = ("fisher", "l2")
# The problem factories of the ensembles, built once (one compile per factory).
PROBLEMS = {
    (d, m): functools.partial(_problem, d, m) for d in DIRECTIONS for m in GRAMS
}


def method_table():
    gram, grid = ng.Cholesky(DAMPING), ng.LogGrid(**GRID)
    return {
        "gd": (ng.GradientDescent(ng.LogGrid(**GD_GRID)), "l2"),
        "fisher": (ng.NaturalGradient(gram, grid), "fisher"),
        "l2": (ng.NaturalGradient(gram, grid), "l2"),
    }


def _normalised(model, points, weights):
    """q_n / w_n: the model's density normalised over the points."""
    log_v = np.asarray(jax.vmap(model)(jnp.asarray(points)))
    a = log_v + np.log(weights)
    q = np.exp(a - np.logaddexp.reduce(a))
    return q / weights


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    steps, seeds, directions = size["steps"], size["seeds"], size["directions"]
    points, weights = quadrature()
    name, methods, fits = labels(directions), {}, {}
    for direction in directions:
        for role, (method, metric) in method_table().items():
            problem = PROBLEMS[direction, metric]
            sols = _common.sweep(problem, method, jnp.asarray(seeds), steps)
            runs = [_common.record(sol) for sol in sols]
            finals = np.array([r["final_loss"] for r in runs])
            label = name[f"{role}_{direction}"]
            fits[label] = _normalised(sols[0].model, points, weights)
            methods[label] = {
                "method": f"{method!r}, metric {metric}",
                "loss": DIRECTIONS[direction][0],
                **{k: runs[0][k] for k in ("losses", "final_loss", "result", "stats")},
                "record_note": f"losses, final_loss, result, stats: seed {seeds[0]}; "
                "wall_time: the ensemble solve of all seeds (JIT included)",
                "wall_time": runs[0]["wall_time"],
                "final_losses": finals,
                "final_loss_median": float(np.median(finals)),
                "results": [r["result"] for r in runs],
                "loss_band": _common.band([r["losses"] for r in runs]),
            }
    dirs = {
        d: dict(loss=DIRECTIONS[d][0], meaning=DIRECTIONS[d][1]) for d in directions
    }
    settings = {
        "quick": quick,
        "labels": name,
        **{"steps": steps, "seeds": seeds},
        "points": f"{N_POINTS} midpoints of [{DOMAIN[0]:g}, {DOMAIN[1]:g}], weights "
        f"{weights[0]:g}",
        "mixture": {"weights_means_stds": MIXTURE},
        "model": f"log v = eqx.nn.MLP(1, 'scalar', {HIDDEN}, 1, tanh)(x / {INPUT_SCALE:g}), "
        f"{ng.num_parameters(make_model(0))} parameters",
        "directions": dirs,
        "gram": f"ng.Cholesky({DAMPING:g}) (relative damping)",
        **{"step_grid": GRID, "gd_step_grid": GD_GRID},
        "versions": _common.versions(),
    }
    t_values = np.asarray(jax.vmap(target)(jnp.asarray(points)))
    densities = {"x": points, "target": t_values, "fitted_seed0": fits}
    out = {"settings": settings, "methods": methods, "densities": densities}
    return _common.jsonable(out)


COLORS = {"gd": "tab:blue", "fisher": "tab:green", "l2": "tab:orange"}


def _curves(ax, data, direction):
    s = data["settings"]
    for role in ("gd", "l2", "fisher"):
        label = s["labels"][f"{role}_{direction}"]
        m = data["methods"][label]
        text = f"{label.split(' (')[0]}: {m['final_loss_median']:.1e}"
        _common.draw_band(ax, None, m["loss_band"], COLORS[role], text, alpha=0.15)
    title = f"{DIRECTIONS[direction][1]}\nmedian, band: {len(s['seeds'])} seeds"
    legend = {"fontsize": 8, "title": "final KL (median)", "title_fontsize": 8}
    _common.finish(ax, legend, xlabel="iteration", ylabel="KL (nats)", title=title)


def _densities(ax, data, direction):
    s, d = data["settings"], data["densities"]
    x = np.asarray(d["x"])
    ax.fill_between(x, np.asarray(d["target"]), color="0.85", label="target u")
    ax.plot(x, np.asarray(d["target"]), color="k", lw=1.2)
    for role, ls in (("gd", "-"), ("l2", "--"), ("fisher", ":")):
        label = s["labels"][f"{role}_{direction}"]
        final = data["methods"][label]["final_loss"]
        text = f"{label.split(' (')[0]} (KL {final:.1e})"
        fit = np.asarray(d["fitted_seed0"][label])
        ax.plot(x, fit, color=COLORS[role], ls=ls, lw=2, label=text)
    title = f"fitted densities, seed {s['seeds'][0]}, after {s['steps']} iterations"
    ax.set(xlabel="x", ylabel="normalised density q_n / w_n", title=title)
    ax.legend(fontsize=8)


def plot(data: dict, path) -> None:
    s = data["settings"]
    directions = list(s["directions"])
    one = len(directions) == 1  # --quick: one direction, its two panels side by side
    fig, axes = _common.figure(1 if one else 2, 2, 6.5, 5.8 if one else 5)
    for col, direction in enumerate(directions):
        _curves(axes[0, col], data, direction)
        _densities(axes[0, 1] if one else axes[1, col], data, direction)
    title = (
        f"Seed {SEED} {SECTION}\n{TITLE}\n"
        f"{s['model']}; {s['points']}\n"
        f"NGDs: {s['gram']}, best of ng.LogGrid(); GD: best of 31 steps in [1e-4, 100]"
    )
    _common.save(fig, path, title)
