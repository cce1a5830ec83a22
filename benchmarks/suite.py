"""The benchmark suite: every catalogue problem × methods × seeds, in one table.

For each problem of `ng.problems.CATALOGUE` and each seed, every method runs the
problem's step budget (`Benchmark.steps`) from the same initial model; the relative L²
error against the exact (or reference) solution is evaluated afterwards at every
iterate. Adam gets the same wall-clock time as the new default (the median over seeds
of its post-compilation time), in compiled chunks of steps; jinns' `vanilla_ngd` (if
installed: `pip install -e ".[bench]"`) runs the same budget on the same points and
initial network (`benchmarks/peers/jinns_suite.py`).

    python benchmarks/suite.py                      # every problem, 5 seeds
    python benchmarks/suite.py --quick              # quick sizes, 2 seeds (a smoke test)
    python benchmarks/suite.py --problems poisson2d heat --seeds 10 --out runs.jsonl
    python benchmarks/suite.py --methods default tr-eps --problems wave

Columns: the median / worst / best final error over the seeds, how many seeds stall
(final error > 1e-3), the median ms per step after compilation, how many seeds reach
the problem's tolerance `tol` at some iterate and the median time to it (iterations ×
ms/step). `--out FILE.jsonl` writes one JSON line per run (the error at every recorded
iterate, per-step statistics of the search) and one per problem × method (`kind:
"summary"`). See benchmarks/README.md for the results.
"""

import os
import sys


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
if __package__ in (None, ""):  # `python benchmarks/suite.py`: import benchmarks.peers
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse  # noqa: E402
import datetime  # noqa: E402
import gzip  # noqa: E402
import importlib.metadata as metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import ngflow as ng  # noqa: E402
from ngflow._domains import has_samplers, resample  # noqa: E402


STALL = 1e-3

# name -> (label, constructor). The first four are the comparison; the rest are
# the variants the default was chosen from (run them with --methods).
METHODS = {
    "default": ("NaturalGradient()", lambda: ng.NaturalGradient()),
    "old-default": (
        "AutoGram+LogGrid (old default)",
        lambda: ng.NaturalGradient(ng.AutoGram(), ng.LogGrid()),
    ),
    "cholesky": (
        "Cholesky(1e-6)+LogGrid",
        lambda: ng.NaturalGradient(ng.Cholesky(1e-6), ng.LogGrid()),
    ),
    "adam": ("Adam(1e-3), same time", None),
    "jinns": ("jinns vanilla_ngd", None),
    # --- candidates
    "tr-eps": (
        "TR, cutoff eps",
        lambda: ng.NaturalGradient(ng.Pinv(rcond=float(jnp.finfo(float).eps))),
    ),
    "tr-1e-10": ("TR, cutoff 1e-10", lambda: ng.NaturalGradient(ng.Pinv(rcond=1e-10))),
    "tr-1e-8": ("TR, cutoff 1e-8", lambda: ng.NaturalGradient(ng.Pinv(rcond=1e-8))),
    "tr-all": (
        "TR, all probes (DSGNAR)",
        lambda: ng.NaturalGradient(step=ng.TrustRegion(early_exit=False)),
    ),
    "tr-0.15": (
        "TR, target 0.15",
        lambda: ng.NaturalGradient(step=ng.TrustRegion(target=0.15)),
    ),
    "tr-0.03": (
        "TR, target 0.03",
        lambda: ng.NaturalGradient(step=ng.TrustRegion(target=0.03)),
    ),
    "tr-plain": (
        "TR, plain walk everywhere",
        lambda: ng.NaturalGradient(step=ng.TrustRegion(monotone=False)),
    ),
    "tr-monotone": (
        "TR, monotone walk everywhere",
        lambda: ng.NaturalGradient(step=ng.TrustRegion(monotone=True)),
    ),
    "sketch": ("Sketch(64)", lambda: ng.NaturalGradient(ng.Sketch(64))),
    "sketch-128": ("Sketch(128)", lambda: ng.NaturalGradient(ng.Sketch(128))),
    "sketch-32": ("Sketch(32)", lambda: ng.NaturalGradient(ng.Sketch(32))),
    "lm-grid": (
        "LogGrid on the LM curve",
        lambda: ng.NaturalGradient(
            ng.AutoGram(), ng.LogGrid(), descent=ng.DampedDescent()
        ),
    ),
}
MAIN = ("default", "old-default", "cholesky", "adam", "jinns")


