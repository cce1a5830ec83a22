"""How natural gradient in ngflow scales: ms per step, peak memory, error per wall-clock budget.

Poisson 2D: -Δu = 2π² sin(πx) sin(πy) on [0, 1]², u = 0 on the boundary (u* = sin(πx)
sin(πy)); `ng.Residual(Δu + f)` on an n×n interior grid plus `ng.Residual(u, weight=100)`
on the 4(n+1) boundary points, `ng.Energy()` metric, float64: the catalogue's
`ng.problems.poisson2d_seed000(seed=0, n=n, width=w)`. Models
`eqx.nn.MLP(2, "scalar", w, 2, tanh, key=0)` ([2, w, w, 1], p = w² + 5w + 1):
w = 30 (p = 1 051), 98 (10 095), 315 (100 801). Grids n = 30, 62, 126 give
N = 1 024, 4 096, 16 384 points.

Per cell (size, N) and solve, one subprocess (so its peak RSS is the cell's). Rows (the
default set is auto, adam; `--solves` picks others):

- `auto`: `NaturalGradient()` as a user gets it: `AutoGram()` and the `TrustRegion()`
  on the Levenberg--Marquardt curve (the column `auto` and the JSON field
  `auto_describe` say which solve it took and why; it depends on the memory available
  when the step is compiled): `Pinv`/`Woodbury` where the exact step is cheap, else
  `Sketch` (random-subspace Gauss--Newton on 1024 sampled points);
- `woodbury`: `Woodbury(1e-6, chunk=256)`, sample space, K = EEᵀ from chunks of 256
  points (only if N < p); `cholesky`: `Cholesky(1e-6, chunk=256)`, G from chunks;
- `cg50`: `CG(max_steps=50)`, matrix-free; `pcg`: `AutoGram.cg(256)`, i.e.
  `CG(1e-8, relative=True, rtol=1e-6, max_steps=50, preconditioner=Nystrom(100),
  chunk=256)`, the matrix-free solve AutoGram took before `Sketch`;
- `sketch`: `Sketch()` (64 directions, 1024 sampled points);
- `adam`: optax Adam(1e-3) on `problem.loss`.

Every NaturalGradient row uses the default `TrustRegion()` step rule, its radius carried
from one call to the next (`TrustRegion(initial=last radius)`; the results of
2026-11-22 in benchmarks/README.md were measured with `LogGrid()` and the old
`AutoGram`). Each
run gets the same wall-clock budget (compilation excluded): 60 s for the 1k- and
10k-parameter networks, 180 s for 100k (`--budget` sets one for all). A first call (one step) compiles and is
thrown away, then the run restarts from the initial model and calls the compiled solve
one step at a time, or, once a step is seen to take less than 2 s, in chunks of c ≈ 2 s
of steps (`ng.solve(..., steps=c)`; that compiles once more, in a call that is not
counted and whose result is discarded), each call continuing from the last model
(and from the last radius), until the budget is
spent. Adam is a jitted `lax.scan` of c steps, chunked the same way. The call that
crosses the budget is finished, so a cell whose step takes longer than the budget
reports one step. ms/step is the median over calls of `Solution.wall_time / steps`. The
relative L² error on a 100×100 grid is evaluated after the budget, outside it. Peak
memory is the subprocess's `ru_maxrss` (it includes ~0.5 GB for Python + jax + XLA).
A run is skipped, with the reason, when its K (N²·8 B) or G (p²·8 B) would exceed
`--dense-gb` (8) or its step needs more than `--max-flops` (5e12: the K or G product,
about 2.5 min at the 33 GFlop/s dgemm measured here); children run under an
address-space limit (`--mem-limit-gb`, 16) so an out-of-memory cell fails alone.

    python benchmarks/scaling.py --quick            # 2 small cells, 5 s budget, ~2 min
    python benchmarks/scaling.py [--out runs.jsonl]  # every cell, ~1 h
    python benchmarks/scaling.py --cells 1k:1k 10k:4k --solves cg50 adam --budget 20
"""

import os


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


WIDTHS = {"1k": 30, "10k": 98, "100k": 315}  # hidden width; depth 2
GRIDS = {"1k": 30, "4k": 62, "16k": 126}  # interior n×n; N = n² + 4(n+1)
SOLVES = ("auto", "woodbury", "cholesky", "cg50", "pcg", "sketch", "adam")
DEFAULT_SOLVES = ("auto", "adam")
BUDGETS = {"1k": 60.0, "10k": 60.0, "100k": 180.0}  # seconds per run, by network size
CHUNK = 256  # points per chunk for the chunked Woodbury/Cholesky rows
TARGET_CHUNK_S = 2.0  # chunk length aimed at (fewer Python round trips)


