"""Natural gradient on resampled minibatches: a convection-dominated 1D PINN (seed 003).

Solves −ε u″ + u′ = 1 on (0, 1), u(0) = u(1) = 0, ε = 0.05 (a boundary layer of width ~ε
at x = 1; exact u = x − (e^{(x−1)/ε} − e^{−1/ε}) / (1 − e^{−1/ε})) with a [1, 20, 20, 1]
tanh PINN: the catalogue's `ng.problems.convection_diffusion`. The PDE residual is a
mean over 200 uniform points redrawn every step (`ng.Box(0, 1).sampler(200, every=1)`,
drawn from `b.key`), plus the two end points; error on 2001 points.

The method is the default natural gradient: a trust region on the Levenberg–Marquardt
curve, so each step picks its own damping. In 1D the tanh features are nearly collinear
(the tangent map has a few large singular values and many tiny ones); the former default,
minimum-norm with a 1e-7 cutoff and a step-length grid, stepped far along near-null
directions, found no step that lowered the loss and stalled at relative error 0.4-1.3,
which is why this example used a damped `ng.Cholesky(1e-5)` until the default changed.

Measured (seeds 0-4, 400 steps): relative L² errors 5.5e-7 to 1.3e-5 (the points are
redrawn every step, so the trust region walks up only while the loss falls: reaching 1e-4
by step 44-54, then fluctuating with the minibatch between 1e-6 and 3e-5). Claim: error
≤ 5e-5 after 400 steps; `--quick` (100 points per step, 501 error points, 200 steps;
seeds 0-4 ended at 2.8e-6 to 8.2e-5): ≤ 2e-4. Exits non-zero if the claim fails.
Wall time (shared 2-core CPU, incl. compiling): `--quick` 6 s, full 9 s.

    python examples/convection_diffusion.py [--quick] [--seed S]
"""

import os


# One OpenBLAS thread: on a busy 2-core CPU, threaded LAPACK made each solve much slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402

import ngflow as ng  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="100 points per step, fewer steps"
    )
    parser.add_argument("--seed", type=int, default=0, help="initialisation seed")
    args = parser.parse_args()
    tol = 2e-4 if args.quick else 5e-5

    # −ε u″ + u′ − 1 on fresh uniform points each step, u(0) = u(1) = 0; ng.Energy()
    b = ng.problems.convection_diffusion(seed=args.seed, quick=args.quick)
    sol = b.solve(ng.NaturalGradient())  # b.steps steps, minibatches from b.key

    err, err0 = float(sol.monitors["error"][-1]), float(sol.monitors["error"][0])
    print(f"{b.num_residuals - 2} points redrawn every step + 2 ends, "
          f"{b.num_parameters} parameters, {b.steps} steps, seed {args.seed}")  # fmt: skip
    print(f"relative L2 error {err:.3e}  (initial {err0:.3e})")
    print(
        f"final minibatch loss {float(sol.final_loss):.3e}, wall time {sol.wall_time:.1f} s"
    )
    if not err <= tol:
        raise SystemExit(f"FAILED: relative L2 error {err:.3g} > {tol:g}")
    print(f"check passed: relative L2 error {err:.2e} <= {tol:g} after {b.steps} steps")


if __name__ == "__main__":
    main()
