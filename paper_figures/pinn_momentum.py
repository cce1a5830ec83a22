"""Seed 003, PINN slides: energy NGD vs natural momentum on resampled minibatches.

Solves −ε v″ + v′ = 1 on (0, 1), v(0) = v(1) = 0, ε = 0.05 (boundary layer of width ~ε
at x = 1; exact v* = x − (e^{(x−1)/ε} − e^{−1/ε}) / (1 − e^{−1/ε})) with a [1, 20, 20, 1]
tanh PINN, as `examples/convection_diffusion.py`: loss = mean of the PDE residual² over
m = 200 uniform points redrawn at every step (`ng.Box(0, 1).sampler(200, every=1)`, the
seed's L(v_k) = 1/(2m) Σ_i R(v)(x_{I_i^k})² without the ½) + mean of v² at the two end
points; energy metric (`ng.Energy()`); step = best of the default log grid {0.5^k},
k ≤ 30 (`ng.LogGrid()`). Methods (seed 003, "momentum dynamics in functional space"):

- NGD: `ng.NaturalGradient`;
- natural heavy-ball `ng.HeavyBall(..., beta, transport)`, the momentum being the last
  momentum (LM, P_k E_{k−1}p_{k−1}), the finite difference (FD, P_k(v_k − v_{k−1})) or
  the last gradient (LG, the previous step of functional gradient descent);
- natural Nesterov `ng.Nesterov(..., beta, natural=True)` (extrapolate the function by
  β P_k(v_k − v_{k−1}), then a natural step with the Gram matrix there).

The previous iterate is re-evaluated on the current minibatch (the library's rule).
Seeds: model key s, minibatch key 100 + s; s = 0..19, 300 steps (full); s = 1, 3, 150
steps (`--quick`: seed 1 is one on which LM and LG fail, seed 3 one on which they do not).

Our choices. The Gram solve is damped, λ = 1e-5 · tr(G)/p, as in the example (the
minimum-norm solve stalls on this problem); we use `ng.Woodbury(1e-5)`, the same damped
solve in sample space (202 × 202 instead of 481 × 481): on seed 3 its errors agree with
`ng.Cholesky(1e-5)`'s to 7 digits after 300 steps, at ~2/3 of the time. β = 0.5 for all
momentum methods (sweep below). The error is the relative L² error by composite 8-point
Gauss–Legendre quadrature on 50 equal panels (400 points; a 2001-point uniform monitor
cost ~13 ms per step, more than the step). A run *fails* if its final error is above
1e-2 or not finite; its "plateau exit" is the first iteration with error < 1e-2.

Measured (full run, β = 0.5, 20 seeds, 300 steps; plateau exit: median, interquartile
range and range of the converged runs; "earlier" = seeds on which the method leaves the
plateau before NGD; final error: median over the converged runs):

| method   | failed                | plateau exit        | earlier | final error | ms/it |
| -------- | --------------------- | ------------------- | ------- | ----------- | ----- |
| NGD      | 0/20                  | 84 (51-118; 30-274) | -       | 7.5e-6      | 2.9   |
| LM       | 3/20 (seeds 1, 9, 16) | 84 (66-108; 25-244) | 7/20    | 3.9e-6      | 2.8   |
| FD       | 0/20                  | 62 (56-88; 31-293)  | 9/20    | 1.1e-5      | 2.5   |
| LG       | 2/20 (seeds 1, 7)     | 60 (48-118; 38-193) | 8/20    | 1.4e-5      | 3.5   |
| Nesterov | 0/20                  | 58.5 (38-73; 17-131)| 15/20   | 4.9e-6      | 3.7   |

So natural Nesterov is the only momentum method that helps robustly: no failures, it
leaves the initial plateau before NGD on 15 of 20 seeds, and its worst seed takes 131
iterations against NGD's 274 (after 150 iterations all 20 Nesterov runs are below 1e-2,
17 of 20 NGD runs). It does not make the solution more accurate: once past the
plateau every method ends at the level set by the minibatch noise (converged runs
between 5e-7 and 2e-3; NGD 1.2e-6-4.7e-4, Nesterov 5.7e-7-1.6e-4). FD shifts the
median exit as much but is no earlier than NGD on most seeds (it is on 9, later on 11),
and LM, LG fail. A failed run does not produce NaN: momentum overshoots (error up to
1e7), the weights grow to ~1e6, every tanh unit saturates (LM, seed 1: all
pre-activations above 10 in modulus on [0, 1]) and the network ends flat, v ≈ 0
(|v| < 1e-10), where R = −1 and the loss is 1; no run left that state.
Adaptive restart (`restart=True`: a step that raises the loss on the current minibatch
is replaced by the plain natural step and the momentum restarts; not in the figure)
rescues every failed run, measured at β = 0.5, 300 steps: LM seeds 1, 9, 16 end at
4.3e-6, 1.2e-5, 3.4e-6 (exits 115, 75, 74), LG seeds 1, 7 at 2.8e-5, 9.2e-6; on runs
that did not fail it changes little (LM seed 3: 1.2e-6 vs 3.9e-6; Nesterov seeds 1, 3:
1.0e-5, 2.0e-6 vs 1.3e-6, 5.7e-7).
A Nesterov iteration costs 1.3-1.9× an NGD iteration (two linearisations and Gram
solves); ms/it is the median over seeds 1-19 (JIT excluded) on a shared 2-core CPU and
varies with its load (a second full run: NGD 3.1, LM 3.0, FD 3.8, LG 3.8, Nesterov 5.8).

Sweep (20 seeds, 300 steps): failed runs per method, and Nesterov's median plateau exit
(NGD: 0 failures, median exit 84):

| β                  | 0.2 | 0.3 | 0.4 | 0.5 | 0.6 | 0.7 | 0.8 |
| ------------------ | --- | --- | --- | --- | --- | --- | --- |
| LM failed          | 1   | 1   | 0   | 3   | 4   | 3   | 11  |
| FD failed          | 0   | 0   | 0   | 0   | 2   | 10  | 14  |
| LG failed          | 0   | 2   | 0   | 2   | 0   | 5   | 7   |
| Nesterov failed    | 0   | 0   | 0   | 0   | 1   | 4   | 8   |
| Nesterov exit      | 62  | 52  | 58  | 58  | 52  | 48  | 40  |

Failures grow with β. β = 0.5 is the largest β at which Nesterov had no failure, and of
β = 0.2-0.5 the one with its narrowest interquartile range of plateau exits (38-73;
β = 0.4: 40-102, the only β at which no method failed).
We keep β = 0.5 for all methods, so the figure shows the heavy-ball failures too.
Quick mode (seeds 1, 3, 150 steps): NGD exits at 88, 53, Nesterov at 62, 26, FD at 58,
60; LM and LG fail on seed 1. Wall time: full 2-3 min (127 s, 168 s), quick 30-50 s
(depending on the load of the shared machine), most of it the JIT compilation of the
five methods (4-8 s each; a compiled 150-step solve takes 0.3-0.7 s).
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


NAME = "pinn_momentum"
SEED = "003"
SECTION = "PINN slides"
TITLE = "−εv″ + v′ = 1 PINN on resampled minibatches: energy NGD vs natural momentum"

EPS = 0.05
HIDDEN = (20, 20)
POINTS = 200  # m, redrawn at every step
DAMPING = 1e-5
BETA = 0.5
BATCH_KEY_OFFSET = 100
FAIL_ERROR = 1e-2  # a run whose final relative error is above this (or NaN) failed
PLATEAU_ERROR = 1e-2  # "plateau exit": the first iteration with an error below this
PANELS, NODES = 50, 8  # composite Gauss-Legendre quadrature of the error
PLOT_POINTS = 401
SIZES = {
    "quick": {"steps": 150, "seeds": (1, 3)},
    "full": {"steps": 300, "seeds": tuple(range(20))},
}
ROLES = ("ngd", "lm", "fd", "lg", "nesterov")
COLORS = {"ngd": "k", "lm": "C0", "fd": "C2", "lg": "C1", "nesterov": "C3"}


def u_star(x):
    x = x[0]
    return x - (jnp.exp((x - 1) / EPS) - jnp.exp(-1 / EPS)) / (1 - jnp.exp(-1 / EPS))


def convection_diffusion(u, x):  # x has shape (1,)
    return -EPS * ng.laplacian(u, x) + ng.derivative(u, x) - 1


def boundary(u, x):  # a module-level function: a new lambda per problem would recompile
    return u(x)


def problem(seed: int, points: int = POINTS) -> ng.Problem:
    line = ng.Box(0, 1)
    pde = ng.Residual(convection_diffusion, line.sampler(points, every=1))
    ends = ng.Residual(boundary, jnp.array([[0.0], [1.0]]))
    width, depth = HIDDEN[0], len(HIDDEN)
    model = eqx.nn.MLP(
        1, "scalar", width, depth, activation=jnp.tanh, key=jax.random.key(seed)
    )
    return ng.Problem(model, pde + ends, ng.Energy())


def quadrature(panels: int = PANELS, nodes: int = NODES):
    """Composite Gauss-Legendre points (shape (n, 1)) and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(0.0, 1.0, panels + 1)
    mid, half = (edges[:-1] + edges[1:]) / 2, np.diff(edges) / 2
    points = (mid[:, None] + half[:, None] * x).reshape(-1, 1)
    return jnp.asarray(points), jnp.asarray((half[:, None] * w).ravel())


