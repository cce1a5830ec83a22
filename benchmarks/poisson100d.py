"""Poisson in 100 dimensions: natural gradient as a user gets it against Adam, per wall clock.

The largest problem of the KFAC-for-PINNs and SPRING papers (there: rel. L² 4.3e-3 and
3.6e-3 after hours on a GPU, with [100, 768, 768, 512, 512, 1] networks). Here the
catalogue's `ng.problems.poisson(dim=100)`: $-\\Delta u = \\pi^2\\sum_i\\sin(\\pi x_i)$ on
$(0, 1)^{100}$, $u^* = \\sum_i\\sin(\\pi x_i)$ on the boundary, a [100, w, 1] tanh network
(`--width`, default 128: p = 13 057), `--interior` + `--boundary` uniform points redrawn at
every step (default 1 000 + 200), energy metric. The relative L² error is on the
catalogue's 10 000 fixed points of the cube.

Rows: `auto` is `NaturalGradient()` (what `AutoGram` takes is printed; here the exact
sample-space step would cost ~5·10¹⁰ flops, so it takes `Sketch`), `adam` is
`ng.Optax(optax.adam(lr))` through the same `ng.solve`, on the same redrawn points. Both
run for about the same wall-clock budget after compilation: one `ng.solve` each, whose
number of steps is the budget over the time per step of a short run (the seconds
actually taken are printed).

    python benchmarks/poisson100d.py --budget 60       # a minute each
    python benchmarks/poisson100d.py --out results/poisson100d.json   # 30 min each
"""

import os


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402

import jax  # noqa: E402
import optax  # noqa: E402

import ngflow as ng  # noqa: E402


def run(b, method, budget):
    """One `ng.solve` of about `budget` seconds: the steps are the budget over the time
    per step of a short compiled run (so optimiser state, the trust region's radius and
    the point stream are those of one solve). Returns the record."""
    monitors = {"error": b.error}

    def call(steps):
        return ng.solve(b.problem, method, steps=steps, key=b.key, monitors=monitors,
                        throw=False, progress=False)  # fmt: skip

    call(3)  # compile
    probe = call(3)
    per_step = probe.wall_time / 3
    steps = max(1, int(budget / per_step))
    sol = call(steps)
    errors = [float(e) for e in sol.monitors["error"]]
    taken = int(sol.num_steps)
    return dict(
        steps=taken,
        seconds=float(sol.wall_time - sol.compile_time),
        compile_s=float(sol.compile_time),
        ms_per_step=1e3 * float(sol.wall_time - sol.compile_time) / max(taken, 1),
        error=errors[taken],
        best_error=min(errors[: taken + 1]),
        errors=errors[: taken + 1],
        status=str(sol.result),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--interior", type=int, default=1000)
    parser.add_argument("--boundary", type=int, default=200)
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds per row")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--solves", nargs="*", default=["auto", "adam"])
    parser.add_argument("--out", help="write the records as JSON here")
    args = parser.parse_args()
    b = ng.problems.poisson(
        dim=args.dim,
        width=args.width,
        num_interior=args.interior,
        num_boundary=args.boundary,
    )
    flat = ng.FlatModel(b.problem.model)
    n = args.interior + args.boundary
    p = int(flat.theta0.shape[0])
    describe = ng.AutoGram().describe(n=n, p=p)
    print(f"{platform.platform()}; {jax.devices()[0].platform}; {os.cpu_count()} CPUs; "
          f"d={args.dim}, p={p}, N={n} per step; auto: {describe}", flush=True)  # fmt: skip
    methods = {
        "auto": ng.NaturalGradient(),
        "adam": ng.Optax(optax.adam(args.lr)),
    }
    records = {}
    for name in args.solves:
        rec = run(b, methods[name], args.budget)
        records[name] = rec
        print(f"{name:5} {rec['steps']:6d} steps, {rec['ms_per_step']:8.1f} ms/step, "
              f"rel. L2 {rec['error']:.3e} (best {rec['best_error']:.3e}) after "
              f"{rec['seconds']:.0f} s (compile {rec['compile_s']:.0f} s)", flush=True)  # fmt: skip
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(dict(vars(args), p=p, N=n, auto=describe,
                           backend=jax.devices()[0].platform, records=records), fh)  # fmt: skip


if __name__ == "__main__":
    main()
