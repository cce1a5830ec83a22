"""E-NGD on the reference 2D Poisson problem: ngflow next to its peers, in one table.

The setup of Müller & Zeinhofer (ICML 2023, "Achieving High Accuracy with PINNs via
Energy Natural Gradients"): -Δu = f on (0, 1)², u = 0 on the boundary, u* = sin(πx)
sin(πy); MLP [2, 32, 1] tanh, weights and biases N(0, 1)·0.1; 28×28 interior grid
(spacing 1/29, boundary excluded) and 116 boundary points (corners once); loss =
mean interior residual² + 4·mean boundary value²; float64. Everything about the problem
(initialisation, points, loss, error on the 100×100 grid) is `benchmarks/peers/problem.py`;
the peer runners are `benchmarks/peers/*.py`. The ngflow rows solve the catalogue's
`ng.problems.poisson2d(seed=seed).problem`, the same problem: each run checks that its
parameters are `init_params(seed)`, its points the peers' and its loss theirs (1e-12).
See benchmarks/README.md.

    python benchmarks/poisson2d.py [--seeds 20] [--iters 200] [--out runs.jsonl]
    python benchmarks/poisson2d.py --quick          # 2 seeds, 50 iterations, fewer peers
    python benchmarks/poisson2d.py --methods ngflow-default reference --seeds 0 1 2
    python benchmarks/poisson2d.py --breakdown      # + per-piece cost of the old default step

Rows: ngflow E-NGD with the reference's algorithm (a custom Gram solve `lstsq(G, ∇L)` and
the exhaustive log grid), with its default `NaturalGradient()` (the SVD of E gives the
Levenberg-Marquardt curve, `TrustRegion()` picks the step on it), with the old default
`NaturalGradient(AutoGram(), LogGrid())`, and with `Cholesky()` and `Pinv(rcond=3e-8)`
(both with `LogGrid()`);
the peers (reference ENGD in plain JAX, randngd NGDFull with Levenberg-Marquardt and with
default damping, jinns vanilla_ngd, optimistix LevenbergMarquardt); optax Adam and
L-BFGS given the same wall-clock budget (the median wall time of the default ngflow row
for `--iters` iterations). randngd and jinns are optional (`pip install -e ".[bench]"`):
without them their rows are skipped with a note.
"""

import os


# One OpenBLAS thread for LAPACK (jax calls scipy's), before jax/numpy load it: on a busy
# 2-core machine threaded LAPACK contends with XLA's threads, and it changes the rounding
# (hence the plateau) of the reference's lstsq on its 1e22-conditioned Gram matrix.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402


if __package__ in (None, ""):  # `python benchmarks/poisson2d.py` from anywhere
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib.metadata as metadata  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from typing import ClassVar  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import ngflow as ng  # noqa: E402  (enables float64)
from benchmarks.peers import (  # noqa: E402
    jinns_peer,
    optax_baselines,
    optimistix_lm,
    problem as P,
    randngd_peer,
    reference_engd,
)


COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_compiles = []  # durations of all XLA compilations: the timed ngflow calls must add none
jax.monitoring.register_event_duration_secs_listener(
    lambda event, secs, **kw: event == COMPILE_EVENT and _compiles.append(secs)
)

THRESHOLDS = (1e-6, 1e-7, 1e-8)


# ---------------------------------------------------------------- the ngflow rows


class LstsqGram(ng.AbstractGramSolver):
    """The reference ENGD solve as an ngflow Gram solve: $G = E^\\top E$ formed, then
    `jnp.linalg.lstsq(G, ∇L)` (LAPACK's default cutoff on G), NaN replaced by zeros as in
    the reference's `nat_grad_factory`. An example of the `AbstractGramSolver` extension
    point: `solve(metric, gradient) -> (h, stats, ok)`."""

    needs_tangent_map: ClassVar[bool] = False

    def solve(self, metric, gradient):
        e = metric.matrix  # dense E (N x p); a matrix metric would be metric.matrix too
        g = e.T @ e if isinstance(metric, ng.TangentMap) else e
        h, _, rank, _ = jnp.linalg.lstsq(g, gradient)
        h = jnp.where(jnp.isnan(h[0]), jnp.zeros_like(h), h)
        return h, {"rank": rank}, jnp.all(jnp.isfinite(h))