def labels(beta: float = BETA) -> dict:
    return {
        "ngd": "NGD",
        "lm": f"heavy-ball LM (β={beta:g})",
        "fd": f"heavy-ball FD (β={beta:g})",
        "lg": f"heavy-ball LG (β={beta:g})",
        "nesterov": f"Nesterov (β={beta:g})",
    }


def methods(beta: float = BETA) -> dict:
    """role -> (method, description)."""
    gram, g = ng.Woodbury(DAMPING), f"ng.Woodbury({DAMPING:g})"
    heavy = "ng.HeavyBall({g}, ng.LogGrid(), beta={b:g}, transport=ng.{t}())"
    return {
        "ngd": (
            ng.NaturalGradient(gram, ng.LogGrid()),
            f"ng.NaturalGradient({g}, ng.LogGrid())",
        ),
        **{
            role: (
                ng.HeavyBall(gram, beta=beta, transport=getattr(ng, transport)()),
                heavy.format(g=g, b=beta, t=transport),
            )
            for role, transport in (
                ("lm", "LastMomentum"),
                ("fd", "FiniteDifference"),
                ("lg", "LastGradient"),
            )
        },
        "nesterov": (
            ng.Nesterov(gram, beta=beta, natural=True),
            f"ng.Nesterov({g}, ng.LogGrid(), beta={beta:g}, natural=True)",
        ),
    }


