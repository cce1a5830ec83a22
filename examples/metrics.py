"""Metrics: one least-squares problem under four metrics, and which of them coincide.

Fits sin(πx)sin(πy) on [0, 1]² with a [2, 16, 1] tanh network, loss ½‖u − g‖² (mean
over 300 points), the same Gram solve (`Cholesky(1e-8)`) and step rule for every metric:

- `ng.Euclidean()`: G = I, natural gradient is gradient descent;
- `ng.L2(points)`: the L² metric on the loss's points, i.e. the projection of the
  functional gradient u − g on the tangent space;
- `ng.GaussNewton()`: JᵀJ of the residual. With a least-squares loss on the same points
  and weights it IS the L² metric, so the iterates agree to rounding;
- `ng.H1(points)`: adds ∇ₓu·∇ₓv, a different geometry (and different iterates).

Checks: the first L² and Gauss–Newton steps agree to 1e-10 (later ones drift apart by
rounding, ~1e-5 after 40 steps) and both end at least 100× below gradient descent. H1 is
printed, not checked: on this L² loss it made less progress than GD in 40 steps.
`--quick`: fewer steps.
Wall time (shared 2-core CPU, incl. compiling): `--quick` 14-18 s, full 12 s (load varies).

    python examples/metrics.py [--quick]
"""

import os


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import ngflow as ng  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    steps = 40 if parser.parse_args().quick else 150
    points = jax.random.uniform(jax.random.key(0), (300, 2))
    g = lambda x: jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])
    model = eqx.nn.MLP(2, "scalar", 16, 1, activation=jnp.tanh, key=jax.random.key(1))
    loss = ng.LeastSquares(g, points)
    method = ng.NaturalGradient(ng.Cholesky(1e-8), ng.LogGrid(30, 1e-6))

    sols = {}
    for name, metric in [
        ("Euclidean", ng.Euclidean()),
        ("L2", ng.L2(points)),
        ("GaussNewton", ng.GaussNewton()),
        ("H1", ng.H1(points)),
    ]:
        sols[name] = ng.solve(
            ng.Problem(model, loss, metric),
            method,
            steps=steps,
            save_params=True,
            progress=False,
        )
        print(f"{name:12s} final loss {float(sols[name].final_loss):.3e}")
    gap = np.max(np.abs(sols["L2"].params[1] - sols["GaussNewton"].params[1]))
    print(f"max |θ_L2 − θ_GN| after one step: {gap:.1e}")
    gd = float(sols["Euclidean"].final_loss)
    if gap > 1e-10 or any(
        float(sols[n].final_loss) > gd / 100 for n in ("L2", "GaussNewton")
    ):
        raise SystemExit(
            "FAILED: L2 and Gauss-Newton differ, or one is not 100x below GD"
        )
    worst = max(float(sols[n].final_loss) for n in ("L2", "GaussNewton"))
    print(
        f"check passed: step-1 gap {gap:.1e} <= 1e-10; L2/GN loss {worst:.1e} <= GD/100 = {gd / 100:.1e}"
    )


if __name__ == "__main__":
    main()
