"""Seed 003, PINN slides: −εv″ + v′ = 1 on (0, 1), ε = 0.05, by a [1, 20, 20, 1] tanh
PINN on 200 points redrawn every step; energy NGD vs natural heavy-ball (LM, FD, LG) and
natural Nesterov, damped Gram solve `ng.Woodbury(1e-5)`, log-grid step, β = 0.5.

Plotted: every seed's relative L² error per method, the medians and IQR of error and
minibatch loss, the plateau exits per seed, and the best method's solution.
Asserted (tests): NGD, Nesterov and FD converge on every quick seed; Nesterov leaves the
plateau at least 10 iterations before NGD and is the best method; LM or LG fails on a
seed; no converged run is 100× more accurate than NGD's best; the error starts on the
plateau.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import ngflow as ng

from . import _common


NAME = "pinn_momentum"
SEED = "003"
SECTION = "PINN slides"
TITLE = "−εv″ + v′ = 1 PINN on resampled minibatches: energy NGD vs natural momentum"

EPS, HIDDEN, POINTS, DAMPING, BETA = 0.05, (20, 20), 200, 1e-5, 0.5
BATCH_KEY_OFFSET = 100  # minibatch key 100 + seed
FAIL_ERROR = 1e-2  # a run whose final relative error is above this (or NaN) failed
PLATEAU_ERROR = 1e-2  # "plateau exit": the first iteration with an error below this
PANELS, NODES = 50, 8  # composite Gauss-Legendre quadrature of the error
PLOT_POINTS = 401
SIZES = {"quick": {"steps": 150, "seeds": (1, 3)}}
SIZES["full"] = {"steps": 300, "seeds": tuple(range(20))}
COLORS = {"ngd": "k", "lm": "C0", "fd": "C2", "lg": "C1", "nesterov": "C3"}


def u_star(x):
    x = x[0]
    return x - (jnp.exp((x - 1) / EPS) - jnp.exp(-1 / EPS)) / (1 - jnp.exp(-1 / EPS))


def convection_diffusion(u, x):  # x has shape (1,)
    return -EPS * ng.laplacian(u, x) + ng.derivative(u, x) - 1


def boundary(u, x):  # a module-level function: a new lambda per problem would recompile
    return u(x)


@functools.cache
def _loss(points: int = POINTS):
    pde = ng.Residual(convection_diffusion, ng.Box(0, 1).sampler(points, every=1))
    return pde + ng.Residual(boundary, jnp.array([[0.0], [1.0]]))


def problem(seed) -> ng.Problem:
    key = jax.random.key(seed)
    model = eqx.nn.MLP(1, "scalar", HIDDEN[0], len(HIDDEN), jnp.tanh, key=key)
    return ng.Problem(model, _loss(), ng.Energy())


def quadrature(panels: int = PANELS, nodes: int = NODES):
    """Composite Gauss-Legendre points (n, 1) and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(0.0, 1.0, panels + 1)
    mid, half = (edges[:-1] + edges[1:]) / 2, np.diff(edges) / 2
    points = (mid[:, None] + half[:, None] * x).reshape(-1, 1)
    return jnp.asarray(points), jnp.asarray((half[:, None] * w).ravel())


def labels(beta: float = BETA) -> dict:
    hb = {r: f"heavy-ball {r.upper()} (β={beta:g})" for r in ("lm", "fd", "lg")}
    return {"ngd": "NGD", **hb, "nesterov": f"Nesterov (β={beta:g})"}


def methods(beta: float = BETA) -> dict:
    gram = ng.Woodbury(DAMPING)
    hb = {"lm": ng.LastMomentum, "fd": ng.FiniteDifference, "lg": ng.LastGradient}
    hb = {r: ng.HeavyBall(gram, beta=beta, transport=t()) for r, t in hb.items()}
    ngd = ng.NaturalGradient(gram, ng.LogGrid())
    return {"ngd": ngd, **hb, "nesterov": ng.Nesterov(gram, beta=beta, natural=True)}