# ngflow's residual loss is ½‖r‖² with r_i = sqrt(2w/N) R(u, x_i), so its E gives
# G = EᵀE = 2·G_ref and its lstsq direction is half the reference's: the reference's
# steps 0.5**k (k = 0..30) on h_ref are the steps 2·0.5**k on ngflow's h.
REFERENCE_GRID = ng.LogGrid(largest=2.0, smallest=2.0 * 0.5**30, early_exit=False)

NGFLOW = {
    "ngflow-engd": (
        "ngflow lstsq(G)+full grid",
        lambda: ng.NaturalGradient(LstsqGram(), REFERENCE_GRID),
        "NaturalGradient(LstsqGram(), LogGrid(largest=2, smallest=2*0.5**30, "
        "early_exit=False)): the reference ENGD iteration (lstsq on G = E^T E, all 31 "
        "steps 0.5**k of the reference direction, argmin)",
    ),
    "ngflow-default": (
        "ngflow NaturalGradient()",
        lambda: ng.NaturalGradient(),
        "NaturalGradient() = NaturalGradient(AutoGram(), TrustRegion()): AutoGram's "
        "SVD of E gives the Levenberg-Marquardt curve h(lambda) = (G + lambda I)^-1 "
        "grad L (DampedDescent); TrustRegion(target=0.075, window=3, num=24, "
        "early_exit=True) keeps the longest step on it whose actual/predicted "
        "decrease is >= 0.075, radius carried between steps",
    ),
    "ngflow-old-default": (
        "ngflow old default (LogGrid)",
        lambda: ng.NaturalGradient(ng.AutoGram(), ng.LogGrid()),
        "NaturalGradient(AutoGram(), LogGrid()), the default before TrustRegion: "
        "AutoGram() -> Pinv(rcond=1e-7) on E, LogGrid() 0.5**k k=0..30 early_exit=True",
    ),
    "ngflow-cholesky": (
        "ngflow NG(Cholesky())",
        lambda: ng.NaturalGradient(ng.Cholesky(), ng.LogGrid()),
        "NaturalGradient(Cholesky(damping=1e-10 relative), LogGrid())",
    ),
    "ngflow-pinv3e-8": (
        "ngflow NG(Pinv(rcond=3e-8))",
        lambda: ng.NaturalGradient(ng.Pinv(rcond=3e-8), ng.LogGrid()),
        "NaturalGradient(Pinv(rcond=3e-8), LogGrid())",
    ),
    # Not run by default: the reference solve with ngflow's default grid 0.5**k on
    # ngflow's direction (= the reference's steps 0.5**(k+1)): same algorithm up to a
    # shift of the grid; shows how much the outcome of lstsq(G) depends on such details.
    "ngflow-engd-grid1": (
        "ngflow lstsq(G)+grid 0.5^k",
        lambda: ng.NaturalGradient(LstsqGram(), ng.LogGrid(early_exit=False)),
        "NaturalGradient(LstsqGram(), LogGrid(early_exit=False)): reference solve, "
        "default grid (the reference's steps 0.5**(k+1))",
    ),
}


def ngflow_problem(seed: int) -> ng.Problem:
    """The catalogue's ENGD problem: [2, 32, 1] tanh from `init_params(seed)`,
    `Residual(Δu + f)` on `interior_grid(28)` + `Residual(u, weight=4)` on
    `boundary_grid(29)`, `ng.Energy()` (checked against the peers by
    `check_ngflow_setup`)."""
    return ng.problems.poisson2d(seed=seed).problem


