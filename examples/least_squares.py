"""Least squares with a shallow network: natural gradient vs gradient descent (seed 000 §2.1).

Fits g(x, y) = sin(πx)sin(πy) + sin(3πx/2)sin(3πy/2) on [0, 1]² with a [2, 30, 1] tanh
MLP, minimising 1/2 ‖u - g‖² (Monte Carlo mean over uniform points). Gradient descent and
the minimum-norm L² natural gradient (`ng.Pinv()`) both take the best step of a
logarithmic grid of 30 step sizes in [1e-6, 1], for the same number of steps.

The script checks the claim that NGD ends at least 100× below GD and exits with a
non-zero status otherwise. `--quick` uses fewer points and steps (still checked).
Wall time (shared 2-core CPU, incl. compiling): `--quick` 10 s, full 11 s.

    python examples/least_squares.py [--quick]
"""

import os


# One OpenBLAS thread: on a busy 2-core CPU, threaded LAPACK made each SVD 10-100x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import ngflow as ng  # noqa: E402


def g(x):
    a, b = jnp.pi * x[0], jnp.pi * x[1]
    return jnp.sin(a) * jnp.sin(b) + jnp.sin(1.5 * a) * jnp.sin(1.5 * b)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and steps")
    quick = parser.parse_args().quick
    n_points, steps = (200, 80) if quick else (500, 300)

    points = jax.random.uniform(jax.random.key(0), (n_points, 2))
    model = eqx.nn.MLP(2, "scalar", 30, 1, activation=jnp.tanh, key=jax.random.key(1))
    problem = ng.Problem(model, ng.LeastSquares(g, points), ng.L2(points))
    grid = ng.LogGrid(30, 1e-6)  # 30 step sizes from 1 down to 1e-6

    gd = ng.solve(problem, ng.GradientDescent(grid), steps=steps)
    ngd = ng.solve(problem, ng.NaturalGradient(ng.Pinv(), grid), steps=steps)

    gd_loss, ngd_loss = float(gd.final_loss), float(ngd.final_loss)
    ratio = gd_loss / ngd_loss
    print(f"{n_points} Monte Carlo points, {steps} steps")
    print(f"GD  final loss {gd_loss:.3e}  ({gd.wall_time:.1f} s)")
    print(f"NGD final loss {ngd_loss:.3e}  ({ngd.wall_time:.1f} s)")
    print(f"GD / NGD = {ratio:.3e}")
    if not ratio >= 100:
        raise SystemExit(f"FAILED: NGD not 100x below GD (ratio {ratio:.3g})")
    print(f"check passed: GD / NGD final loss = {ratio:.1e} >= 100")


if __name__ == "__main__":
    main()