# ---------------------------------------------------------------- errors


@eqx.filter_jit
def _errors(error, flat, params):
    return jax.lax.map(lambda t: error(flat.model_at(t)), params)


def errors_of(b, params):
    flat = ng.FlatModel(b.problem.model)
    return np.asarray(_errors(b.error, flat, jnp.asarray(params)))


def first_reach(errs, tol):
    hit = np.flatnonzero(np.asarray(errs) <= tol)
    return int(hit[0]) if hit.size else None


# ---------------------------------------------------------------- Adam


@eqx.filter_jit
def _adam_chunk(problem, flat, theta, state, start, key, lr, n: int):
    opt = optax.adam(lr)
    sampled = has_samplers(problem)

    def body(carry, k):
        theta, state = carry
        p = resample(problem, key, k) if sampled else problem
        loss, grad = jax.value_and_grad(lambda t: p.loss(flat.model_at(t)))(theta)
        updates, state = opt.update(grad, state, theta)
        return (theta + updates, state), loss

    (theta, state), losses = jax.lax.scan(body, (theta, state), start + jnp.arange(n))
    return theta, state, losses


def run_adam(b, budget_s, lr=1e-3, chunk=100, max_steps=500_000):
    """Adam from the same initial model for `budget_s` seconds (after compilation),
    the error after every `chunk` steps."""
    flat = ng.FlatModel(b.problem.model)
    theta = flat.theta0
    state = optax.adam(lr).init(theta)
    lr = jnp.asarray(lr)
    start = lambda k: jnp.asarray(
        k
    )  # an array: a Python int would be static (recompiles)
    jax.block_until_ready(
        _adam_chunk(b.problem, flat, theta, state, start(0), b.key, lr, chunk)
    )
    thetas, steps, spent, k = [theta], [0], 0.0, 0
    while spent < budget_s and k < max_steps:
        t0 = time.perf_counter()
        theta, state, _ = jax.block_until_ready(
            _adam_chunk(b.problem, flat, theta, state, start(k), b.key, lr, chunk)
        )
        spent += time.perf_counter() - t0
        k += chunk
        thetas.append(theta)
        steps.append(k)
    errs = errors_of(b, jnp.stack(thetas))
    return dict(
        iterations=steps,
        errors=errs.tolist(),
        final_error=float(errs[-1]),
        ms_per_step=spent / max(k, 1) * 1e3,
        wall_s=spent,
        steps=k,
    )


# ---------------------------------------------------------------- ngflow rows


def run_ngflow(b, method):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sol = ng.solve(
            b.problem,
            method,
            steps=b.steps,
            key=b.key,
            save_params=True,
            progress=False,
            throw=False,
        )
    n = int(sol.num_steps)
    params = np.asarray(sol.params[: n + 1])
    errs = errors_of(b, params)
    stats = {}
    for name in ("rank", "damping", "radius", "ratio", "accepted", "search_evals"):
        if name in sol.stats:
            v = np.asarray(sol.stats[name][:n], dtype=float)
            stats[name] = float(np.median(v)) if v.size else None
    return dict(
        iterations=list(range(n + 1)),
        errors=errs.tolist(),
        final_error=float(errs[-1]),
        wall_s=float(sol.wall_time),
        steps=n,
        result=ng.RESULTS[sol.result] or "successful",
        warnings=[str(w.message)[:200] for w in caught],
        stats=stats,
    )


