"""Cost of the orthogonal greedy algorithm (`ng.Greedy(k)`) against full Gram solves as p grows.

For each p, a tangent map E (N x p) and residual r from an MLP [2, w, w, 1] tanh (w chosen
to hit p) fitted by least squares (weights 1/N) to sin(pi x) sin(pi y) at N uniform random
points of [0, 1]^2, N = max(2p, 1000) capped at 1 GB for E. Each solve is jitted alone on
the fixed E, g = E^T r, r and run through `ng.gram_solve`: `Greedy(k)` on E, `Greedy(k,
tangent=False)` on G (forming G included), `Cholesky()`, `Pinv()`, `QR()`, `CG()`; plus the
cost of forming E and G. Reports ms (median of repeats) and the fraction of the full
least-squares projection ||Pi grad_u L||^2 that each direction captures. See
benchmarks/README.md.

    python benchmarks/greedy_cost.py [--ps 100,250,...] [--ks 10,20,50] [--repeats 5]
        [--max-p P] [--cap SECONDS] [--quick] [--out FILE]
"""

import os


# One OpenBLAS thread for LAPACK (jax calls scipy's), as paper_figures and the tests do:
# on a busy 2-core machine threaded LAPACK contends with XLA's own threads (see README).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import lineax as lx  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import ngflow as ng  # noqa: E402  (enables float64)


COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_compiles = []  # durations of all XLA compilations: the timed calls must add none
jax.monitoring.register_event_duration_secs_listener(
    lambda event, secs, **kw: event == COMPILE_EVENT and _compiles.append(secs)
)

MAX_E_BYTES = 10**9  # N is capped so that E (float64) stays below this
# A fast case is called several times back to back per repeat, at least this long:
MIN_REPEAT_S = 0.05


def width_for(p):
    """Width w of [2, w, w, 1] whose parameter count w^2 + 4w + 1 is nearest to p."""
    w = max(1, round(math.sqrt(p + 3) - 2))
    return min((w - 1, w, w + 1), key=lambda v: (abs(v * v + 4 * v + 1 - p), v))


def points_for(p):
    return min(max(2 * p, 1000), MAX_E_BYTES // (8 * p))


def target(x):
    return jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])


def make_problem(p):
    """(w, N, form_E, args): `form_E(*args)` -> (E, r), jitted, per-point gradients."""
    w = width_for(p)
    n = points_for(p)
    model = eqx.nn.MLP(2, "scalar", w, 2, activation=jnp.tanh, key=jax.random.key(0))
    params, static = eqx.partition(model, eqx.is_inexact_array)
    theta, unravel = ravel_pytree(params)
    points = jnp.asarray(np.random.default_rng(0).uniform(size=(n, 2)))
    t = jax.vmap(target)(points)

    def u(theta, x):
        return eqx.combine(unravel(theta), static)(x)

    @jax.jit
    def form_e(theta, points, t):
        sqrt_w = jnp.sqrt(1.0 / points.shape[0])  # ng.LeastSquares: weights 1/N
        e = sqrt_w * jax.vmap(jax.grad(u), (None, 0))(theta, points)
        r = sqrt_w * (jax.vmap(u, (None, 0))(theta, points) - t)
        return e, r

    return w, n, form_e, (theta, points, t)


def solve_case(solver):
    @jax.jit
    def run(e, g, r):
        h, stats = ng.gram_solve(solver, e, g, residual=r)
        return h, stats.get("rank", jnp.array(-1)), stats["successful"]

    return run


@jax.jit
def form_g(e):
    return e.T @ e


@jax.jit
def captured(e, r, h):
    """||r||^2 - ||r - E h||^2: how much of ||r||^2 the direction h removes. For the
    least-squares h it is ||Pi r||^2, the squared norm of the projection on range(E)."""
    return r @ r - jnp.sum((r - e @ h) ** 2)


def cases_for(ks):
    """(name, kind, solver or None, k, cost model in (N, p, k)). `kind`: "form", "oga",
    "full"; the model only predicts the time at the next p from the last measured one."""
    cases = [("form E (vmap grad)", "form", None, None, lambda n, p, k: n * p),
             ("form G = E^T E", "form", None, None, lambda n, p, k: n * p * p)]  # fmt: skip
    for k in ks:
        cases.append(
            (f"Greedy({k}) on E", "oga", ng.Greedy(k), k, lambda n, p, k: k * n * p)
        )
    for k in ks:
        cases.append((f"Greedy({k}, tangent=False) on G", "oga",
                      ng.Greedy(k, tangent=False), k, lambda n, p, k: n * p * p + k * p * k))  # fmt: skip
    full = lambda n, p, k: n * p * p + p**3
    cases += [("Cholesky()", "full", ng.Cholesky(), None, full),
              ("Pinv()", "full", ng.Pinv(), None, full),
              ("QR()", "full", ng.QR(), None, full),
              ("CG()", "full", ng.CG(), None,
               lambda n, p, k: min(p, 100) * n * p)]  # fmt: skip
    return cases


