"""Milliseconds per natural-gradient step for every Gram solve, and a plain-JAX peer.

MLP [2, 20, 20, 1] tanh (p = 501) fitted by least squares to sin(pi x) sin(pi y) on
N = 1020 points of [0, 1]^2 (a 30x30 interior grid of spacing 1/31 plus 30 midpoints per
side), Gauss-Newton metric, so E is 1020 x 501. See benchmarks/README.md.

    python benchmarks/step_cost.py [--steps 20] [--repeats 5] [--quick] [--out FILE]
"""

import os


# One OpenBLAS thread for LAPACK (jax calls scipy's), as paper_figures and the tests do:
# on a busy 2-core machine threaded LAPACK contends with XLA's own threads (see README).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import ngflow as ng  # noqa: E402  (enables float64)


COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_compiles = []  # durations of all XLA compilations: the timed calls must add none
jax.monitoring.register_event_duration_secs_listener(
    lambda event, secs, **kw: event == COMPILE_EVENT and _compiles.append(secs)
)


def make_points():
    g = np.arange(1, 31) / 31
    interior = np.stack([a.ravel() for a in np.meshgrid(g, g, indexing="ij")], axis=1)
    t, zero, one = (np.arange(30) + 0.5) / 30, np.zeros(30), np.ones(30)
    sides = [(t, zero), (t, one), (zero, t), (one, t)]
    boundary = np.concatenate([np.stack(s, axis=1) for s in sides])
    return jnp.asarray(np.concatenate([interior, boundary]))  # (1020, 2)


def target(x):
    return jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])


def ngflow_run(problem, method, steps):
    """One timed `ng.solve` call: (seconds, outcome)."""

    def run():
        sol = ng.solve(problem, method, steps=steps, throw=False)
        names = ("successful", "nonfinite", "singular", "search_failed")
        return sol.wall_time, dict(
            final_loss=float(sol.final_loss), num_steps=int(sol.num_steps),
            status=next(n for n in names if sol.result == getattr(ng.RESULTS, n)),
            stats={k: float(np.nanmedian(v)) for k, v in sol.stats.items()},
        )  # fmt: skip

    return run