def n_params(w):
    return w * w + 5 * w + 1  # (2w + w) + (w² + w) + (w + 1)


def n_points(n):
    return n * n + 4 * (n + 1)


# ---------------------------------------------------------------- worker (one cell)


def build(width, n):
    """The cell's model, loss and error monitor: `ng.problems.poisson2d_seed000`."""
    import ngflow as ng

    b = ng.problems.poisson2d_seed000(seed=0, n=n, width=width)
    return b.problem.model, b.problem.loss, b.error


def auto_choice(problem):
    """What `AutoGram()` uses for this problem, with the reason and the numbers."""
    import ngflow as ng

    flat = ng.FlatModel(problem.model)
    n, p = problem.metric.shape(problem, flat, flat.theta0)  # without forming E
    return ng.AutoGram().describe(n=n, p=p)


def PCG():  # noqa: N802 - the preconditioned CG row: AutoGram's matrix-free choice
    import ngflow as ng

    return ng.AutoGram.cg(CHUNK)


def gram_for(solve):
    import ngflow as ng

    return {
        "cholesky": ng.Cholesky(1e-6, chunk=CHUNK),
        "woodbury": ng.Woodbury(1e-6, chunk=CHUNK),
        "cg50": ng.CG(max_steps=50),
        "pcg": PCG(),
        "sketch": ng.Sketch(),
        "auto": ng.AutoGram(),
    }[solve]


def run_ngd(model, loss, solve, budget):
    import ngflow as ng

    gram = gram_for(solve)
    names = ("successful", "nonfinite", "singular", "search_failed")
    radius = [1.0]  # the trust region's radius, carried from call to call

    def call(m, steps, keep=True):
        method = ng.NaturalGradient(gram, ng.TrustRegion(initial=radius[0]))
        sol = ng.solve(ng.Problem(m, loss, ng.Energy()), method, steps=steps, throw=False,
                       progress=False)  # fmt: skip
        status = next(n for n in names if sol.result == getattr(ng.RESULTS, n))
        if keep and int(sol.num_steps) > 0:
            r = float(sol.stats["radius"][int(sol.num_steps) - 1])
            radius[0] = min(max(r, 1e-12), 1e12)  # within TrustRegion's bounds
        return sol, status

    t0 = time.perf_counter()
    call(model, 1, keep=False)  # compile (+ one step), thrown away
    first = time.perf_counter() - t0
    # Budget loop from the initial model, one step per call at first; if a step is
    # cheap, switch to chunks of about TARGET_CHUNK_S (that compiles once more, on a
    # call whose time is not counted and whose result is discarded).
    m, steps, spent, per_step, stats, status = model, 0, 0.0, [], {}, "successful"
    chunk, compile2 = 1, 0.0
    while spent < budget:
        t0 = time.perf_counter()
        sol, status = call(m, chunk)
        spent += time.perf_counter() - t0
        took = int(sol.num_steps)
        steps += took
        per_step.append(1e3 * sol.wall_time / max(took, 1))
        for k, v in sol.stats.items():
            stats.setdefault(k, []).extend(float(x) for x in list(v)[:took])
        if status != "successful" or took < chunk:
            break
        m = sol.model
        target = max(
            1, min(200, int(TARGET_CHUNK_S / max(sol.wall_time / chunk, 1e-4)))
        )
        if chunk == 1 and target > 1:
            chunk = target
            t0 = time.perf_counter()
            call(m, chunk, keep=False)
            compile2 = time.perf_counter() - t0
    if status == "successful" or int(sol.num_steps) > 0:
        m = sol.model
    import numpy as np

    return m, dict(
        first_call_s=first, chunk=chunk, chunk_compile_s=compile2, steps=steps,
        budget_used_s=spent, ms_per_step=statistics.median(per_step), status=status,
        final_loss=float(sol.final_loss),
        stats_median={k: float(np.nanmedian(v)) for k, v in stats.items() if v},
    )  # fmt: skip


