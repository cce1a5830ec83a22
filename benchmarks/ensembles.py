"""Ensembles vs a loop of solves: `ng.solve(..., over=...)` against one `ng.solve` per
member, on the same problems, in one run.

Two regimes: many small solves (per-call overhead and compilation dominate: a β × seed
sweep of gradient descent with momentum on a small least-squares fit) and a few large
ones (the linear algebra dominates: the default natural gradient on catalogue problems
over seeds). Prints wall and compile seconds of both and the largest difference of the
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


def compare(label, problems, steps, method=None, betas=None, repeats=3):
    over = stack(problems)
    if betas is None:
        run_loop = lambda: [
            ng.solve(p, method, steps=steps, progress=False) for p in problems
        ]
        run_ens = lambda: ng.solve(
            member_problem, method, steps=steps, over=over, progress=False
        )
    else:
        run_loop = lambda: [
            ng.solve(p, heavy_ball(b), steps=steps, progress=False, throw=False)
            for p, b in zip(problems, betas, strict=True)
        ]
        both = (over, betas)
        run_ens = lambda: ng.solve(
            first, heavy_ball_of_second, steps=steps, over=both,
            progress=False, throw=False,
        )  # fmt: skip
    first_loop, t_loop0 = timed(run_loop)
    first_ens, t_ens0 = timed(run_ens)
    loops = [timed(run_loop)[1] for _ in range(repeats)]
    enss = [timed(run_ens)[1] for _ in range(repeats)]
    finals = np.array([float(s.final_loss) for s in first_loop])
    diff = np.nanmax(np.abs(np.log10(np.asarray(first_ens.final_loss) / finals)))
    compile_loop = sum(s.compile_time for s in first_loop)
    print(
        f"{label:<34} {len(problems):>4} {t_loop0:>9.2f} {compile_loop:>8.2f} "
        f"{statistics.median(loops):>9.2f} {t_ens0:>9.2f} {first_ens.compile_time:>8.2f} "
        f"{statistics.median(enss):>9.2f} {diff:>9.2f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", "ngflow.solve: the loss ended")  # β = 0.9 overshoots
    print(
        f"{'sweep':<34} {'runs':>4} {'loop 1st':>9} {'compile':>8} {'loop':>9} "
        f"{'ens 1st':>9} {'compile':>8} {'ens':>9} {'final Δ':>9}"
    )
    print(
        "(seconds; 'loop'/'ens' = median of the repeats, compiled; final Δ = max |log10(ensemble / loop)| of the final losses)"
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
    )
    for name in ("least_squares", "poisson2d"):
        problems, steps = catalogue(name, 4, quick=args.quick)
        compare(
            f"NaturalGradient(), {name} seeds", problems, steps,
            method=ng.NaturalGradient(), repeats=args.repeats,
        )  # fmt: skip


if __name__ == "__main__":
    main()