def timed(run, inner):
    """Seconds per call, over `inner` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(inner):
        out = run()
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / inner, out


def fmt_ms(ms):
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ps", default="100,250,500,1000,2000,5000",
                        help="target parameter counts, comma separated")  # fmt: skip
    parser.add_argument(
        "--ks", default="10,20,50", help="greedy steps k, comma separated"
    )
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed rounds per case, median reported (fewer if --cap; --quick: 2)")  # fmt: skip
    parser.add_argument("--max-p", type=int, default=None,
                        help="skip the full solves (Cholesky, Pinv, QR, CG) above this p")  # fmt: skip
    parser.add_argument("--cap", type=float, default=60.0,
                        help="per-case time cap in s: skip a case whose call is predicted "
                        "(from the previous p) to exceed it, and do fewer repeats so that "
                        "a case's timed calls stay within it")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="p up to 500, 2 repeats")
    parser.add_argument("--out", help="also write the JSON lines to this file")
    args = parser.parse_args()
    ps = [int(s) for s in args.ps.split(",")]
    ks = [int(s) for s in args.ks.split(",")]
    repeats = args.repeats
    if args.quick:
        ps, repeats = [p for p in ps if p <= 500], 2

    start = time.perf_counter()
    info = dict(
        model="eqx.nn.MLP(2, 'scalar', w, 2, tanh, key=key(0))", target="sin(pi x) sin(pi y)",
        points="uniform random on [0,1]^2, numpy default_rng(0)", weights="1/N",
        dtype="float64", repeats=repeats, cap_s=args.cap, max_p=args.max_p,
        date=datetime.datetime.now().isoformat(timespec="seconds"),
        jax_version=jax.__version__, equinox_version=eqx.__version__,
        lineax_version=lx.__version__, ngflow_version=ng.__version__,
        cpu_count=os.cpu_count(), platform=platform.platform(), machine=platform.machine(),
        processor=platform.processor(), device=str(jax.devices()[0]),
        python=platform.python_version(),
        openblas_num_threads=os.environ.get("OPENBLAS_NUM_THREADS"),
    )  # fmt: skip
    print(f"greedy_cost: ps={ps} ks={ks} repeats={repeats} cap={args.cap:g}s "
          f"max_p={args.max_p}; jax {jax.__version__}, equinox {eqx.__version__}, "
          f"lineax {lx.__version__}, ngflow {ng.__version__}; {os.cpu_count()} CPUs "
          f"{platform.machine()} {info['platform']}, {info['device']}, "
          f"OPENBLAS_NUM_THREADS={info['openblas_num_threads']}; load avg "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)  # fmt: skip

    cases = cases_for(ks)
    last = {}  # case name -> (seconds per call, N, p) at the last p where it ran
    rows = []
    for p_target in ps:
        w, n, form_e, fargs = make_problem(p_target)
        before, t_start = len(_compiles), time.perf_counter()
        e, r = jax.block_until_ready(form_e(*fargs))  # also form E's first call
        built = (time.perf_counter() - t_start, sum(_compiles[before:]))
        p = e.shape[1]
        g = jax.block_until_ready(e.T @ r)
        r2 = float(r @ r)
        print(f"p={p} (w={w}), N={n}: E is {n}x{p}, {8 * n * p / 1e6:.0f} MB; "
              f"||r||^2 = {r2:.4e}", flush=True)  # fmt: skip
        calls = {"form E (vmap grad)": lambda fargs=fargs, form_e=form_e: form_e(*fargs),
                 "form G = E^T E": lambda e=e: form_g(e)}  # fmt: skip
        todo = []
        for name, kind, solver, k, model in cases:
            row = dict(case=name, kind=kind, k=k, p=p, width=w, n_points=n,
                       solver=None if solver is None else repr(solver), skipped=None,
                       times_ms=[], r_norm2=r2)  # fmt: skip
            rows.append(row)
            if kind == "full" and args.max_p is not None and p > args.max_p:
                row["skipped"] = f"p > --max-p {args.max_p}"
                continue
            if name in last:
                t0, n0, p0 = last[name]
                row["predicted_s"] = t0 * model(n, p, k) / model(n0, p0, k)
                if row["predicted_s"] > args.cap:
                    row["skipped"] = (
                        f"predicted {row['predicted_s']:.3g} s > --cap {args.cap:g}"
                    )
                    continue
            if name in calls:
                run = calls[name]
            else:
                run = lambda f=solve_case(solver), e=e, g=g, r=r: f(e, g, r)
            # First call compiles: its run time is estimated as the call minus the XLA
            # compilation (tracing and lowering are counted, so it is an over-estimate).
            if name == "form E (vmap grad)":
                out = None
                row["first_call_s"], row["compile_s"] = built
            else:
                before, t_start = len(_compiles), time.perf_counter()
                out = jax.block_until_ready(run())
                row["first_call_s"] = time.perf_counter() - t_start
                row["compile_s"] = sum(_compiles[before:])
            est = max(row["first_call_s"] - row["compile_s"], 1e-6)
            row["inner_calls"] = max(1, math.ceil(MIN_REPEAT_S / est))
            row["repeats"] = max(1, min(repeats, int(args.cap // est)))
            row["recompiles"] = 0
            if kind != "form":
                h, rank, ok = out
                row["rank"], row["successful"] = int(rank), bool(ok)
                row["captured"] = float(captured(e, r, h))
                if kind == "oga":
                    row["k_effective"] = min(k, p)
            todo.append((row, run))

        # `repeats` rounds over all cases, so that a burst of load from other processes
        # spreads over the rows instead of spoiling one of them.
        loads = [os.getloadavg()[0]]
        for i in range(repeats):
            for row, run in todo:
                if i >= row["repeats"]:
                    continue
                before = len(_compiles)
                seconds, _ = timed(run, row["inner_calls"])
                row["recompiles"] += len(_compiles) - before
                row["times_ms"].append(1000 * seconds)
            loads.append(os.getloadavg()[0])
        for row, _ in todo:
            row["median_ms"] = statistics.median(row["times_ms"])
            row["min_ms"] = min(row["times_ms"])
            last[row["case"]] = (row["median_ms"] / 1000, n, p)
            row["load_avg_1min"] = loads
        # The reference ||Pi r||^2: the most any full solve captured (they differ by their
        # cutoffs: QR and Pinv drop singular values of E below 1e-7 sigma_1, Cholesky damps).
        this_p = [row for row in rows if row["p"] == p]
        full = [row for row in this_p if row["kind"] == "full" and "captured" in row]
        best = max(full, key=lambda row: row["captured"], default=None)
        for row in this_p:
            row["reference"] = None if best is None else best["case"]
            if "captured" in row and best is not None:
                row["captured_frac"] = row["captured"] / best["captured"]
        del e, r, g

    header = f"{'p':>5} {'N':>6} {'case':<30} {'median ms':>10} {'min ms':>9} "
    header += f"{'1st call s':>10} {'rank':>5} {'1-capt':>9}  notes"
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        line = f"{row['p']:>5} {row['n_points']:>6} {row['case']:<30} "
        if row["skipped"]:
            print(line + f"{'-':>10} {'-':>9} {'-':>10} {'-':>5} {'-':>9}  SKIPPED: "
                  + row["skipped"])  # fmt: skip
            continue
        frac = row.get("captured_frac")
        notes = []
        if row["repeats"] < repeats:
            notes.append(f"{len(row['times_ms'])} repeat(s) (cap)")
        if row.get("successful") is False:
            notes.append("FAILED (successful=False)")
        if row["recompiles"]:
            notes.append(f"RECOMPILED x{row['recompiles']}")
        if frac is None and "captured" in row:
            notes.append(f"captured {row['captured']:.4e} (no full solve ran)")
        rank = row.get("rank", -1)
        print(line + f"{fmt_ms(row['median_ms']):>10} {fmt_ms(row['min_ms']):>9} "
              f"{row['first_call_s']:>10.2f} {rank if rank >= 0 else '-':>5} "
              f"{'-' if frac is None else f'{1 - frac:.1e}':>9}  " + " ".join(notes))  # fmt: skip

    # Summary: median ms, one column per p.
    pcols = sorted({row["p"] for row in rows})
    print(f"\nmedian ms by p (Greedy on E: 1-capt in brackets)\n{'case':<30}"
          + "".join(f"{p:>16}" for p in pcols))  # fmt: skip
    for name, kind, *_ in cases:
        cells = []
        for p in pcols:
            row = next(r_ for r_ in rows if r_["case"] == name and r_["p"] == p)
            if row["skipped"]:
                cells.append("skipped")
            elif kind == "oga" and name.endswith("on E") and "captured_frac" in row:
                cells.append(
                    f"{fmt_ms(row['median_ms'])} ({1 - row['captured_frac']:.0e})"
                )
            else:
                cells.append(fmt_ms(row["median_ms"]))
        print(f"{name:<30}" + "".join(f"{c:>16}" for c in cells))

    lines = [json.dumps({**row, **info}) for row in rows]
    print("\n" + "\n".join(lines))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"\ntotal time {time.perf_counter() - start:.1f} s; load avg "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip


if __name__ == "__main__":
    main()