def check_ngflow_setup(seed: int) -> dict:
    """The ngflow problem is the peers': its parameter vector is init_params(seed), its
    points are X_INT / X_BDRY (as sets, up to rounding) with boundary weight 4, and its
    network and loss equal problem.u / problem.loss there."""
    prob = ngflow_problem(seed)
    theta = P.init_params(seed)
    flat, _ = ravel_pytree(eqx.filter(prob.model, eqx.is_inexact_array))
    interior, boundary = prob.loss.losses
    same = (
        flat.shape == theta.shape
        and bool(jnp.all(flat == theta))
        and _same_points(interior.points, P.X_INT)
        and _same_points(boundary.points, P.X_BDRY)
        and float(interior.weight) == 1.0
        and float(boundary.weight) == P.BOUNDARY_WEIGHT
    )
    if not same:
        raise AssertionError(
            "ng.problems.poisson2d differs from benchmarks/peers/problem.py in its "
            "parameters, points or weights"
        )
    x = P.X_EVAL[::97]
    du = float(
        jnp.max(jnp.abs(jax.vmap(prob.model)(x) - jax.vmap(lambda z: P.u(theta, z))(x)))
    )
    l_ng, l_p = float(prob.loss(prob.model)), float(P.loss(theta))
    rel = abs(l_ng - l_p) / abs(l_p)
    if du > 1e-12 or rel > 1e-12:
        raise AssertionError(
            f"ngflow set-up differs from the problem: {du=}, {l_ng=}, {l_p=}"
        )
    return dict(
        loss0_ngflow=l_ng, loss0_problem=l_p, loss0_rel_diff=rel, u0_max_diff=du
    )