def _run(sol, seed, plot_x) -> dict:
    error = np.asarray(sol.monitors["error"], dtype=float)
    final = float(error[-1])
    rec = _common.record(sol)
    return {
        "seed": seed,
        "batch_key": BATCH_KEY_OFFSET + seed,
        **{k: rec[k] for k in ("losses", "step_sizes", "final_loss", "result")},
        **{k: rec[k] for k in ("num_steps", "wall_time", "compile_time")},
        "error": error,
        "momentum_norm": sol.stats.get("momentum_norm"),
        "final_error": final,
        "min_error": float(np.nanmin(error)),
        "plateau_exit": _common.first_below(error, np.nextafter(PLATEAU_ERROR, 0)),
        "failed": not (np.isfinite(final) and final <= FAIL_ERROR),
        "final_values": jax.vmap(sol.model)(plot_x),  # the last iterate reached
    }


def _summary(runs: list, steps: int) -> dict:
    """Failures, final errors, plateau exits; ms per iteration and member (no JIT)."""
    final = np.array([r["final_error"] for r in runs], dtype=float)
    ok = [r for r in runs if not r["failed"]]
    exits = [r["plateau_exit"] for r in ok if r["plateau_exit"] is not None]
    run_s = max(runs[0]["wall_time"] - runs[0]["compile_time"], 0.0) / len(runs)
    converged = float(np.median([r["final_error"] for r in ok])) if ok else None
    return {
        "failures": int(sum(r["failed"] for r in runs)),
        "runs": len(runs),
        "failed_seeds": [r["seed"] for r in runs if r["failed"]],
        "final_error_median": float(np.nanmedian(final)),
        "final_error_min": float(np.nanmin(final)),
        "final_error_max": float(np.max(final)) if np.all(np.isfinite(final)) else None,
        "final_error_median_converged": converged,
        "plateau_exit_median": float(np.median(exits)) if exits else None,
        "plateau_exit_per_seed": [r["plateau_exit"] for r in runs],
        "ms_per_iter": 1e3 * run_s / steps,
    }


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    steps, seeds = size["steps"], size["seeds"]
    points, weights = quadrature()
    monitors = {"error": ng.RelativeL2Error(u_star, points, weights)}
    plot_x = jnp.linspace(0.0, 1.0, PLOT_POINTS)[:, None]
    keys = jax.vmap(jax.random.key)(BATCH_KEY_OFFSET + jnp.asarray(seeds))
    name, results = labels(), {}
    for role, method in methods().items():
        kw = {"monitors": monitors, "key": keys}
        sols = _common.sweep(problem, method, jnp.asarray(seeds), steps, **kw)
        runs = [_run(sol, s, plot_x) for sol, s in zip(sols, seeds, strict=True)]
        results[name[role]] = {
            "role": role,
            "description": repr(method),
            "runs": runs,
            "summary": _summary(runs, steps),
            # the figures' convention: one number per method (median over the seeds)
            "final_loss": float(np.nanmedian([r["final_loss"] for r in runs])),
            "final_loss_note": "median over the seeds of the final minibatch loss",
            "wall_time": runs[0]["wall_time"],  # the ensemble's
        }
    _compare_with_ngd(results, name["ngd"])
    settings = {
        "quick": quick,
        "pde": f"-eps v'' + v' = 1 on (0, 1), v(0) = v(1) = 0, eps = {EPS:g}",
        **{"eps": EPS, "m": POINTS, "steps": steps, "seeds": list(seeds)},
        "loss": "mean over the m minibatch points of R(v)^2, R = -eps v'' + v' - 1, "
        "+ mean of v^2 at x = 0, 1 (no 1/2)",
        "metric": "ng.Energy() (Gauss-Newton on the stacked residuals)",
        "minibatch": f"m = {POINTS} uniform points, redrawn every step "
        "(ng.Box(0, 1).sampler(m, every=1)); step k uses fold_in(batch key, k)",
        "batch_key": f"{BATCH_KEY_OFFSET} + seed",
        "layers": [1, *HIDDEN, 1],
        "num_parameters": ng.num_parameters(problem(seeds[0]).model),
        "gram": f"ng.Woodbury({DAMPING:g}): damping {DAMPING:g} * tr(G)/p",
        **{"damping": DAMPING, "beta": BETA},
        "step_rule": "ng.LogGrid(): best of 0.5^k, k = 0..30 (early exit)",
        "labels": name,
        "error_eval": f"relative L2 error, composite {NODES}-point Gauss-Legendre on "
        f"{PANELS} panels",
        "fail_rule": f"final relative L2 error > {FAIL_ERROR:g} or not finite",
        "plateau_exit_rule": f"first iteration with relative L2 error < {PLATEAU_ERROR:g}",
        "best_rule": "fewest failures, then smallest median plateau exit",
        "best": _best(results),
        "versions": _common.versions(),
    }
    exact = {"x": plot_x[:, 0], "v": jax.vmap(u_star)(plot_x)}
    return _common.jsonable({"settings": settings, "methods": results, "exact": exact})