def _first_below(error: np.ndarray, level: float):
    hit = np.flatnonzero(error < level)
    return int(hit[0]) if hit.size else None


def _run_one(problem_, method, steps, seed, monitors, plot_x):
    sol = ng.solve(
        problem_,
        method,
        steps=steps,
        monitors=monitors,
        key=jax.random.key(BATCH_KEY_OFFSET + seed),
        throw=False,
    )
    error = np.asarray(sol.monitors["error"], dtype=float)
    final_error = float(error[-1])
    failed = not (np.isfinite(final_error) and final_error <= FAIL_ERROR)
    values = jax.vmap(sol.model)(plot_x)  # the last iterate (before a failure, if any)
    return {
        "seed": seed,
        "model_key": seed,
        "batch_key": BATCH_KEY_OFFSET + seed,
        "losses": sol.losses,
        "error": error,
        "step_sizes": sol.step_sizes,
        "momentum_norm": sol.stats.get("momentum_norm"),
        "final_loss": sol.final_loss,
        "final_error": final_error,
        "min_error": float(np.nanmin(error)),
        "plateau_exit": _first_below(error, PLATEAU_ERROR),
        "failed": failed,
        "result": ng.RESULTS[sol.result] or "successful",
        "num_steps": sol.num_steps,
        "wall_time_s": sol.wall_time,
        "final_values": values,
    }