def summarize(problem, method, label, runs, tol):
    finals = np.array([r["final_error"] for r in runs])
    finals = np.where(np.isfinite(finals), finals, np.inf)
    ms = np.array([r["ms_per_step"] for r in runs])
    times = []
    for r in runs:
        k = first_reach(r["errors"], tol)
        if k is not None:
            times.append(r["iterations"][k] * r["ms_per_step"] / 1e3)
    return dict(
        kind="summary",
        problem=problem,
        method=method,
        label=label,
        seeds=len(runs),
        median=float(np.median(finals)),
        worst=float(np.max(finals)),
        best=float(np.min(finals)),
        stalls=int(np.sum(finals > STALL)),
        ms_per_step=float(np.median(ms)),
        tol=tol,
        reached=len(times),
        time_to_tol=float(np.median(times)) if times else None,
    )


def fmt(x, spec=".1e"):
    return "-" if x is None else format(x, spec)


def print_table(rows):
    head = (
        f"{'problem':22s} {'method':32s} {'median':>8s} {'worst':>8s} {'best':>8s} "
        f"{'stall':>5s} {'ms/step':>8s} {'tol':>6s} {'reach':>5s} {'t→tol s':>8s}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['problem']:22s} {r['label']:32s} {fmt(r['median']):>8s} "
            f"{fmt(r['worst']):>8s} {fmt(r['best']):>8s} "
            f"{r['stalls']:>3d}/{r['seeds']:<1d} {r['ms_per_step']:8.2f} "
            f"{r['tol']:6.0e} {r['reached']:>3d}/{r['seeds']:<1d} "
            f"{fmt(r['time_to_tol'], '.2f'):>8s}",
            flush=True,
        )


