"""Natural momentum escapes a local minimum where NGD stays (seed 003's toy example).

One parameter θ, v_θ = θ·1 + θ²·√2 sin 2πx (a parabola in function space), target
u = 0.3 + 2·√2 sin 2πx, loss ½‖u − v‖²_{L²}: along θ the loss has a local minimum at
θ ≈ −1.17 and the global one at θ ≈ 1.27. From θ = −2.5, natural gradient descent
(constant step 0.2) settles in the local minimum; natural heavy-ball with the last
momentum carried by the cross-Gram (LM, β = 0.95) and natural Nesterov cross the
barrier. Exits non-zero if that is not what happens.
Wall time (shared 2-core CPU, incl. compiling): `--quick` 8 s, full 6 s.

    python examples/momentum.py [--quick]
"""

import argparse

import jax.numpy as jnp

import ngflow as ng


def basis(x):
    return jnp.stack([jnp.ones_like(x), jnp.sqrt(2.0) * jnp.sin(2 * jnp.pi * x)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    steps = 150 if parser.parse_args().quick else 300

    points = (jnp.arange(32) + 0.5) / 32  # midpoint rule: exact for this basis
    u = lambda x: 0.3 + 2.0 * jnp.sqrt(2.0) * jnp.sin(2 * jnp.pi * x)
    b, b_perp = jnp.array([[1.0, 0.0]]), jnp.array([[[0.0, 2.0]]])  # θb + ½θ²(2b⊥)
    model = ng.QuadraticModel(basis, b, b_perp, theta=jnp.array([-2.5]))
    problem = ng.Problem(model, ng.LeastSquares(u, points), ng.GaussNewton())

    step = ng.Constant(0.2)
    methods = {
        "NGD": ng.NaturalGradient(ng.Pinv(), step),
        "heavy-ball LM": ng.HeavyBall(
            ng.Pinv(), step, beta=0.95, transport=ng.LastMomentum()
        ),
        "Nesterov": ng.Nesterov(ng.Pinv(), step, beta=0.95),
    }
    final = {}
    for name, method in methods.items():
        sol = ng.solve(problem, method, steps=steps)
        final[name] = (float(sol.model.theta[0]), float(sol.final_loss))
        print(f"{name:14s} θ = {final[name][0]:+.4f}  loss {final[name][1]:.4f}")
    stuck = final["NGD"][0] < 0 and final["NGD"][1] > 1.2  # local minimum: loss 1.280
    escaped = all(
        final[k][0] > 0 and final[k][1] < 0.55 for k in ("heavy-ball LM", "Nesterov")
    )
    if not (stuck and escaped):  # global minimum: loss 0.5454
        raise SystemExit(
            "FAILED: expected NGD in the local minimum, momentum in the global one"
        )
    print(
        f"check passed: NGD stuck (θ {final['NGD'][0]:+.2f} < 0, loss {final['NGD'][1]:.3f} > 1.2); "
        "heavy-ball and Nesterov escaped (θ > 0, loss < 0.55)"
    )


if __name__ == "__main__":
    main()
