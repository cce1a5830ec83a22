"""Energy natural gradient for the heat equation, a space-time PINN.

Solves u_t = ¼ u_xx for (t, x) ∈ [0, 1]², u(0, x) = sin(πx), u(t, 0) = u(t, 1) = 0
(exact u* = exp(−π²t/4) sin(πx)) with a [2, 20, 20, 1] tanh PINN and the default natural
gradient. Time is coordinate 0: the residual is `ng.time_derivative(u, z) −
¼ ng.laplacian(u, z, axes=(1,))` on a 28×28 interior grid; the initial (30 points) and
side (60 points) conditions have weight 100, as in the Poisson example. A [2, 32, 1] net
was less reliable: on 5 seeds its error after 200 steps ranged from 2e-6 to 2e-2.

Measured (seeds 0-9, 200 steps): relative L² errors on a 100×100 grid between 8e-7 and
2.9e-6; some seeds sit on a plateau for 100-150 steps first. Claim: error ≤ 1e-5 after
200 steps; `--quick` (14×14 interior grid, 100 steps): ≤ 1e-4. Exits non-zero if the
claim fails.
Wall time (shared 2-core CPU, incl. compiling): `--quick` 13 s, full 34 s.

    python examples/heat.py [--quick] [--seed S]
"""

import os


# One OpenBLAS thread: on a busy 2-core CPU, threaded LAPACK made each SVD 10-100x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import ngflow as ng  # noqa: E402


def u_star(z):
    return jnp.exp(-(jnp.pi**2) * z[0] / 4) * jnp.sin(jnp.pi * z[1])


def heat(u, z):  # z = (t, x)
    return ng.time_derivative(u, z) - 0.25 * ng.laplacian(u, z, axes=(1,))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller grid, fewer steps"
    )
    parser.add_argument("--seed", type=int, default=0, help="initialisation seed")
    args = parser.parse_args()
    n, steps, tol = (14, 100, 1e-4) if args.quick else (28, 200, 1e-5)

    domain = ng.Box([0, 0], [1, 1])  # (t, x)
    edge = domain.boundary_grid(n + 1)
    at_t0 = edge[edge[:, 0] == 0]  # u(0, x) = sin(πx)
    sides = edge[(edge[:, 1] == 0) | (edge[:, 1] == 1)]  # u(t, 0) = u(t, 1) = 0
    loss = (
        ng.Residual(heat, domain.interior_grid(n))
        + ng.Residual(lambda u, z: u(z) - jnp.sin(jnp.pi * z[1]), at_t0, weight=100.0)
        + ng.Residual(lambda u, z: u(z), sides, weight=100.0)
    )
    model = eqx.nn.MLP(
        2, "scalar", 20, 2, activation=jnp.tanh, key=jax.random.key(args.seed)
    )
    problem = ng.Problem(model, loss, ng.Energy())
    error = ng.RelativeL2Error(u_star, domain.grid(100))
    sol = ng.solve(
        problem, ng.NaturalGradient(), steps=steps, monitors={"error": error}
    )

    err, err0 = float(sol.monitors["error"][-1]), float(sol.monitors["error"][0])
    print(
        f"{n}x{n} interior, {len(at_t0)} initial, {len(sides)} side points; {steps} steps"
    )
    print(f"relative L2 error {err:.3e}  (initial {err0:.3e})")
    print(f"final loss {float(sol.final_loss):.3e}, wall time {sol.wall_time:.1f} s")
    if not err <= tol:
        raise SystemExit(f"FAILED: relative L2 error {err:.3g} > {tol:g}")
    print(f"check passed: relative L2 error {err:.2e} <= {tol:g} after {steps} steps")


if __name__ == "__main__":
    main()