def versions():
    out = {}
    for name in ("jax", "jaxlib", "equinox", "lineax", "optax", "ngflow", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="quick sizes, 2 seeds")
    parser.add_argument(
        "--problems", nargs="+", default=None, help="catalogue names (default: all)"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(MAIN),
        help=f"method keys (default: {' '.join(MAIN)}; all: {' '.join(METHODS)})",
    )
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..S-1 (5)")
    parser.add_argument("--out", default=None, help="write JSON lines to this file")
    parser.add_argument(
        "--steps", type=int, default=None, help="override every problem's step budget"
    )
    parser.add_argument(
        "--table",
        nargs="+",
        default=None,
        metavar="FILE",
        help="print the table of the summaries in these JSON-lines files and exit",
    )
    args = parser.parse_args(argv)
    if args.table:
        rows = {}
        for path in args.table:
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as f:
                for line in f:
                    r = json.loads(line)
                    if r.get("kind") == "summary":  # the last run of a row wins
                        rows[(r["problem"], r["method"])] = r
        order = {m: i for i, m in enumerate(METHODS)}
        problems_order = {p: i for i, p in enumerate(ng.problems.CATALOGUE)}
        keys = sorted(rows, key=lambda k: (problems_order.get(k[0], 99), order[k[1]]))
        print_table([rows[k] for k in keys])
        return
    problems = args.problems or list(ng.problems.CATALOGUE)
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; known: {list(METHODS)}")
    seeds = list(range(args.seeds or (2 if args.quick else 5)))
    out = open(args.out, "a") if args.out else None
    meta = dict(
        versions=versions(),
        machine=platform.platform(),
        cpus=os.cpu_count(),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        command=" ".join(sys.argv),
        openblas_threads=os.environ.get("OPENBLAS_NUM_THREADS"),
    )
    print(f"# {meta['date']}; {meta['machine']}; {meta['versions']}", flush=True)
    start = time.perf_counter()
    summaries = []
    for name in problems:
        bs = [ng.problems.get(name, seed=s, quick=args.quick) for s in seeds]
        if args.steps is not None:
            bs = [eqx.tree_at(lambda b: b.steps, b, args.steps) for b in bs]
        b0 = bs[0]
        print(
            f"# {name}: N={b0.num_residuals}, p={b0.num_parameters}, "
            f"steps={b0.steps}, tol={b0.tol:g}",
            flush=True,
        )
        budget = None
        for key in args.methods:
            label, make = METHODS[key]
            runs = []
            if key == "jinns" and not _jinns_available(name):
                print(f"  {name} jinns: skipped ({_jinns_available(name, why=True)})")
                continue
            try:
                for b in bs:
                    if key == "jinns":
                        run = _run_jinns(b)
                    elif key == "adam":
                        if budget is None:
                            budget = _default_budget(bs, args.methods, summaries, name)
                        run = run_adam(b, budget)
                    else:
                        run = run_ngflow(b, make())
                    runs.append(run)
            except Exception as e:  # noqa: BLE001 - one failing row must not end the run
                print(f"  {name} {key}: FAILED ({type(e).__name__}: {e})", flush=True)
                continue
            if key not in ("adam", "jinns"):
                # Post-compilation ms/step: the median over seeds after the first
                # (the first call compiles); with one seed, run it again.
                if len(runs) == 1:
                    again = run_ngflow(bs[0], make())
                    timed = [again["wall_s"] / max(again["steps"], 1) * 1e3]
                else:
                    timed = [r["wall_s"] / max(r["steps"], 1) * 1e3 for r in runs[1:]]
                for r in runs:
                    r["ms_per_step"] = float(np.median(timed))
                if key == "default":
                    budget = float(np.median(timed)) * b0.steps / 1e3
            for seed, r in zip(seeds, runs, strict=True):
                k = first_reach(r["errors"], b0.tol)
                print(
                    f"  {name} {key} seed {seed}: final {r['final_error']:.2e} "
                    f"({r['steps']} steps, {r['ms_per_step']:.2f} ms/step"
                    + (f", tol at step {r['iterations'][k]}" if k is not None else "")
                    + (
                        f", {r['result']}"
                        if r.get("result", "successful") != "successful"
                        else ""
                    )
                    + ")",
                    flush=True,
                )
                if out:
                    record = dict(kind="run", problem=name, method=key, label=label,
                                  seed=seed, tol=b0.tol, **r, **meta)  # fmt: skip
                    out.write(json.dumps(record) + "\n")
            summary = summarize(name, key, label, runs, b0.tol)
            summary.update(N=b0.num_residuals, p=b0.num_parameters, steps=b0.steps)
            summaries.append(summary)
            if out:
                out.write(json.dumps({**summary, **meta}) + "\n")
                out.flush()
    print()
    print(
        f"# {len(seeds)} seeds; final relative L2 error after each problem's step budget"
    )
    print_table(summaries)
    print(f"# total {time.perf_counter() - start:.0f} s")
    if out:
        out.close()


def _jinns_available(name, why=False):
    try:
        from benchmarks.peers import jinns_suite
    except ImportError as e:  # jinns is optional: pip install -e ".[bench]"
        return f"jinns not installed ({e.name})" if why else False
    ok = jinns_suite.available(name)
    return (ok if isinstance(ok, str) else "") if why else ok is True


def _run_jinns(b):
    from benchmarks.peers import jinns_suite

    r = jinns_suite.run(b)
    keep = ("iterations", "errors", "final_error", "ms_per_step", "wall_s", "steps")
    out = {k: r[k] for k in keep}
    out["errors"] = [float(e) for e in out["errors"]]
    out["result"] = r.get("result", "successful")
    out["loss_check"] = r.get("loss_check")
    return out


def _default_budget(bs, methods, summaries, name):
    """Adam's time: the default's post-compilation time for the step budget (measured
    now if the default is not among the methods run)."""
    for s in summaries:
        if s["problem"] == name and s["method"] == "default":
            return s["ms_per_step"] * bs[0].steps / 1e3
    run_ngflow(bs[0], ng.NaturalGradient())  # compile
    again = run_ngflow(bs[0], ng.NaturalGradient())
    return again["wall_s"]


if __name__ == "__main__":
    main()
