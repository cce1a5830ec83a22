"""Logistic regression with badly scaled features: Fisher natural gradient vs gradient descent.

Three features with scales 1, 10 and 0.1 (plus an offset), labels drawn from a logistic
model, loss the mean cross-entropy. The Fisher metric of this model is the Hessian of
the loss (canonical link), so Fisher NGD is Newton's method (IRLS) and does not care
about the scales; gradient descent, even with the best step of a grid, crawls along the
small-scale feature. Both take the best step of a logarithmic grid, for the same steps.

The script checks that NGD gets within 1e-10 of the minimum while GD stays more than
1e-4 above it, and exits with a non-zero status otherwise. `--quick`: fewer points.
Wall time (shared 2-core CPU, incl. compiling): `--quick` 8 s, full 7 s.

    python examples/fisher.py [--quick]
"""

import os


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import ngflow as ng  # noqa: E402


class Logistic(eqx.Module):
    w: jax.Array

    def __call__(self, x):
        return x @ self.w[:3] + self.w[3]  # the logit of p(y = 1 | x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points")
    n = 200 if parser.parse_args().quick else 1000
    k1, k2 = jax.random.split(jax.random.key(0))
    x = jax.random.normal(k1, (n, 3)) * jnp.array([1.0, 10.0, 0.1])
    y = jax.random.bernoulli(k2, jax.nn.sigmoid(x @ jnp.array([1.0, -0.2, 8.0]) + 0.5))
    loss = ng.CrossEntropy(x, y.astype(int), family=ng.Bernoulli())
    problem = ng.Problem(Logistic(jnp.zeros(4)), loss, ng.Fisher(x, ng.Bernoulli()))

    steps, fisher = 100, ng.NaturalGradient(ng.Cholesky(0.0), ng.LogGrid())
    gd = ng.solve(problem, ng.GradientDescent(ng.LogGrid(31, 1e-6, 100.0)), steps=steps)
    ngd = ng.solve(problem, fisher, steps=steps)
    best = float(jnp.minimum(gd.losses.min(), ngd.losses.min()))
    gd_gap, ngd_gap = float(gd.final_loss) - best, float(ngd.losses[20]) - best
    print(f"{n} points, {steps} steps; minimum loss {best:.10f}")
    print(f"GD  loss − min after {steps} steps: {gd_gap:.2e}  ({gd.wall_time:.1f} s)")
    print(f"NGD loss − min after 20 steps:  {ngd_gap:.2e}  ({ngd.wall_time:.1f} s)")
    print(f"NGD within 1e-10 from step {int(jnp.argmax(ngd.losses - best < 1e-10))}")
    if not (ngd_gap < 1e-10 and gd_gap > 1e-4):
        raise SystemExit("FAILED: expected NGD within 1e-10 at step 20, GD > 1e-4 off")
    print(
        f"check passed: NGD gap {ngd_gap:.1e} < 1e-10 at step 20, GD gap {gd_gap:.1e} > 1e-4"
    )


if __name__ == "__main__":
    main()