def _compare_with_ngd(results: dict, ngd_label: str) -> None:
    """Per method, on how many seeds it leaves the plateau before / after NGD."""
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


def _curves(runs, key, failed=False):
    return np.array([_common.series(r[key]) for r in runs if r["failed"] == failed])


def _seeds_text(seeds) -> str:
    contiguous = list(seeds) == list(range(seeds[0], seeds[0] + len(seeds)))
    many = contiguous and len(seeds) > 2
    return f"{seeds[0]}-{seeds[-1]}" if many else str(list(seeds))


def _legend_label(label: str, summary: dict) -> str:
    ms, med = summary["ms_per_iter"], summary["plateau_exit_median"]
    exit_ = f", plateau exit {med:.0f}" if med is not None else ""
    timing = f", {ms:.1f} ms/it" if ms is not None else ""
    return f"{label}: {summary['failures']}/{summary['runs']} failed{exit_}{timing}"


def _plot_seeds(ax, data, label, reference):
    """Per seed (failed: dotted), the converged median (thick) and NGD's (dashed)."""
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
    _common.finish(ax, ylim=(1e-7, 1e3), xlabel="iteration")
    title = f"{label}\n{summary['failures']}/{summary['runs']} failed (dotted)"
    ax.set_title(title, fontsize=9, color="C3" if summary["failures"] else "k")


def _plot_medians(ax, data, key, **settings):
    for label, result in data["methods"].items():
        curves = _curves(result["runs"], key)
        color = COLORS[result["role"]]
        name = _legend_label(label, result["summary"])
        if not len(curves):
            ax.plot([], [], color=color, label=name)
            continue
        _common.draw_band(ax, None, _common.band(curves, 25, 75), color, name)
    legend = {"fontsize": 8, "loc": "lower left"}
    _common.finish(ax, legend, xlabel="iteration", **settings)


def plot(data: dict, path) -> None:
    s, methods = data["settings"], data["methods"]
    fig = _common.canvas(15, 13.5)
    grid = fig.add_gridspec(3, 10, height_ratios=(1, 1.1, 1.1))
    seeds_axes = [fig.add_subplot(grid[0, 2 * i : 2 * i + 2]) for i in range(5)]
    for ax in seeds_axes[1:]:
        ax.sharey(seeds_axes[0])
        ax.tick_params(labelleft=False)
    ngd = next(label for label, r in methods.items() if r["role"] == "ngd")
    reference = _curves(methods[ngd]["runs"], "error")
    reference = np.nanmedian(reference, axis=0) if len(reference) else None
    for ax, label in zip(seeds_axes, methods, strict=True):
        _plot_seeds(ax, data, label, reference)
    text = f"relative L² error\n(per seed; grey: failure at {FAIL_ERROR:g})"
    seeds_axes[0].set_ylabel(text)
    seeds_axes[-1].plot([], [], "k--", label="NGD median")
    seeds_axes[-1].legend(fontsize=8, loc="upper right")
    ax_err, ax_loss = fig.add_subplot(grid[1, :5]), fig.add_subplot(grid[1, 5:])
    title = "Relative L² error: median and IQR of the converged runs"
    kw = {"ylabel": "relative L² error", "ylim": (1e-7, 3), "title": title}
    _plot_medians(ax_err, data, "error", **kw)
    title = "Loss on the current minibatch (same statistics; a failed run ends at\n"
    title += "loss 1: the network is flat, v ≈ 0)"
    kw = {"ylabel": "minibatch loss  mean R(v)² + mean v(0, 1)²", "ylim": (1e-10, 10)}
    _plot_medians(ax_loss, data, "losses", **kw, title=title)
    ax_exit = fig.add_subplot(grid[2, :5])
    corner = grid[2, 5:].subgridspec(2, 1, height_ratios=(2, 1))
    ax_sol = fig.add_subplot(corner[0])
    _plot_exits(ax_exit, data)
    _plot_solution(ax_sol, fig.add_subplot(corner[1], sharex=ax_sol), data)
    damping = f"{s['damping']:g}".replace("e-0", "e-")
    title = (
        f"Seed {SEED}, {SECTION}: {TITLE}\nε = {s['eps']:g}, [1, 20, 20, 1] tanh, m = "
        f"{s['m']} points redrawn every step, energy metric, damped Gram solve (λ = "
        f"{damping}·tr G/p), log-grid step, β = {s['beta']:g}, {s['steps']} steps, seeds "
        f"{_seeds_text(s['seeds'])}"
    )
    _common.save(fig, path, title, 11)