def _summary(runs: list, steps: int) -> dict:
    """Failures; final errors (all runs, and the converged runs' median); the converged
    runs' median plateau exit; ms per iteration (median over the runs after the first)."""
    final = np.array([r["final_error"] for r in runs], dtype=float)
    ok = [r for r in runs if not r["failed"]]
    exits = [r["plateau_exit"] for r in ok if r["plateau_exit"] is not None]
    finite = np.all(np.isfinite(final))
    compiled = [r["wall_time_s"] for r in runs[1:]]  # the first run includes the JIT
    return {
        "failures": int(sum(r["failed"] for r in runs)),
        "runs": len(runs),
        "failed_seeds": [r["seed"] for r in runs if r["failed"]],
        "final_error_median": float(np.nanmedian(final)),
        "final_error_min": float(np.nanmin(final)),
        "final_error_max": float(np.nanmax(final)) if finite else None,
        "final_error_median_converged": (
            float(np.median([r["final_error"] for r in ok])) if ok else None
        ),
        "plateau_exit_median": float(np.median(exits)) if exits else None,
        "plateau_exit_per_seed": [r["plateau_exit"] for r in runs],
        "ms_per_iter": 1e3 * float(np.median(compiled)) / steps if compiled else None,
    }


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    steps, seeds = size["steps"], size["seeds"]
    points, weights = quadrature()
    monitors = {"error": ng.RelativeL2Error(u_star, points, weights)}
    plot_x = jnp.linspace(0.0, 1.0, PLOT_POINTS)[:, None]
    problems = {seed: problem(seed) for seed in seeds}
    name = labels()
    results = {}
    start = time.perf_counter()
    for role, (method, description) in methods().items():
        runs = [
            _run_one(problems[s], method, steps, s, monitors, plot_x) for s in seeds
        ]
        summary = _summary(runs, steps)
        results[name[role]] = {
            "role": role,
            "description": description,
            "runs": runs,
            "summary": summary,
            # the figures' convention: one number per method (median over the seeds)
            "final_loss": float(np.nanmedian([float(r["final_loss"]) for r in runs])),
            "final_loss_note": "median over the seeds of the final minibatch loss",
            "wall_time_s": float(sum(r["wall_time_s"] for r in runs)),
            "wall_time_note": f"{len(seeds)} ng.solve calls, JIT of the first included",
        }
    _compare_with_ngd(results, name["ngd"])
    best = _best(results)
    settings = {
        "quick": quick,
        "pde": f"-eps v'' + v' = 1 on (0, 1), v(0) = v(1) = 0, eps = {EPS:g}",
        "exact": "v* = x - (exp((x - 1)/eps) - exp(-1/eps)) / (1 - exp(-1/eps))",
        "eps": EPS,
        "loss": (
            "ng.Residual: mean over the m minibatch points of R(v)^2, "
            "R = -eps v'' + v' - 1, + mean of v^2 at x = 0, 1 (no 1/2)"
        ),
        "metric": "ng.Energy() (Gauss-Newton on the stacked residuals)",
        "minibatch": f"m = {POINTS} uniform points, redrawn every step "
        "(ng.Box(0, 1).sampler(m, every=1)); step k uses fold_in(batch key, k)",
        "m": POINTS,
        "steps": steps,
        "seeds": list(seeds),
        "model_key": "the seed",
        "batch_key": f"{BATCH_KEY_OFFSET} + seed",
        "layers": [1, *HIDDEN, 1],
        "model": f"eqx.nn.MLP(1, 'scalar', {HIDDEN[0]}, {len(HIDDEN)}, activation=tanh)",
        "num_parameters": ng.num_parameters(problems[seeds[0]].model),
        "gram": f"ng.Woodbury({DAMPING:g}): damping {DAMPING:g} * tr(G)/p, "
        "the same solve as ng.Cholesky(1e-5) in sample space",
        "damping": DAMPING,
        "beta": BETA,
        "step_rule": "ng.LogGrid(): best of 0.5^k, k = 0..30 (early exit)",
        "labels": name,
        "roles": list(ROLES),
        "error_eval": f"relative L2 error, composite {NODES}-point Gauss-Legendre on "
        f"{PANELS} equal panels of [0, 1] ({PANELS * NODES} points)",
        "fail_rule": f"final relative L2 error > {FAIL_ERROR:g} or not finite",
        "plateau_exit_rule": f"first iteration with relative L2 error < {PLATEAU_ERROR:g}",
        "best_rule": "fewest failures, then smallest median plateau exit",
        "best": best,
        "all_methods_wall_time_s": time.perf_counter() - start,
        "versions": {
            "ngflow": ng.__version__,
            "jax": jax.__version__,
            "equinox": eqx.__version__,
        },
    }
    exact = {"x": plot_x[:, 0], "v": jax.vmap(u_star)(plot_x)}
    return _common.jsonable({"settings": settings, "methods": results, "exact": exact})


def _compare_with_ngd(results: dict, ngd_label: str) -> None:
    """Per method, on how many seeds it leaves the plateau before / after NGD (a run
    that never does counts as leaving it at infinity)."""
    exit_ = lambda r: np.inf if r["plateau_exit"] is None else r["plateau_exit"]  # noqa: E731
    reference = [exit_(r) for r in results[ngd_label]["runs"]]
    for result in results.values():
        pairs = list(zip([exit_(r) for r in result["runs"]], reference, strict=True))
        result["summary"]["exits_before_ngd"] = sum(int(a < b) for a, b in pairs)
        result["summary"]["exits_after_ngd"] = sum(int(a > b) for a, b in pairs)