def run_adam(model, loss, budget, lr=1e-3):
    import equinox as eqx
    import jax
    import optax

    import ngflow as ng

    params, static = eqx.partition(model, eqx.is_inexact_array)
    problem = ng.Problem(model, loss, ng.Energy())
    opt = optax.adam(lr)

    def loss_fn(p):
        return problem.loss(eqx.combine(p, static))

    def make(k):
        @jax.jit
        def run(p, s):
            def body(carry, _):
                p, s = carry
                value, g = jax.value_and_grad(loss_fn)(p)
                u, s = opt.update(g, s, p)
                return (optax.apply_updates(p, u), s), value

            (p, s), values = jax.lax.scan(body, (p, s), None, length=k)
            return p, s, values[-1]

        return run

    state0 = opt.init(params)
    step1 = make(1)
    t0 = time.perf_counter()
    jax.block_until_ready(step1(params, state0))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(step1(params, state0))
    one = time.perf_counter() - t0
    chunk = max(1, min(1000, int(TARGET_CHUNK_S / max(one, 1e-5))))
    run = make(chunk)
    t0 = time.perf_counter()
    jax.block_until_ready(run(params, state0))
    compile2 = time.perf_counter() - t0
    p, s, steps, spent, per_step, value = params, state0, 0, 0.0, [], float("nan")
    while spent < budget:
        t0 = time.perf_counter()
        p, s, v = jax.block_until_ready(run(p, s))
        dt = time.perf_counter() - t0
        spent += dt
        steps += chunk
        per_step.append(1e3 * dt / chunk)
        value = float(v)
    return eqx.combine(p, static), dict(
        first_call_s=first, chunk=chunk, chunk_compile_s=compile2, steps=steps,
        budget_used_s=spent, ms_per_step=statistics.median(per_step),
        status="successful" if value == value else "nonfinite",
        final_loss=float(problem.loss(eqx.combine(p, static))), stats_median={},
    )  # fmt: skip


def worker(spec):
    import jax

    import ngflow as ng

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    model, loss, error = build(spec["width"], spec["n"])
    problem = ng.Problem(model, loss, ng.Energy())
    out = dict(
        auto_describe=auto_choice(problem), loss0=float(problem.loss(model)),
        error0=float(error(model)), rss_after_import_gb=rss0,
    )  # fmt: skip
    if spec["solve"] == "adam":
        final, res = run_adam(model, loss, spec["budget"])
    else:
        final, res = run_ngd(model, loss, spec["solve"], spec["budget"])
    out.update(res, error=float(error(final)), jax_version=jax.__version__)
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print("RESULT " + json.dumps(out), flush=True)


# ---------------------------------------------------------------- driver


def flops_per_step(solve, n, p):
    """The dominant flops of one step (what decides if a cell is run at all)."""
    if solve == "adam":
        return 0.0
    if solve == "auto":
        solve = AUTO_SOLVE.get(auto_name(n, p), "cg50")
    if solve == "woodbury":
        return n * n * p  # K = EEᵀ, upper half by symmetry (2N²p/2)
    if solve == "cholesky":
        return 2.0 * n * p * p + p**3 / 3
    if solve == "pinv":
        return 4.0 * n * p * min(n, p)  # QR + SVD, roughly
    return 0.0  # CG: matrix-free, cost ~ (2 × iterations) passes over the points


def auto_name(n, p):
    import ngflow as ng

    return ng.AutoGram().describe(n=n, p=p).split(":")[0].split("(")[0]


AUTO_SOLVE = {
    "Woodbury": "woodbury",
    "Cholesky": "cholesky",
    "Pinv": "pinv",
    "CG": "cg50",
    "Sketch": "sketch",
}