def peer_run(model, points, lr, steps, jac="jacrev"):
    """The reference ENGD step (Mueller & Zeinhofer) in plain JAX: dense J, lstsq on G.
    J by `jacrev` of the residual vector, or per point by `vmap(grad)` (`jac`)."""
    params, static = eqx.partition(model, eqx.is_inexact_array)
    theta0, unravel = ravel_pytree(params)
    sqrt_w = jnp.sqrt(1.0 / points.shape[0])  # ng.LeastSquares: weights 1/N
    t = jax.vmap(target)(points)

    def residual_at(theta, x, t_x):
        return sqrt_w * (eqx.combine(unravel(theta), static)(x) - t_x)

    def residual(theta):
        return jax.vmap(residual_at, (None, 0, 0))(theta, points, t)

    def jacobian(theta):  # (N, p)
        if jac == "vmap(grad)":
            return jax.vmap(jax.grad(residual_at), (None, 0, 0))(theta, points, t)
        return jax.jacrev(residual)(theta)

    def loss(theta):
        return 0.5 * jnp.sum(residual(theta) ** 2)

    grid = 0.5 ** jnp.linspace(0.0, 30.0, 31)

    @jax.jit
    def step(theta):
        J = jacobian(theta)
        G = J.T @ J
        h = jnp.linalg.lstsq(G, jax.grad(loss)(theta))[0]
        if lr is None:  # log-grid line search, all candidates at once
            s = grid[jnp.argmin(jax.vmap(lambda s: loss(theta - s * h))(grid))]
        else:
            s = lr
        return theta - s * h

    final_loss = jax.jit(loss)

    def run():  # the reference loops from Python over a jitted step
        start, theta = time.perf_counter(), theta0
        for _ in range(steps):
            theta = step(theta)
        theta = jax.block_until_ready(theta)
        seconds = time.perf_counter() - start
        final = float(final_loss(theta))  # no failure detection: NaN shows here
        return seconds, dict(final_loss=final, num_steps=steps, status="successful",
                             stats={})  # fmt: skip

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=20, help="steps per timed run (--quick: 5)"
    )
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed rounds over all cases, median ms/step reported (--quick: 2)")  # fmt: skip
    parser.add_argument("--lr", type=float, default=1e-3, help="Constant step size")
    parser.add_argument("--quick", action="store_true", help="5x2, Constant rows only")
    parser.add_argument("--out", help="also write the JSON lines to this file")
    args = parser.parse_args()
    steps, repeats = (5, 2) if args.quick else (args.steps, args.repeats)

    start = time.perf_counter()
    points = make_points()
    model = eqx.nn.MLP(2, "scalar", 20, 2, activation=jnp.tanh, key=jax.random.key(0))
    problem = ng.Problem(model, ng.LeastSquares(target, points), ng.GaussNewton())
    grams = {
        "Cholesky": ng.Cholesky(), "Pinv": ng.Pinv(), "QR": ng.QR(), "CG": ng.CG(),
        "CG(max_steps=50)": ng.CG(max_steps=50), "Woodbury": ng.Woodbury(),
        "AutoGram": ng.AutoGram(),
    }  # fmt: skip
    const = f"Constant({args.lr:g})"
    rules = {const: ng.Constant(args.lr), "LogGrid()": ng.LogGrid()}
    peers = [("jacrev", const, args.lr), ("jacrev", "LogGrid (vmap)", None),
             ("vmap(grad)", "LogGrid (vmap)", None)]  # fmt: skip
    if args.quick:  # compiling dominates: only the direction costs (Constant rows)
        rules.pop("LogGrid()")
        peers = peers[:1]
    methods = [(f"NaturalGradient({g})", r, ng.NaturalGradient(grams[g], rules[r]))
               for g in grams for r in rules]  # fmt: skip
    methods += [("GradientDescent", r, ng.GradientDescent(rules[r])) for r in rules]
    cases = [(n, r, ngflow_run(problem, m, steps)) for n, r, m in methods]
    cases += [(f"peer: J by {j}, lstsq(G)", r, peer_run(model, points, lr, steps, j))
              for j, r, lr in peers]  # fmt: skip

    info = dict(
        n_points=int(points.shape[0]), n_params=ng.num_parameters(model),
        points="30x30 interior grid (spacing 1/31) + 4x30 boundary midpoints",
        target="sin(pi x) sin(pi y)", dtype="float64", steps=steps, repeats=repeats,
        initial_loss=float(problem.loss(model)),
        date=datetime.datetime.now().isoformat(timespec="seconds"),
        jax_version=jax.__version__, ngflow_version=ng.__version__,
        cpu_count=os.cpu_count(), platform=platform.platform(),
        device=str(jax.devices()[0]), python=platform.python_version(),
        openblas_num_threads=os.environ.get("OPENBLAS_NUM_THREADS"),
    )  # fmt: skip
    intro = f"steps={steps} repeats={repeats} loss(theta0)={info['initial_loss']:.4e};"
    print(intro, f"jax {jax.__version__},", os.cpu_count(), "CPUs,", info["platform"])

    # First calls compile. Then `repeats` rounds over all cases, so that a burst of load
    # from other processes spreads over the rows instead of spoiling one of them.
    print(f"compiling {len(cases)} cases, then {repeats} timed rounds...", flush=True)
    res = [dict(first_call_s=c[2]()[0], per_step_ms=[], recompiles=0) for c in cases]
    loads = [os.getloadavg()[0]]  # other processes on the machine distort timings
    for _ in range(repeats):
        for (*_, run), r in zip(cases, res, strict=True):
            before = len(_compiles)
            seconds, outcome = run()
            r["recompiles"] += len(_compiles) - before
            r["per_step_ms"].append(1000 * seconds / steps)
            r.update(outcome)
        loads.append(os.getloadavg()[0])

    header = f"{'method':<34} {'step rule':<15} {'median ms':>10} {'min ms':>8} "
    header += f"{'1st call s':>10} {'final loss':>11}  notes"
    print(header + "\n" + "-" * len(header))
    rows = []
    for (name, rule, _), r in zip(cases, res, strict=True):
        row = dict(method=name, step_rule=rule, median_ms=statistics.median(
            r["per_step_ms"]), min_ms=min(r["per_step_ms"]), **r, load_avg_1min=loads,
            **info)  # fmt: skip
        rows.append(row)
        shown = [k for k in ("rank", "cg_steps") if k in r["stats"]]
        notes = [f"{k}={r['stats'][k]:g}" for k in shown]
        if r["status"] != "successful":
            notes.append(f"{r['status'].upper()} after {r['num_steps']} steps")
        if r["recompiles"]:
            notes.append(f"RECOMPILED x{r['recompiles']}")
        print(f"{name:<34} {rule:<15} {row['median_ms']:>10.2f} {row['min_ms']:>8.2f} "
              f"{r['first_call_s']:>10.2f} {r['final_loss']:>11.4e}  "
              + " ".join(notes))  # fmt: skip
    lines = [json.dumps(row) for row in rows]
    print("\n" + "\n".join(lines))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"\ntotal time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
