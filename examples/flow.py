"""Continuous-time natural gradient: the flow dθ/dt = −G⁻¹∇L integrated by diffrax.

Fits sin(πx)sin(πy) with a [2, 8, 1] tanh MLP on 64 random points (½ mean squared
error). The natural gradient flow contracts the function-space error like e^{−t}
(loss like e^{−2t}) wherever the tangent space holds the residual, so it reaches a loss
tolerance at a time of order log(L₀/tol)/2; the gradient flow, slowed by the
ill-conditioned G, is still far above it at the same time. The event `loss_tol` stops
the integration. Exits non-zero if the natural flow misses the tolerance by t = 20 or
the gradient flow reaches it.
Wall time (shared 2-core CPU, incl. compiling): `--quick` 13 s, full 16 s.

    python examples/flow.py [--quick]
"""

import argparse

import equinox as eqx
import jax
import jax.numpy as jnp

import ngflow as ng


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="looser tolerance")
    tol = 1e-4 if parser.parse_args().quick else 1e-6

    points = jax.random.uniform(jax.random.key(0), (64, 2))
    target = lambda x: jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])
    model = eqx.nn.MLP(2, "scalar", 8, 1, activation=jnp.tanh, key=jax.random.key(1))
    problem = ng.Problem(model, ng.LeastSquares(target, points), ng.L2(points))

    # Default Gram solve Cholesky(1e-8): damping keeps the adaptive steps from collapsing.
    natural = ng.solve(problem, ng.NaturalGradientFlow(), t1=20.0, loss_tol=tol)
    plain = ng.solve(problem, ng.GradientFlow(), t1=float(natural.t_final))
    print(f"loss at t=0: {float(natural.losses[0]):.3e}; tolerance {tol:g}")
    print(
        f"natural gradient flow reaches it at t = {float(natural.t_final):.2f} "
        f"({int(natural.stats['num_steps'])} Tsit5 steps, {natural.wall_time:.1f} s)"
    )
    print(f"gradient flow at that time: loss {float(plain.final_loss):.3e}")
    if not (float(natural.final_loss) <= tol and float(plain.final_loss) > 10 * tol):
        raise SystemExit(
            "FAILED: expected the natural flow to reach the tolerance first"
        )
    print(
        f"check passed: natural flow loss {float(natural.final_loss):.1e} <= {tol:g}, "
        f"gradient flow {float(plain.final_loss):.1e} > {10 * tol:g}"
    )


if __name__ == "__main__":
    main()
