"""Seed 003 ("Beyond L² loss: KL-divergence", L_u(v) = ∫ v log(v/u)) and seed 001 (the
Fisher metric): a 1D Gaussian-mixture density fitted by an unnormalised density
v = exp(tanh network), minimising KL in both directions with GD, Fisher NGD and L² NGD.

The problem (ours; recorded in `settings`): target u = 0.35 N(−1.5, 0.45²) +
0.65 N(1.2, 0.7²) on the 200 midpoints of [−5, 5] (weights 0.05); model
log v(x) = MLP(x / 2.5), `eqx.nn.MLP(1, "scalar", 8, 1, tanh)` (25 parameters; the
scale of v is free: both the losses and the Fisher normalise over the points). Losses:
the *reverse* KL(v‖u) = ∫ v log(v/u) of seed 003 (`ng.ReverseKL`, mode-seeking) and the
*forward* KL(u‖v) (`ng.KL`, maximum likelihood, mass-covering), both with `log=True`.
Metrics: the Fisher of the normalised density (`ng.Fisher(points,
ng.Density(log=True), weights)`: rows √(w q)(∇ log v − E_q ∇ log v)) and, for
comparison, the L² metric of the model's output, i.e. of the *log*-density
(`ng.L2(points, weights)`). Both Gram matrices are nearly singular (the Fisher has the
constant shift of log v in its null space; condition ~1e7-1e8 here), so both
NGDs use `ng.Cholesky(1e-4)` (λ = 1e-4·tr(G)/p; with 1e-8, Fisher NGD on the forward
KL stalled at KL ≈ 0.8 for 100+ iterations on 2 of 3 seeds, taking steps ~1e-5; 1e-3
gave similar forward KLs but left the reverse KL of seed 0 at 0.92). GD takes
the best step of `ng.LogGrid(31, 1e-4, 100)`, the NGDs of `ng.LogGrid()` (31 steps in
[2⁻³⁰, 1]). 300 iterations, seeds 0-4 (`--quick`: 150 iterations, seeds 0-1).

Panels: the KL per iteration (median and range over seeds) for each direction, and the
fitted normalised densities (q_n/w_n, seed 0) against the target.

Measured (full run; final KL after 300 iterations, median [min, max] over 5 seeds):

- reverse KL(v‖u): GD 0.12 [0.011, 0.42], L² NGD 6.1e-3 [4.6e-3, 0.37], Fisher NGD
  7.5e-4 [1.6e-5, 0.11]. Fisher NGD is best on 4 of 5 seeds; the reverse KL has
  mode-collapsed local minima: GD seed 1 (KL 0.42) and L² NGD seed 4 (0.37) lost the
  left mode entirely (density ≤ 1e-6 at x = −1.5), Fisher NGD's worst seed (3, KL 0.11)
  kept both modes with the wrong shape. Fisher NGD often first sits on a plateau
  (KL ≈ 0.7 for up to ~90 iterations) before dropping by 2-4 orders of magnitude.
- forward KL(u‖v): GD 8.3e-3 [5.4e-3, 0.18], L² NGD 6.5e-3 [6.2e-3, 6.6e-3], Fisher NGD
  1.7e-5 [3.0e-6, 2.4e-5]: every Fisher run over 200× below every GD or L² NGD run,
  below 1e-4 (median) after 40 iterations. L² NGD on log v is barely better than GD
  (the L² metric of log v weighs every point alike, the empty tails included; the
  Fisher weighs ∇ log v by the model's own mass q).
- `--quick` (reverse only, 150 iterations, seeds 0-1): GD 0.14 / 0.43, L² NGD 0.036 /
  0.0097, Fisher NGD 1.9e-5 / 9.8e-4.
- Time (busy 2-core CPU): quick ~14 s, full ~18 s (+2 s to plot): each (direction,
  method) compiles once (2-3 s), a 300-iteration solve then takes 30-40 ms.
"""

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import ngflow as ng

from . import _common


NAME = "density_kl"
SEED = "003"
SECTION = "'Beyond L² loss': the KL loss ∫ v log(v/u), with seed 001's Fisher metric"
TITLE = "Gaussian mixture by v = exp(tanh net): KL fits with GD, Fisher NGD and L² NGD"