def _best(results: dict) -> str:
    def key(label):
        s = results[label]["summary"]
        exit_ = s["plateau_exit_median"]
        return (s["failures"], np.inf if exit_ is None else exit_)

    return min(results, key=key)


# ---------------------------------------------------------------------------------------
# plotting


def _curves(runs, key, failed=False):
    return np.array([_common.series(r[key]) for r in runs if r["failed"] == failed])


def _seeds_text(seeds) -> str:
    contiguous = list(seeds) == list(range(seeds[0], seeds[0] + len(seeds)))
    return (
        f"{seeds[0]}-{seeds[-1]}" if contiguous and len(seeds) > 2 else str(list(seeds))
    )


def _legend_label(label: str, summary: dict) -> str:
    ms, med = summary["ms_per_iter"], summary["plateau_exit_median"]
    exit_ = f", plateau exit {med:.0f}" if med is not None else ""
    timing = f", {ms:.1f} ms/it" if ms is not None else ""
    return f"{label}: {summary['failures']}/{summary['runs']} failed{exit_}{timing}"


def _plot_seeds(ax, data, label, reference):
    """One method: every seed's error (thin; failed runs dotted), the converged runs'
    median (thick) and NGD's median (black dashed)."""
    result = data["methods"][label]
    color, summary = COLORS[result["role"]], result["summary"]
    ok, bad = _curves(result["runs"], "error"), _curves(result["runs"], "error", True)
    for curve in ok:
        ax.semilogy(curve, color=color, lw=0.6, alpha=0.35)
    for curve in bad:
        ax.semilogy(curve, color=color, lw=1.0, ls=":")
    if len(ok):
        ax.semilogy(np.nanmedian(ok, axis=0), color=color, lw=2)
    if reference is not None and result["role"] != "ngd":
        ax.semilogy(reference, color="k", lw=1.2, ls="--")
    ax.axhline(FAIL_ERROR, color="0.5", lw=0.6)
    ax.set(ylim=(1e-7, 1e3), xlabel="iteration")
    ax.set_title(
        f"{label}\n{summary['failures']}/{summary['runs']} failed (dotted)",
        fontsize=9,
        color="C3" if summary["failures"] else "k",
    )
    ax.grid(True, alpha=0.3)


def _plot_medians(ax, data, key):
    """Median (line) and interquartile range (band) of the converged runs, per method."""
    for label, result in data["methods"].items():
        curves = _curves(result["runs"], key)
        color = COLORS[result["role"]]
        name = _legend_label(label, result["summary"])
        if not len(curves):
            ax.plot([], [], color=color, label=name)
            continue
        with np.errstate(all="ignore"):
            lo, med, hi = np.nanpercentile(curves, [25, 50, 75], axis=0)
        ax.semilogy(med, color=color, lw=1.6, label=name)
        ax.fill_between(np.arange(len(med)), lo, hi, color=color, alpha=0.12, lw=0)
    ax.set(xlabel="iteration")
    ax.grid(True, alpha=0.3)


def plot(data: dict, path) -> None:
    s = data["settings"]
    methods = data["methods"]
    fig = Figure(figsize=(15, 13.5), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, 10, height_ratios=(1, 1.1, 1.1))
    seeds_axes = [
        fig.add_subplot(grid[0, 2 * i : 2 * i + 2]) for i in range(len(methods))
    ]
    for ax in seeds_axes[1:]:
        ax.sharey(seeds_axes[0])
        ax.tick_params(labelleft=False)
    ngd = next(label for label, r in methods.items() if r["role"] == "ngd")
    reference = _curves(methods[ngd]["runs"], "error")
    reference = np.nanmedian(reference, axis=0) if len(reference) else None
    for ax, label in zip(seeds_axes, methods, strict=True):
        _plot_seeds(ax, data, label, reference)
    seeds_axes[0].set_ylabel(
        f"relative L² error\n(per seed; grey: failure at {FAIL_ERROR:g})"
    )
    seeds_axes[-1].plot([], [], "k--", label="NGD median")
    seeds_axes[-1].legend(fontsize=8, loc="upper right")

    ax_err, ax_loss = fig.add_subplot(grid[1, :5]), fig.add_subplot(grid[1, 5:])
    _plot_medians(ax_err, data, "error")
    _plot_medians(ax_loss, data, "losses")
    ax_err.set(
        ylabel="relative L² error",
        ylim=(1e-7, 3),
        title="Relative L² error: median and interquartile range of the converged runs",
    )
    ax_err.legend(fontsize=8, loc="lower left")
    ax_loss.set(
        ylabel="minibatch loss  mean R(v)² + mean v(0, 1)²",
        ylim=(1e-10, 10),
        title="Loss on the current minibatch (same statistics; a failed run ends at\n"
        "loss 1: the network is flat, v ≈ 0, its tanh units saturated)",
    )
    ax_loss.legend(fontsize=8, loc="lower left")

    ax_exit = fig.add_subplot(grid[2, :5])
    corner = grid[2, 5:].subgridspec(2, 1, height_ratios=(2, 1))
    ax_sol = fig.add_subplot(corner[0])
    ax_pointwise = fig.add_subplot(corner[1], sharex=ax_sol)
    _plot_exits(ax_exit, data)
    _plot_solution(ax_sol, ax_pointwise, data)
    damping = f"{s['damping']:g}".replace("e-0", "e-")
    fig.suptitle(
        f"Seed {SEED}, {SECTION}: {TITLE}\n"
        f"ε = {s['eps']:g}, [1, 20, 20, 1] tanh, m = {s['m']} points redrawn every step, "
        f"energy metric, damped Gram solve (λ = {damping}·tr G/p), log-grid step, "
        f"β = {s['beta']:g}, {s['steps']} steps, seeds {_seeds_text(s['seeds'])}",
        fontsize=11,
    )
    _common.save(fig, path)


