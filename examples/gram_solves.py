"""Gram solves: one PINN solved with a p×p, an N×N and a matrix-free solve, and AutoGram.

Poisson -Δu = 2π² sin(πx) sin(πy) on [0, 1]², u = 0 on the boundary, energy natural
gradient. The [2, 60, 60, 1] network has more parameters (p = 3 901) than points
(N = 1 024), so the sample-space `Woodbury` (an N×N system, K = EEᵀ built from chunks of
256 points) is the cheap exact solve; `Cholesky` forms the p×p Gram matrix G; the CG row
never forms E, G or K (Nyström-preconditioned, E applied by jvp/vjp).

Checks: Cholesky and Woodbury solve the same damped system, so their first steps agree
(1e-6); every solve gets the relative L² error below 1e-3. `--quick`: width 40
(p = 1 801), 40 steps.
Wall time (shared 2-core CPU, incl. compiling): `--quick` 72-85 s; full: not measured.

    python examples/gram_solves.py [--quick]
"""

import os


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import ngflow as ng  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="width 40, fewer steps")
    width, steps = (40, 40) if parser.parse_args().quick else (60, 100)
    f = lambda x: 2 * jnp.pi**2 * jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])
    box = ng.Box([0, 0], [1, 1])
    interior = ng.Residual(
        lambda u, x: ng.laplacian(u, x) + f(x), box.interior_grid(30)
    )
    boundary = ng.Residual(lambda u, x: u(x), box.boundary_grid(31), weight=100.0)
    loss = interior + boundary  # N = 900 + 124 = 1024 residuals
    model = eqx.nn.MLP(
        2, "scalar", width, 2, activation=jnp.tanh, key=jax.random.key(0)
    )
    problem = ng.Problem(model, loss, ng.Energy())
    error = ng.RelativeL2Error(lambda x: f(x) / (2 * jnp.pi**2), box.grid(50))
    print(ng.AutoGram().describe(n=1024, p=ng.FlatModel(model).theta0.shape[0]))

    solves = {
        "Cholesky(1e-8)         G, p×p": ng.Cholesky(1e-8),
        "Woodbury(1e-8, chunk)  K, N×N": ng.Woodbury(1e-8, chunk=256),
        "CG + Nystrom(100)      matrix-free": ng.AutoGram.cg(chunk=256),
        "AutoGram()": ng.AutoGram(),
    }
    first, errors = {}, {}
    for name, gram in solves.items():
        sol = ng.solve(
            problem, ng.NaturalGradient(gram, ng.LogGrid()), steps=steps, progress=False
        )
        first[name], errors[name] = float(sol.losses[1]), float(error(sol.model))
        print(
            f"{name:36s} loss after 1 step {first[name]:.6e}, after {steps}: "
            f"{float(sol.final_loss):.2e}, rel. L2 {errors[name]:.1e}, {sol.wall_time:.1f} s"
        )
    chol, wood = list(first.values())[:2]
    if abs(chol - wood) > 1e-6 * chol or max(errors.values()) > 1e-3:
        raise SystemExit(
            f"FAILED: first steps {chol:.6e} vs {wood:.6e}, errors {errors}"
        )
    print(
        f"check passed: first-step Cholesky/Woodbury gap {abs(chol - wood) / chol:.1e} <= 1e-6, "
        f"worst rel. L2 error {max(errors.values()):.1e} <= 1e-3"
    )


if __name__ == "__main__":
    main()