def _same_points(a, b, tol=1e-14) -> bool:
    """Same set of points up to rounding (e.g. 1 - 1/29 vs 28/29)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    d = np.max(np.abs(a[:, None, :] - b[None, :, :]), axis=-1)
    return bool(np.all(d.min(axis=0) <= tol) and np.all(d.min(axis=1) <= tol))


_warm = {}  # method key -> first-call seconds (compile + one run)


def run_ngflow(key: str, seed: int, iters: int, record_at) -> dict:
    label, make, description = NGFLOW[key]
    method = make()
    prob = ngflow_problem(seed)
    setup = check_ngflow_setup(seed)
    # Compile with a call of the same structure (`steps` is static), once per method.
    if (key, iters) not in _warm:
        t0 = time.perf_counter()
        ng.solve(
            prob, method, steps=iters, save_params=True, throw=False, progress=False
        )
        _warm[(key, iters)] = time.perf_counter() - t0
    recompiles = 0
    for _ in range(2):  # a recompilation in the timed call would be timed: then rerun
        before = len(_compiles)
        sol = ng.solve(
            prob, method, steps=iters, save_params=True, throw=False, progress=False
        )
        recompiles += len(_compiles) - before
        if len(_compiles) == before:
            break
    steps_taken = int(sol.num_steps)
    status = next(
        n for n in ("successful", "nonfinite", "singular", "search_failed")
        if sol.result == getattr(ng.RESULTS, n)
    )  # fmt: skip
    ms = 1e3 * sol.wall_time / max(iters if status == "successful" else steps_taken, 1)
    # Iterates after a failure are NaN: the method stopped, so the last one stands.
    params = np.array(sol.params)  # a writable copy
    last = min(steps_taken, iters)
    params[last + 1 :] = params[last]
    thetas = list(jnp.asarray(params))
    times = [0.0] + [ms / 1e3] * iters  # time to threshold = k x ms/iter
    stats = {k: np.asarray(v)[:last] for k, v in sol.stats.items()}
    settings = dict(
        method=description,
        problem="ng.problems.poisson2d(seed=seed).problem: eqx.nn.MLP(2,'scalar',32,1,"
        "tanh) from init_params(seed), ng.Residual(lap u + f, interior_grid(28)) + "
        "ng.Residual(u, boundary_grid(29), weight=4), ng.Energy()",
        timing="Solution.wall_time / iters of ng.solve(steps=iters, save_params=True) "
        "after a compiling call of the same structure; errors from Solution.params after",
        iters=iters,
    )
    out = P.summarize(
        f"ngflow {label}", settings, f"ngflow {ng.__version__}", list(range(iters + 1)),
        thetas, times, record_at=record_at,
    )  # fmt: skip
    out.update(
        status=status,
        steps_taken=steps_taken,
        wall_time_s=sol.wall_time,
        first_call_s=_warm[(key, iters)],
        recompiles_in_timed_call=recompiles,
        final_loss_ngflow=float(sol.final_loss),
        step_sizes=[float(s) for s in np.asarray(sol.step_sizes)[:last]],
        stats_median={k: float(np.nanmedian(v)) for k, v in stats.items() if v.size},
        stats_mean={k: float(np.nanmean(v)) for k, v in stats.items() if v.size},
        **setup,
    )
    return out


# ---------------------------------------------------------------- the peers


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


PEERS = {
    "reference": ("reference ENGD (plain JAX)", reference_engd.run, None),
    "randngd-lm": ("randngd NGDFull+LM", randngd_peer.run_lm, "randngd"),
    "randngd-default": ("randngd NGDFull default", randngd_peer.run_default, "randngd"),
    "jinns": ("jinns vanilla_ngd", jinns_peer.run, "jinns"),
    "optx-lm": ("optimistix LM", optimistix_lm.run, None),
}
BUDGETED = {  # run for the same wall-clock budget as the default ngflow row
    "adam": ("optax Adam(1e-3)", optax_baselines.run_adam),
    "lbfgs": ("optax L-BFGS", optax_baselines.run_lbfgs),
}
LABELS = {k: v[0] for k, v in NGFLOW.items()}
LABELS.update({k: v[0] for k, v in PEERS.items()})
LABELS.update({k: v[0] for k, v in BUDGETED.items()})
DEFAULT_METHODS = [k for k in NGFLOW if k != "ngflow-engd-grid1"]
DEFAULT_METHODS += list(PEERS) + list(BUDGETED)
QUICK_METHODS = [k for k in NGFLOW if k != "ngflow-engd-grid1"]
QUICK_METHODS += ["reference", "randngd-lm", "jinns", "adam", "lbfgs"]


# ---------------------------------------------------------------- environment


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in ("jax", "jaxlib", "equinox", "lineax", "optimistix", "optax", "ngflow",
                 "randngd", "jinns", "numpy", "scipy"):  # fmt: skip
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine() -> dict:
    cpu = None
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (
                    ln.split(":", 1)[1].strip()
                    for ln in fh
                    if ln.startswith("model name")
                ),
                None,
            )
    except OSError:
        pass
    return dict(
        platform=platform.platform(),
        cpu_model=cpu,
        cpu_count=os.cpu_count(),
        device=str(jax.devices()[0]),
        openblas_num_threads=os.environ.get("OPENBLAS_NUM_THREADS"),
        xla_flags=os.environ.get("XLA_FLAGS"),
    )


# ---------------------------------------------------------------- the table


def fmt(x, spec=".1e", width=8):
    return (
        "-".rjust(width)
        if x is None or not np.isfinite(x)
        else format(x, spec).rjust(width)
    )


def reached(r, tol) -> bool:
    return bool(np.nanmin(np.asarray(r["error_history"], dtype=float)) <= tol)


def aggregate(key, rs, record_at) -> dict:
    med = lambda v: statistics.median(v) if v else None
    finals = [r["final_error"] for r in rs]
    agg = dict(
        method=key, label=LABELS[key], n_seeds=len(rs),
        errors_median={k: med([r["errors"][k] for r in rs if k in r["errors"]]) for k in record_at},
        final_error_best=float(np.nanmin(finals)), final_error_worst=float(np.nanmax(finals)),
        final_error_median=float(np.nanmedian(finals)),
        ms_per_iter_median=med([r["ms_per_iter_median"] for r in rs if r["ms_per_iter_median"]]),
    )  # fmt: skip
    for tol in THRESHOLDS:
        agg[f"n_reached_{tol:g}"] = sum(reached(r, tol) for r in rs)
    for tol in ("1e-7", "1e-6"):
        hits = [r[f"time_to_{tol}_s"] for r in rs if r[f"time_to_{tol}_s"] is not None]
        agg[f"time_to_{tol}_s_median"] = med(hits)
        agg[f"n_time_to_{tol}"] = len(hits)
    return agg


def print_table(aggs, record_at, n_seeds):
    errs = " ".join(f"{'err@' + str(k):>8}" for k in record_at)
    head = (f"{'method':<29}{errs} {'best fin':>8} {'worst fin':>9} "
            f"{'≤1e-6':>5} {'≤1e-7':>5} {'≤1e-8':>5} {'ms/iter':>8} {'t→1e-7 s':>9} {'t→1e-6 s':>9}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for a in aggs:
        e = " ".join(fmt(a["errors_median"][k]) for k in record_at)
        print(
            f"{a['label']:<29}{e} {fmt(a['final_error_best'])} {fmt(a['final_error_worst'], width=9)} "
            f"{a['n_reached_1e-06']:>5} {a['n_reached_1e-07']:>5} {a['n_reached_1e-08']:>5} "
            f"{fmt(a['ms_per_iter_median'], '.2f')} {fmt(a['time_to_1e-7_s_median'], '.2f', 9)} "
            f"{fmt(a['time_to_1e-6_s_median'], '.2f', 9)}"
        )


# ---------------------------------------------------------------- per-piece cost


def breakdown(seed: int, iters: int, repeats: int = 30) -> dict:
    """Cost of the pieces of one step of the old default, `NaturalGradient(AutoGram(),
    LogGrid())`, at a few iterates of its run:
    tangent map E and residual (per-point vjp), ∇L = Eᵀr, the Gram solve (AutoGram ->
    Pinv on E: Householder QR of the 900 x 129 E, then an SVD of its R), one loss
    evaluation, all 31 losses of the grid in one call (the line search is taken as
    evals/31 of it, with evals the number the step's `LogGrid` used at that iterate), and
    the whole step (`method.step`, jitted alone), each jitted and timed separately
    (median of `repeats` calls; every call pays some dispatch overhead, so the pieces add
    up to a little more than the step)."""
    prob = ngflow_problem(seed)
    method = ng.NaturalGradient(ng.AutoGram(), ng.LogGrid())  # the old default
    for _ in range(2):  # the first call may compile
        sol = ng.solve(
            prob, method, steps=iters, save_params=True, throw=False, progress=False
        )
    flat = ng.FlatModel(prob.model)

    @jax.jit
    def tangent(theta):
        tm = prob.metric.linearise(prob, flat, theta)
        return tm.matrix, tm.residual

    gradient = jax.jit(lambda e, r: e.T @ r)
    solve = jax.jit(lambda e, r, g: ng.gram_solve(ng.AutoGram(), e, g, residual=r)[0])
    qr = jax.jit(lambda e: jnp.linalg.qr(e, mode="raw"))  # Pinv's first stage (tall E)
    svd = jax.jit(
        lambda r_factor: jnp.linalg.svd(r_factor, full_matrices=False)
    )  # of R
    loss = jax.jit(lambda theta: prob.loss(flat.model_at(theta)))
    candidates = ng.LogGrid().grid()  # the 31 steps; all of them in one jitted call:
    grid = jax.jit(
        lambda theta, h: jax.lax.map(
            lambda s: prob.loss(flat.model_at(theta - s * h)), candidates
        )
    )
    step = jax.jit(lambda theta: method.update(prob, flat, theta, None)[0])

    def clock(fn, *args):
        jax.block_until_ready(fn(*args))  # compile
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            ts.append(time.perf_counter() - t0)
        return 1e3 * statistics.median(ts)

    evals = np.asarray(sol.stats["search_evals"], dtype=float)
    rows = []
    for k in sorted({0, iters // 4, iters // 2, iters - 1}):
        theta = sol.params[k]
        e, r = tangent(theta)
        g = gradient(e, r)
        row = dict(
            iterate=k, jacobian_ms=clock(tangent, theta), gradient_ms=clock(gradient, e, r),
            solve_ms=clock(solve, e, r, g), qr_ms=clock(qr, e),
            svd_ms=clock(svd, jnp.linalg.qr(e, mode="r")),
            loss_eval_ms=clock(loss, theta), grid_ms=clock(grid, theta, solve(e, r, g)),
            step_ms=clock(step, theta), search_evals=float(evals[k]),
        )  # fmt: skip
        # The walk down the grid costs about evals/31 of the whole grid in one call (a
        # single loss call alone is dominated by dispatch overhead).
        row["line_search_ms"] = (
            row["grid_ms"] * row["search_evals"] / candidates.shape[0]
        )
        rows.append(row)
    return dict(
        seed=seed, iters=iters, repeats=repeats, pieces=rows,
        ms_per_iter_solve=1e3 * sol.wall_time / iters,
        search_evals_mean=float(np.mean(evals)),
        rank_median=float(np.median(np.asarray(sol.stats["rank"]))),
    )  # fmt: skip


# ---------------------------------------------------------------- main


def parse_seeds(values) -> list[int]:
    if len(values) == 1 and ":" in values[0]:
        a, b = values[0].split(":")
        return list(range(int(a), int(b)))
    if len(values) == 1:
        return list(range(int(values[0])))
    return [int(v) for v in values]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", default=None,
                    help="a count N (seeds 0..N-1), a range a:b, or a list of 2+ seeds (default 20)")  # fmt: skip
    ap.add_argument("--iters", type=int, default=None, help="iterations (default 200)")
    ap.add_argument("--record", type=int, nargs="+", default=[0, 50, 100, 200],
                    help="iterations at which to report the error (those > --iters are dropped)")  # fmt: skip
    ap.add_argument("--methods", nargs="+", default=None,
                    choices=list(NGFLOW) + list(PEERS) + list(BUDGETED))  # fmt: skip
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds for Adam/L-BFGS (default: median wall time of the default ngflow row)")  # fmt: skip
    ap.add_argument("--quick", action="store_true",
                    help="2 seeds, 50 iterations, fewer peers (a few minutes)")  # fmt: skip
    ap.add_argument("--breakdown", action="store_true",
                    help="also time the pieces of the old default ngflow step, AutoGram + LogGrid (seed = first seed)")  # fmt: skip
    ap.add_argument(
        "--out", default=None, help="write one JSON line per method x seed here"
    )
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    seeds = (
        parse_seeds(args.seeds)
        if args.seeds
        else ([0, 1] if args.quick else list(range(20)))
    )
    iters = args.iters if args.iters is not None else (50 if args.quick else 200)
    methods = args.methods or (QUICK_METHODS if args.quick else DEFAULT_METHODS)
    record_at = tuple(k for k in args.record if k <= iters)
    start = time.perf_counter()
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    info = dict(versions=versions(), machine=machine(), date=date)
    run_settings = dict(seeds=seeds, iters=iters, record_at=record_at, methods=methods,
                        quick=args.quick, budget_s=args.budget)  # fmt: skip

    skipped = {}
    for m in methods:
        need = PEERS.get(m, (None, None, None))[2]
        if need and not _has(need):
            skipped[m] = f"{need} not installed (pip install -e '.[bench]')"
    runnable = [m for m in methods if m not in skipped]
    budgeted = [m for m in runnable if m in BUDGETED]
    stepped = [m for m in runnable if m not in BUDGETED]

    print(f"# poisson2d: seeds {seeds}, {iters} iterations, {date}")
    v, mc = info["versions"], info["machine"]
    print(f"# jax {v['jax']}, ngflow {v['ngflow']}, randngd {v['randngd']}, jinns {v['jinns']}, "
          f"optax {v['optax']}, optimistix {v['optimistix']}; {mc['cpu_model']}, "
          f"{mc['cpu_count']} CPUs, {mc['platform']}, OPENBLAS_NUM_THREADS={mc['openblas_num_threads']}")  # fmt: skip
    setup = check_ngflow_setup(seeds[0])  # raises if the problems differ
    print(f"# ngflow rows: ng.problems.poisson2d(seed).problem; seed {seeds[0]}: parameters "
          f"= init_params, points = problem.X_INT (784) / X_BDRY (116) as sets, weight 4, "
          f"loss rel. diff {setup['loss0_rel_diff']:.1e}")  # fmt: skip
    for m, why in skipped.items():
        print(f"# skipped {m}: {why}")
    loads = [os.getloadavg()]
    print(f"# load average (1, 5, 15 min) at start: {loads[0]}")
    print(f"\n{'method':<29}{'seed':>5} " + " ".join(f"{'err@' + str(k):>8}" for k in record_at)
          + f" {'final':>8} {'ms/iter':>8} {'call s':>7}  notes", flush=True)  # fmt: skip

    results = []

    def record(key, seed, out, call_s, load_before):
        out = dict(out, method=key, label=LABELS[key], seed=seed, call_s=call_s,
                   load_avg_before=load_before, load_avg_after=os.getloadavg(),
                   run_settings=run_settings, **info)  # fmt: skip
        results.append(out)
        errs = " ".join(fmt(out["errors"].get(k)) for k in record_at)
        notes = []
        if out.get("status", "successful") != "successful":
            notes.append(f"{out['status']} after {out['steps_taken']}")
        if out.get("recompiles_in_timed_call"):
            notes.append(f"recompiled x{out['recompiles_in_timed_call']} (re-timed)")
        if key in BUDGETED:
            notes.append(f"{out['iterations_done']} it in {out['total_time_s']:.2f} s")
        if out.get("stalled"):
            notes.append("stalled")
        if key == "jinns":
            notes.append("ms/iter = mean of compiled loop")
        print(f"{LABELS[key]:<29}{seed:>5} {errs} {fmt(out['final_error'])} "
              f"{fmt(out['ms_per_iter_median'], '.2f')} {call_s:7.1f}  {'; '.join(notes)}",
              flush=True)  # fmt: skip

    def run_one(key, seed, **kw):
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        if key in NGFLOW:
            out = run_ngflow(key, seed, iters, record_at)
        elif key in PEERS:
            out = PEERS[key][1](seed, iters, record_at=record_at)
        else:
            out = BUDGETED[key][1](seed, iters, record_at=record_at, **kw)
        record(key, seed, out, time.perf_counter() - t0, load_before)

    for seed in seeds:  # seeds outer: a burst of load spreads over the rows
        for key in stepped:
            run_one(key, seed)
    loads.append(os.getloadavg())

    budget, budget_from = args.budget, "--budget"
    if budgeted and budget is None:
        walls = [r["wall_time_s"] for r in results if r["method"] == "ngflow-default"]
        if not walls:  # calibrate on the first seed, untabled
            walls = [
                run_ngflow("ngflow-default", seeds[0], iters, record_at)["wall_time_s"]
            ]
        budget = statistics.median(walls)
        budget_from = (
            f"median wall time of ngflow NaturalGradient() for {iters} iterations"
        )
    if budgeted:
        print(f"# optax budget {budget:.2f} s ({budget_from})", flush=True)
        run_settings["budget_s"], run_settings["budget_from"] = budget, budget_from
        for seed in seeds:
            for key in budgeted:
                run_one(key, seed, time_budget_s=budget)
    loads.append(os.getloadavg())

    aggs = [
        aggregate(k, [r for r in results if r["method"] == k], record_at)
        for k in runnable
    ]
    total = time.perf_counter() - start
    print(f"\n# {len(seeds)} seeds, {iters} iterations; medians over seeds; 'best/worst fin' = "
          f"final error; '≤tol' = seeds reaching it at any iteration; t→tol = median over the "
          f"seeds that reached it (after compilation)")  # fmt: skip
    print_table(aggs, record_at, len(seeds))
    for m, why in skipped.items():
        print(f"(skipped {LABELS[m]}: {why})")
    print(f"# load average (1, 5, 15 min): start {loads[0]}, after NGD rows {loads[1]}, "
          f"end {loads[2]}; total time {total:.0f} s")  # fmt: skip

    bd = None
    if args.breakdown:
        bd = breakdown(seeds[0], iters)
        print(f"\n# per-iteration cost of ngflow NaturalGradient(AutoGram(), LogGrid()), seed {bd['seed']}: "
              f"{bd['ms_per_iter_solve']:.2f} ms/iter inside ng.solve; mean line-search loss "
              f"evaluations {bd['search_evals_mean']:.2f}, median rank of E {bd['rank_median']:g}")  # fmt: skip
        print(f"{'iterate':>7} {'E, r ms':>8} {'Eᵀr ms':>7} {'solve ms':>8} {'(QR(E)':>7} "
              f"{'SVD(R))':>7} {'1 loss ms':>9} {'31 ms':>6} {'evals':>5} {'search ms':>9} "
              f"{'step ms':>8}")  # fmt: skip
        for p in bd["pieces"]:
            print(f"{p['iterate']:>7} {p['jacobian_ms']:>8.2f} {p['gradient_ms']:>7.3f} "
                  f"{p['solve_ms']:>8.2f} {p['qr_ms']:>7.2f} {p['svd_ms']:>7.2f} "
                  f"{p['loss_eval_ms']:>9.3f} {p['grid_ms']:>6.2f} {p['search_evals']:>5.0f} "
                  f"{p['line_search_ms']:>9.2f} {p['step_ms']:>8.2f}")  # fmt: skip

    if args.out:
        with open(args.out, "w") as fh:
            for r in results:
                fh.write(json.dumps(dict(kind="run", **r), default=str) + "\n")
            for a in aggs:
                fh.write(json.dumps(dict(kind="summary", run_settings=run_settings, skipped=skipped,
                                         load_avg=loads, total_time_s=total, **info, **a),
                                    default=str) + "\n")  # fmt: skip
            if bd:
                fh.write(
                    json.dumps(dict(kind="breakdown", **info, **bd), default=str) + "\n"
                )
        print(f"wrote {args.out}")
    print(f"total time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