def _plot_exits(ax, data):
    s = data["settings"]
    steps = s["steps"]
    rng = np.random.default_rng(0)
    names = list(data["methods"])
    for i, label in enumerate(names):
        result = data["methods"][label]
        color = COLORS[result["role"]]
        runs = result["runs"]
        jitter = rng.uniform(-0.15, 0.15, len(runs))
        for j, r in enumerate(runs):
            if r["failed"]:
                ax.plot(i + jitter[j], steps * 1.08, "x", color=color, ms=8, mew=2)
            elif r["plateau_exit"] is not None:
                ax.plot(
                    i + jitter[j], r["plateau_exit"], "o", color=color, ms=6, alpha=0.8
                )
        med = result["summary"]["plateau_exit_median"]
        if med is not None:
            ax.plot([i - 0.3, i + 0.3], [med, med], color=color, lw=2)
    ax.axhline(steps, color="0.5", lw=0.8)
    ax.text(
        len(names) - 0.5, steps * 1.08, "failed ×", ha="right", va="center", fontsize=8
    )
    ticks = []
    for label in names:
        summary = data["methods"][label]["summary"]
        tick = label.replace(" (", "\n(")
        if data["methods"][label]["role"] != "ngd":
            tick += f"\nbefore NGD: {summary['exits_before_ngd']}/{summary['runs']}"
        ticks.append(tick)
    ax.set_xticks(range(len(names)), ticks, fontsize=8)
    ax.set_ylim(0, steps * 1.15)
    ax.set(
        ylabel=f"first iteration with error < {PLATEAU_ERROR:g}",
        title="Leaving the initial plateau: per seed (dots), median of the converged runs "
        "(bar),\n× = failed run; below: seeds on which the method leaves it before NGD",
    )
    ax.grid(True, axis="y", alpha=0.3)


def _plot_solution(ax, ax_pointwise, data):
    best = data["settings"]["best"]
    result = data["methods"][best]
    runs = [r for r in result["runs"] if not r["failed"]] or result["runs"]
    errors = np.array(
        [np.nan if r["final_error"] is None else r["final_error"] for r in runs]
    )
    run_ = runs[int(np.argsort(errors)[(len(runs) - 1) // 2])]  # the median seed
    x = _common.series(data["exact"]["x"])
    exact = _common.series(data["exact"]["v"])
    v = _common.series(run_["final_values"])
    color = COLORS[result["role"]]
    ax.plot(x, exact, "k-", lw=4, alpha=0.3, label="exact v*")
    ax.plot(x, v, color=color, lw=1.4, ls="--", label=f"{best}, seed {run_['seed']}")
    ax.set(
        ylabel="v(x)",
        title="Final solution of the best method (fewest failures, then earliest median\n"
        f"plateau exit), its median seed: relative L² error {run_['final_error']:.1e}",
    )
    ax.tick_params(labelbottom=False)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, alpha=0.3)
    ax_pointwise.semilogy(x, np.abs(v - exact), color=color, lw=1)
    ax_pointwise.set(xlabel="x", ylabel="|v − v*|")
    ax_pointwise.grid(True, alpha=0.3)
