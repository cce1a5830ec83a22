"""Ensembles vs a loop of solves: `ng.solve(..., over=...)` against one `ng.solve` per
member, on the same problems, in one run.

Three ways: a loop of solves, an ensemble whose members run one after another in one
program (`vmap=False`, the CPU default) and one `vmap` (`vmap=True`). Two regimes: many
small solves (per-call overhead and compilation dominate: a β × seed
sweep of gradient descent with momentum on a small least-squares fit) and a few large
ones (the linear algebra dominates: the default natural gradient on catalogue problems
over seeds). Prints wall and compile seconds of each and the largest difference of the
final losses (an ensemble is the same arithmetic in a batched program: equal up to
rounding, which a search's accept/reject decisions can amplify over many steps).

    python benchmarks/ensembles.py [--repeats 3] [--quick]
"""

import argparse
import statistics
import time
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import ngflow as ng


def stack(trees):
    """Stack pytrees of one structure (arrays along a new leading axis)."""
    static = eqx.filter(trees[0], eqx.is_array, inverse=True)
    arrays = [eqx.filter(t, eqx.is_array) for t in trees]
    return eqx.combine(jax.tree.map(lambda *a: jnp.stack(a), *arrays), static)


def member_problem(problem):
    return problem


def heavy_ball(beta):
    return ng.HeavyBall(ng.Cholesky(1e-6), ng.Constant(0.2), beta)


def first(pair):
    return pair[0]


def heavy_ball_of_second(pair):
    return heavy_ball(pair[1])


def small_sweep(n_beta, n_seeds):
    """n_beta × n_seeds heavy-ball runs on a [1, 8, 1] tanh fit of sin on 32 points."""
    points = jnp.linspace(-1, 1, 32)[:, None]
    target = lambda x: jnp.sin(3 * x[0])
    loss = ng.LeastSquares(target, points)
    problems, betas = [], []
    for seed in range(n_seeds):
        model = eqx.nn.MLP(
            1, "scalar", 8, 1, activation=jnp.tanh, key=jax.random.key(seed)
        )
        for beta in np.linspace(0.0, 0.9, n_beta):
            problems.append(ng.Problem(model, loss, ng.L2(points)))
            betas.append(beta)
    return problems, jnp.asarray(betas), 100


def catalogue(name, n_seeds, quick):
    bs = [ng.problems.get(name, seed=s, quick=quick) for s in range(n_seeds)]
    return [b.problem for b in bs], bs[0].steps


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def compare(
    label, problems, steps, method=None, betas=None, repeats=3, vmap_momentum=False
):
    over = stack(problems)
    if betas is None:
        members = [(p, method) for p in problems]
        ensemble = dict(problem=member_problem, method=method, over=over)
    else:
        members = [(p, heavy_ball(b)) for p, b in zip(problems, betas, strict=True)]
        ensemble = dict(problem=first, method=heavy_ball_of_second, over=(over, betas))
    options = dict(steps=steps, progress=False, throw=False)
    runs = {
        "loop": lambda: [ng.solve(p, m, **options) for p, m in members],
        "map": lambda: ng.solve(**ensemble, **options, vmap=False),
        "vmap": lambda: ng.solve(**ensemble, **options, vmap=True),
    }
    if betas is not None and not vmap_momentum:
        # A vmapped HeavyBall batches its Cholesky inside the loop: with 100 members on
        # 2 cores jaxlib's parallel batch map deadlocked XLA's CPU pool (Dec 2026).
        del runs["vmap"]
    row = f"{label:<34} {len(problems):>4}"
    finals = None
    for name, run in runs.items():
        out, first_time = timed(run)
        compiled = [timed(run)[1] for _ in range(repeats)]
        if name == "loop":
            compile_time = sum(s.compile_time for s in out)
            finals = np.array([float(s.final_loss) for s in out])
            diff = 0.0
        else:
            compile_time = out.compile_time
            diff = np.nanmax(np.abs(np.log10(np.asarray(out.final_loss) / finals)))
        row += (
            f" | {first_time:>7.2f} {compile_time:>7.2f} "
            f"{statistics.median(compiled):>7.2f} {diff:>6.2f}"
        )
    print(row, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--vmap-momentum", action="store_true", help="also vmap the heavy-ball sweep"
    )
    args = parser.parse_args()
    # β = 0.9 overshoots
    warnings.filterwarnings("ignore", "ngflow.solve: the loss ended")
    cols = f"{'1st':>7} {'compile':>7} {'run':>7} {'Δ':>6}"
    print(f"{'':<39} | {'loop of solves':<29} | {'ensemble, map':<29} | ensemble, vmap")
    print(f"{'sweep':<34} {'runs':>4} | {cols} | {cols} | {cols}")
    print(
        "(seconds: 1st call, its compilation, median of the compiled repeats; Δ = max "
        "|log10(ensemble / loop)| of the final losses)",
        flush=True,
    )
    problems, betas, steps = small_sweep(
        4 if args.quick else 10, 4 if args.quick else 10
    )
    compare(
        "heavy ball, β × seed (small)",
        problems,
        steps,
        betas=betas,
        repeats=args.repeats,
        vmap_momentum=args.vmap_momentum,
    )
    for name in ("least_squares", "poisson2d"):
        problems, steps = catalogue(name, 4, quick=args.quick)
        compare(
            f"NaturalGradient(), {name} seeds", problems, steps,
            method=ng.NaturalGradient(), repeats=args.repeats,
        )  # fmt: skip


if __name__ == "__main__":
    main()