N_POINTS = 200
DOMAIN = (-5.0, 5.0)
MIXTURE = ((0.35, -1.5, 0.45), (0.65, 1.2, 0.7))  # (weight, mean, std)
HIDDEN = 8
INPUT_SCALE = 2.5
DAMPING = 1e-4
GRID = {"num": 31, "smallest": 0.5**30, "largest": 1.0}
GD_GRID = {"num": 31, "smallest": 1e-4, "largest": 100.0}
SIZES = {
    # --quick: seed 003's direction only (each direction costs three ~3 s compilations)
    "quick": {"steps": 150, "seeds": (0, 1), "directions": ("reverse",)},
    "full": {
        "steps": 300,
        "seeds": (0, 1, 2, 3, 4),
        "directions": ("reverse", "forward"),
    },
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
    return LogDensity(
        eqx.nn.MLP(
            1, "scalar", HIDDEN, 1, activation=jnp.tanh, key=jax.random.key(seed)
        )
    )


def quadrature():
    n = N_POINTS
    lo, hi = DOMAIN
    points = lo + (np.arange(n) + 0.5) * (hi - lo) / n
    return points, np.full(n, (hi - lo) / n)


def target(x):
    out = 0.0
    for w, m, s in MIXTURE:
        out = out + w * jnp.exp(-0.5 * ((x - m) / s) ** 2) / (s * jnp.sqrt(2 * jnp.pi))
    return out


def labels(directions=tuple(DIRECTIONS)) -> dict:
    return {
        f"{m}_{d}": f"{name} ({d} KL)"
        for d in directions
        for m, name in (
            ("gd", "GD"),
            ("fisher", "Fisher NGD"),
            ("l2", "L² NGD (log v)"),
        )
    }


def _loss(direction, points, weights):
    cls = ng.ReverseKL if direction == "reverse" else ng.KL
    return cls(target, jnp.asarray(points), jnp.asarray(weights), log=True)


def _methods(points, weights):
    p, w = jnp.asarray(points), jnp.asarray(weights)
    fisher = ng.Fisher(p, ng.Density(log=True), w)
    l2 = ng.L2(p, w)
    gram, grid = ng.Cholesky(DAMPING), ng.LogGrid(**GRID)
    c = f"ng.Cholesky({DAMPING:g}), ng.LogGrid()"
    return {
        "gd": (
            ng.GradientDescent(ng.LogGrid(**GD_GRID)),
            l2,
            "ng.GradientDescent(ng.LogGrid(31, 1e-4, 100))",
        ),
        "fisher": (
            ng.NaturalGradient(gram, grid),
            fisher,
            f"ng.NaturalGradient({c}), ng.Fisher(points, ng.Density(log=True), w)",
        ),
        "l2": (
            ng.NaturalGradient(gram, grid),
            l2,
            f"ng.NaturalGradient({c}), ng.L2(points, w) (of log v)",
        ),
    }


def _band(curves):
    c = np.asarray(curves, dtype=float)
    with np.errstate(all="ignore"):
        return {
            "median": np.nanmedian(c, axis=0),
            "min": np.nanmin(c, axis=0),
            "max": np.nanmax(c, axis=0),
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
    name = labels(directions)
    table = _methods(points, weights)
    start = time.perf_counter()
    methods, fits = {}, {}
    for direction in directions:
        loss = _loss(direction, points, weights)
        for role, (method, metric, description) in table.items():
            runs, models = [], []
            for s in seeds:
                sol = ng.solve(
                    ng.Problem(make_model(s), loss, metric),
                    method,
                    steps=steps,
                    throw=False,
                    progress=False,
                )
                runs.append(_common.record(sol))
                models.append(sol.model)
            finals = np.array([float(r["final_loss"]) for r in runs])
            label = name[f"{role}_{direction}"]
            methods[label] = {
                "method": description,
                "loss": DIRECTIONS[direction][0],
                **{k: runs[0][k] for k in ("losses", "final_loss", "result", "stats")},
                "record_note": f"losses, final_loss, result, stats: seed {seeds[0]}; "
                "wall_time_s: all seeds (JIT on the first)",
                "wall_time_s": float(sum(r["wall_time_s"] for r in runs)),
                "wall_time_first_s": runs[0]["wall_time_s"],
                "final_losses": finals,
                "final_loss_median": float(np.median(finals)),
                "results": [r["result"] for r in runs],
                "loss_band": _band([r["losses"] for r in runs]),
                "fitted_density_seed0": _normalised(models[0], points, weights),
            }
            fits[label] = methods[label]["fitted_density_seed0"]
    total = time.perf_counter() - start
    t_values = np.asarray(jax.vmap(target)(jnp.asarray(points)))
    settings = {
        "quick": quick,
        "labels": name,
        "steps": steps,
        "seeds": seeds,
        "points": f"{N_POINTS} midpoints of [{DOMAIN[0]:g}, {DOMAIN[1]:g}], weights "
        f"{weights[0]:g}",
        "mixture": {"weights_means_stds": MIXTURE},
        "model": f"log v = eqx.nn.MLP(1, 'scalar', {HIDDEN}, 1, tanh)(x / {INPUT_SCALE:g}), "
        f"{ng.num_parameters(make_model(0))} parameters",
        "directions": {
            d: {"loss": DIRECTIONS[d][0], "meaning": DIRECTIONS[d][1]}
            for d in directions
        },
        "metrics": {
            "fisher": "ng.Fisher(points, ng.Density(log=True), weights)",
            "l2": "ng.L2(points, weights): the L² metric of the model output log v",
        },
        "gram": f"ng.Cholesky({DAMPING:g}) (relative damping)",
        "step_grid": GRID,
        "gd_step_grid": GD_GRID,
        "wall_time_total_s": total,
    }
    return _common.jsonable(
        {
            "settings": settings,
            "methods": methods,
            "densities": {"x": points, "target": t_values, "fitted_seed0": fits},
        }
    )


# -- plot -----------------------------------------------------------------------------

COLORS = {"gd": "tab:blue", "fisher": "tab:green", "l2": "tab:orange"}


def _curves(ax, data, direction):
    s = data["settings"]
    for role in ("gd", "l2", "fisher"):
        label = s["labels"][f"{role}_{direction}"]
        m = data["methods"][label]
        band = m["loss_band"]
        med = _common.series(band["median"])
        k = np.arange(med.size)
        ax.semilogy(
            k,
            med,
            color=COLORS[role],
            lw=1.6,
            label=f"{label.split(' (')[0]}: {m['final_loss_median']:.1e}",
        )
        ax.fill_between(
            k,
            _common.series(band["min"]),
            _common.series(band["max"]),
            color=COLORS[role],
            alpha=0.15,
            lw=0,
        )
    ax.set(
        xlabel="iteration",
        ylabel="KL (nats)",
        title=f"{DIRECTIONS[direction][1]}\nmedian, band: {len(s['seeds'])} seeds",
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, title="final KL (median)", title_fontsize=8)


def _densities(ax, data, direction):
    s, d = data["settings"], data["densities"]
    x = np.asarray(d["x"])
    ax.fill_between(x, np.asarray(d["target"]), color="0.85", label="target u")
    ax.plot(x, np.asarray(d["target"]), color="k", lw=1.2)
    for role, ls in (("gd", "-"), ("l2", "--"), ("fisher", ":")):
        label = s["labels"][f"{role}_{direction}"]
        final = data["methods"][label]["final_loss"]
        ax.plot(
            x,
            np.asarray(d["fitted_seed0"][label]),
            color=COLORS[role],
            ls=ls,
            lw=2,
            label=f"{label.split(' (')[0]} (KL {final:.1e})",
        )
    ax.set(
        xlabel="x",
        ylabel="normalised density q_n / w_n",
        title=f"fitted densities, seed {s['seeds'][0]}, after {s['steps']} iterations",
    )
    ax.legend(fontsize=8)


def plot(data: dict, path) -> None:
    s = data["settings"]
    directions = list(s["directions"])
    one = len(directions) == 1  # --quick: one direction, its two panels side by side
    fig = Figure(figsize=(13, 5.8 if one else 10), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1 if one else 2, 2, squeeze=False)
    for col, direction in enumerate(directions):
        _curves(axes[0, col], data, direction)
        _densities(axes[0, 1] if one else axes[1, col], data, direction)
    fig.suptitle(
        f"Seed {SEED} {SECTION}\n{TITLE}\n"
        f"{s['model']}; {s['points']}\n"
        f"NGDs: {s['gram']}, best of ng.LogGrid(); GD: best of 31 steps in [1e-4, 100]",
        fontsize=10,
    )
    _common.save(fig, path)