def skip_reason(solve, n, p, dense_gb, max_flops):
    k_gb, g_gb = n * n * 8 / 1e9, p * p * 8 / 1e9
    kind = AUTO_SOLVE.get(auto_name(n, p)) if solve == "auto" else solve
    if kind == "woodbury" and n >= p:
        return f"N={n} >= p={p}: Woodbury is for N < p"
    if kind == "woodbury" and k_gb > dense_gb:
        return f"K {n}x{n} = {k_gb:.1f} GB > {dense_gb:g} GB"
    if kind == "cholesky" and g_gb > dense_gb:
        return f"G {p}x{p} = {g_gb:.1f} GB > {dense_gb:g} GB"
    flops = flops_per_step(solve, n, p)
    if flops > max_flops:
        return (
            f"{flops:.1e} flops per step ({kind}): ~{flops / 33e9 / 60:.0f} min at "
            f"the 33 GFlop/s measured for dgemm here, over --max-flops {max_flops:.0e}"
        )
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 small cells, 5 s budget"
    )
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds per run (default 60, 180 for 100k parameters)")  # fmt: skip
    parser.add_argument("--cells", nargs="*", help="SIZE:N, e.g. 1k:1k 10k:4k 100k:16k")
    parser.add_argument("--solves", nargs="*", choices=SOLVES,
                        help=f"default: {' '.join(DEFAULT_SOLVES)}")  # fmt: skip
    parser.add_argument("--max-flops", type=float, default=5e12,
                        help="skip a cell whose step needs more (default 5e12, ~2.5 min)")  # fmt: skip
    parser.add_argument("--dense-gb", type=float, default=8.0,
                        help="skip a dense solve whose G (p×p) or K (N×N) exceeds this many GB")  # fmt: skip
    parser.add_argument("--mem-limit-gb", type=float, default=16.0,
                        help="address-space limit (RLIMIT_AS) of each worker process, GB")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--out", help="also write the JSON lines to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        limit = int(json.loads(args.worker)["mem_limit_gb"] * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return worker(json.loads(args.worker))

    cells = [(s, m) for s in WIDTHS for m in GRIDS]
    solves = args.solves or list(DEFAULT_SOLVES)
    only = {}  # cell -> solves run there
    if args.quick and not args.cells:
        cells = [("1k", "1k"), ("10k", "1k")]
        only = {("1k", "1k"): ("auto", "adam"), ("10k", "1k"): ("auto", "adam")}
    if args.cells:
        cells = [tuple(c.split(":")) for c in args.cells]
    start = time.perf_counter()
    print(f"{platform.platform()}; {os.cpu_count()} CPUs; "
          f"{datetime.datetime.now().isoformat(timespec='seconds')}", flush=True)  # fmt: skip
    rows = []
    for size, npts in cells:
        w, n = WIDTHS[size], GRIDS[npts]
        p, nn = n_params(w), n_points(n)
        budget = args.budget or (5.0 if args.quick else BUDGETS[size])
        auto = auto_name(nn, p)
        for solve in [s for s in solves if s in only.get((size, npts), SOLVES)]:
            row = dict(size=size, width=w, p=p, N=nn, grid=n, solve=solve, auto=auto,
                       budget_s=budget)  # fmt: skip
            reason = skip_reason(solve, nn, p, args.dense_gb, args.max_flops)
            if reason:
                row["skipped"] = reason
            if "skipped" not in row:
                spec = dict(width=w, n=n, solve=solve, budget=budget,
                            mem_limit_gb=args.mem_limit_gb)  # fmt: skip
                t0 = time.perf_counter()
                try:
                    proc = subprocess.run(
                        [sys.executable, os.path.abspath(__file__), "--worker",
                         json.dumps(spec)], capture_output=True, text=True,
                        timeout=args.timeout,
                    )  # fmt: skip
                    lines = [
                        ln
                        for ln in proc.stdout.splitlines()
                        if ln.startswith("RESULT ")
                    ]
                    if lines:
                        row.update(json.loads(lines[-1][7:]))
                    else:
                        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                        row["failed"] = f"exit {proc.returncode}: {tail[:200]}"
                except subprocess.TimeoutExpired:
                    row["failed"] = f"timeout after {args.timeout:g} s"
                row["run_s"] = time.perf_counter() - t0
            rows.append(row)
            print(line(row), flush=True)

    print("\n" + header() + "\n" + "-" * len(header()))
    for row in rows:
        print(line(row))
    lines = [json.dumps(row) for row in rows]
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    print(f"\ntotal time {time.perf_counter() - start:.1f} s")


def header():
    return (f"{'size':>5} {'p':>7} {'N':>6} {'solve':<9} {'auto':<9} {'budget':>6} {'ms/step':>9} "
            f"{'steps':>6} {'rel L2':>8} {'err0':>7} {'peak GB':>7} {'1st s':>6}"
            "  notes")  # fmt: skip


def line(r):
    head = (f"{r['size']:>5} {r['p']:>7} {r['N']:>6} {r['solve']:<9} {r['auto']:<9} "
            f"{r['budget_s']:>6.0f} ")  # fmt: skip
    if "skipped" in r or "failed" in r:
        return (
            head + "SKIPPED: " + r["skipped"]
            if "skipped" in r
            else head + "FAILED: " + r["failed"]
        )
    notes = []
    if r["status"] != "successful":
        notes.append(r["status"])
    for k in ("auto_choice", "cg_steps", "rank", "damping", "radius", "step_size"):
        if k in r["stats_median"]:
            notes.append(f"{k}={r['stats_median'][k]:.3g}")
    return head + (f"{r['ms_per_step']:>9.1f} {r['steps']:>6} {r['error']:>8.2e} "
                   f"{r['error0']:>7.2g} {r['peak_rss_gb']:>7.2f} {r['first_call_s']:>6.1f}  "
                   + " ".join(notes))  # fmt: skip


if __name__ == "__main__":
    main()