def _plot_exits(ax, data):
    steps, names = data["settings"]["steps"], list(data["methods"])
    rng, ticks = np.random.default_rng(0), []
    for i, label in enumerate(names):
        result = data["methods"][label]
        color, summary = COLORS[result["role"]], result["summary"]
        jitter = i + rng.uniform(-0.15, 0.15, len(result["runs"]))
        for x, r in zip(jitter, result["runs"], strict=True):
            if r["failed"]:
                ax.plot(x, steps * 1.08, "x", color=color, ms=8, mew=2)
            elif r["plateau_exit"] is not None:
                ax.plot(x, r["plateau_exit"], "o", color=color, ms=6, alpha=0.8)
        if summary["plateau_exit_median"] is not None:
            med = [summary["plateau_exit_median"]] * 2
            ax.plot([i - 0.3, i + 0.3], med, color=color, lw=2)
        ticks.append(label.replace(" (", "\n("))
        if result["role"] != "ngd":
            before = f"{summary['exits_before_ngd']}/{summary['runs']}"
            ticks[-1] += f"\nbefore NGD: {before}"
    ax.axhline(steps, color="0.5", lw=0.8)
    ax.text(len(names) - 0.5, steps * 1.08, "failed ×", ha="right", va="center")
    ax.set_xticks(range(len(names)), ticks, fontsize=8)
    ylabel = f"first iteration with error < {PLATEAU_ERROR:g}"
    title = (
        "Leaving the initial plateau: per seed (dots), median of the converged runs "
    )
    title += (
        "(bar),\n× = failed run; below: seeds on which the method leaves it before NGD"
    )
    ax.set(ylim=(0, steps * 1.15), ylabel=ylabel, title=title)
    ax.grid(True, axis="y", alpha=0.3)


def _plot_solution(ax, ax_pointwise, data):
    best = data["settings"]["best"]
    result = data["methods"][best]
    runs = [r for r in result["runs"] if not r["failed"]] or result["runs"]
    errors = _common.series([r["final_error"] for r in runs])
    run_ = runs[int(np.argsort(errors)[(len(runs) - 1) // 2])]  # the median seed
    x, exact = _common.series(data["exact"]["x"]), _common.series(data["exact"]["v"])
    v = _common.series(run_["final_values"])
    color = COLORS[result["role"]]
    ax.plot(x, exact, "k-", lw=4, alpha=0.3, label="exact v*")
    ax.plot(x, v, color=color, lw=1.4, ls="--", label=f"{best}, seed {run_['seed']}")
    title = "Final solution of the best method (fewest failures, then earliest median\n"
    title += (
        f"plateau exit), its median seed: relative L² error {run_['final_error']:.1e}"
    )
    ax.tick_params(labelbottom=False)
    _common.finish(ax, {"fontsize": 8, "loc": "upper left"}, ylabel="v(x)", title=title)
    ax_pointwise.semilogy(x, np.abs(v - exact), color=color, lw=1)
    _common.finish(ax_pointwise, xlabel="x", ylabel="|v − v*|")
