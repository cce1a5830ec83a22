"""Continuous-time methods: exact solutions on a linear model, Euler = NGD, events, errors.

On the linear model $v = \\theta^\\top B\\Phi$ with the L² metric, $G$ is constant and the
function-space residual $e = v - \\Pi u$ obeys a linear ODE: $e' = -e$ for the natural
gradient flow, $e'' = -\\gamma e' - e$ for the natural heavy-ball flow. So the loss above
its minimum is known in closed form.
"""

import pathlib
import runpy
import sys

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ngflow as ng

from .helpers import basis, midpoints, mlp_problem, target_1d


PTS = midpoints(40)
TIGHT = dfx.PIDController(rtol=1e-10, atol=1e-12)


def _linear(metric=None, theta=None):
    b = np.eye(5)[:3] + 0.3 * np.eye(5, k=1)[:3]  # mixed basis: G is not the identity
    model = ng.LinearModel(
        basis, b, np.array([0.5, -1.0, 2.0]) if theta is None else theta
    )
    return ng.Problem(model, ng.LeastSquares(target_1d, PTS), metric or ng.L2(PTS))


def _minimum(problem):
    sol = ng.solve(problem, ng.NaturalGradient(ng.QR(), ng.Constant(1.0)), steps=1)
    return float(sol.final_loss)


def test_natural_gradient_flow_decays_like_exp_minus_2t():
    problem = _linear()
    l_min = _minimum(problem)
    ts = jnp.linspace(0.0, 3.0, 7)
    sol = ng.solve(
        problem, ng.NaturalGradientFlow(ng.Cholesky(0.0), stepsize_controller=TIGHT),
        t1=3.0, saveat=ts,
    )  # fmt: skip
    excess = np.asarray(sol.losses) - l_min
    np.testing.assert_allclose(
        excess, excess[0] * np.exp(-2 * np.asarray(ts)), rtol=1e-6
    )


def test_natural_heavy_ball_flow_is_a_critically_damped_oscillator():
    # γ = 2: e(t) = e(0)(1 + t)e^{-t} in function space, so L − L* scales by (1+t)²e^{-2t}.
    problem = _linear()
    l_min = _minimum(problem)
    ts = jnp.linspace(0.0, 4.0, 9)
    sol = ng.solve(
        problem, ng.NaturalHeavyBallFlow(2.0, ng.Cholesky(0.0), stepsize_controller=TIGHT),
        t1=4.0, saveat=ts,
    )  # fmt: skip
    excess = np.asarray(sol.losses) - l_min
    t = np.asarray(ts)
    np.testing.assert_allclose(
        excess, excess[0] * (1 + t) ** 2 * np.exp(-2 * t), rtol=1e-6
    )


def test_gradient_flows_match_the_matrix_exponential():
    # Euclidean metric: θ' = −(Gθ − b) with G = JᵀJ/N constant: θ(t) = θ* + e^{−Gt}(θ0 − θ*).
    problem = _linear(ng.Euclidean())
    flat = ng.FlatModel(problem.model)
    loss = lambda t: problem.loss(flat.model_at(t))
    theta0 = flat.theta0
    g = jax.hessian(loss)(theta0)
    theta_star = theta0 - jnp.linalg.solve(g, jax.grad(loss)(theta0))
    t1 = 2.0
    sol = ng.solve(problem, ng.GradientFlow(stepsize_controller=TIGHT), t1=t1)
    expected = theta_star + jax.scipy.linalg.expm(-g * t1) @ (theta0 - theta_star)
    np.testing.assert_allclose(sol.params[-1], expected, rtol=1e-7, atol=1e-9)
    # Heavy-ball flow θ'' = −γθ' − (Gθ − b): compare with the same system written out.
    gamma = 1.5
    sol = ng.solve(problem, ng.HeavyBallFlow(gamma, stepsize_controller=TIGHT), t1=t1)
    a = jnp.block([[jnp.zeros_like(g), jnp.eye(3)], [-g, -gamma * jnp.eye(3)]])
    y0 = jnp.concatenate([theta0 - theta_star, jnp.zeros(3)])
    expected = theta_star + (jax.scipy.linalg.expm(a * t1) @ y0)[:3]
    np.testing.assert_allclose(sol.params[-1], expected, rtol=1e-7, atol=1e-9)


def test_explicit_euler_on_the_natural_gradient_flow_is_natural_gradient():
    problem = mlp_problem(seed=2)
    s, n = 0.1, 5
    flow = ng.solve(
        problem,
        ng.NaturalGradientFlow(ng.Cholesky(1e-3), solver=dfx.Euler(),
                               stepsize_controller=dfx.ConstantStepSize(), dt0=s),
        t1=n * s, saveat=jnp.arange(n + 1) * s,
    )  # fmt: skip
    steps = ng.solve(
        problem, ng.NaturalGradient(ng.Cholesky(1e-3), ng.Constant(s)), steps=n,
        save_params=True,
    )  # fmt: skip
    # Same arithmetic up to XLA's rounding of two different programs.
    np.testing.assert_allclose(flow.params, steps.params, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(flow.losses, steps.losses, rtol=1e-7)
    assert float(steps.losses[-1]) < float(steps.losses[0])  # a step size that descends


@pytest.mark.parametrize(
    "gram", [ng.Cholesky(1e-8), ng.Cholesky(1e-3)], ids=["1e-8", "1e-3"]
)
def test_loss_is_non_increasing_along_the_natural_gradient_flow(gram):
    # Least squares is convex in the function; along dθ/dt = −(G + λ)⁻¹∇L the loss obeys
    # dL/dt = −∇Lᵀ(G + λ)⁻¹∇L ≤ 0 for any damping λ ≥ 0, even on a nonlinear model.
    problem = mlp_problem(seed=3)
    ts = jnp.linspace(0.0, 5.0, 201)
    sol = ng.solve(problem, ng.NaturalGradientFlow(gram), t1=5.0, saveat=ts)
    losses = np.asarray(sol.losses)
    assert np.all(np.diff(losses) <= 1e-12 * losses[0])
    assert losses[-1] < 1e-2 * losses[0]  # and it does descend
    # The same on the curved manifold of seed 003 with the weighted (non-isotropic) loss.
    rng = np.random.default_rng(0)
    b, q = rng.standard_normal((3, 5)), 0.5 * rng.standard_normal((3, 3, 5))
    q = q + q.transpose(1, 0, 2)
    k = rng.standard_normal((40, 40)) / 40
    model = ng.QuadraticModel(basis, b, q, np.array([0.3, -0.2, 0.1]))
    loss = ng.WeightedLeastSquares(target_1d, PTS, k @ k.T + np.eye(40) / 40)
    sol = ng.solve(ng.Problem(model, loss, ng.L2(PTS)), ng.NaturalGradientFlow(gram), t1=5.0,
                   saveat=ts)  # fmt: skip
    losses = np.asarray(sol.losses)
    assert np.all(np.diff(losses) <= 1e-12 * losses[0])
    assert (
        losses[-1] < 0.9 * losses[0]
    )  # its minimum on this 3-parameter manifold is ~0.5


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_heavy_ball_flow_energy_is_non_increasing(gamma):
    # θ'' = −γθ' − ∇L: d/dt(½|θ'|² + L) = −γ|θ'|² ≤ 0, with equality only at rest.
    problem = mlp_problem(seed=4)
    flat = ng.FlatModel(problem.model)
    loss = jax.vmap(lambda t: problem.loss(flat.model_at(t)))
    ts = jnp.linspace(0.0, 20.0, 401)
    sol = ng.solve(
        problem, ng.HeavyBallFlow(gamma, stepsize_controller=TIGHT), t1=20.0, saveat=ts
    )
    theta, velocity = sol.states
    np.testing.assert_allclose(theta, sol.params)
    energy = 0.5 * np.sum(np.asarray(velocity) ** 2, axis=1) + np.asarray(loss(theta))
    assert np.all(np.diff(energy) <= 1e-12 * energy[0])
    assert energy[-1] < 0.5 * energy[0]
    # The loss alone is not monotone with light friction: the ball overshoots.
    if gamma == 0.5:
        assert np.any(np.diff(np.asarray(sol.losses)) > 0)


def test_loss_tolerance_stops_the_flow():
    problem = _linear()
    tol = _minimum(problem) * 1.01
    sol = ng.solve(problem, ng.NaturalGradientFlow(), t1=50.0, loss_tol=tol)
    assert float(sol.t_final) < 50.0
    assert float(sol.final_loss) <= tol
    assert sol.diffrax_result == dfx.RESULTS.event_occurred
    reached = np.isfinite(np.asarray(sol.ts))
    assert not reached.all() and np.all(np.isfinite(np.asarray(sol.losses)[reached]))
    assert np.all(np.isnan(np.asarray(sol.losses)[~reached]))


def test_a_collapsing_step_size_is_reported():
    # The minimum-norm direction of a small MLP has huge components along near-null
    # tangent vectors: the adaptive controller shrinks dt until max_steps.
    problem = mlp_problem(seed=0)
    with pytest.raises(ng.SolveError, match="ODE solver"):
        ng.solve(problem, ng.NaturalGradientFlow(ng.Pinv(), max_steps=200), t1=10.0)
    with pytest.warns(UserWarning, match="ODE solver"):
        sol = ng.solve(
            problem,
            ng.NaturalGradientFlow(ng.Pinv(), max_steps=200),
            t1=10.0,
            throw=False,
        )
    assert sol.result == ng.RESULTS.integration_failed
    assert float(sol.t_final) < 10.0
    # The default damped solve gets there.
    sol = ng.solve(problem, ng.NaturalGradientFlow(max_steps=2000), t1=10.0)
    assert float(sol.final_loss) < 1e-3 * float(sol.losses[0])


def test_flow_arguments_are_checked():
    problem = _linear()
    with pytest.raises(ValueError, match="t1"):
        ng.solve(problem, ng.GradientFlow(), t1=1.0, steps=3)
    with pytest.raises(TypeError, match="for flows"):
        ng.solve(problem, ng.GradientDescent(ng.Constant(0.1)), steps=3, t1=1.0)
    with pytest.raises(ValueError, match="steps"):
        ng.solve(problem, ng.GradientDescent(ng.Constant(0.1)))
    with pytest.raises(ValueError, match="exceed"):
        ng.solve(problem, ng.GradientFlow(), t1=0.0)
    box = ng.Box(0, 1)
    sampled = ng.Problem(
        problem.model,
        ng.Residual(lambda u, x: u(x[0]) - target_1d(x[0]), box.sampler(8)),
        ng.Energy(),
    )
    with pytest.raises(ValueError, match="fixed points"):
        ng.solve(sampled, ng.GradientFlow(), t1=1.0)


def test_flow_example_runs_and_holds_its_claim(monkeypatch):
    # examples/flow.py --quick exits non-zero (SystemExit) if its claim fails.
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "flow.py"
    monkeypatch.setattr(sys, "argv", ["flow.py", "--quick"])
    runpy.run_path(str(path), run_name="__main__")


def test_flow_solution_to_dict_is_json():
    import json

    sol = ng.solve(
        _linear(), ng.NaturalGradientFlow(), t1=0.5, saveat=jnp.linspace(0, 0.5, 3)
    )
    data = json.loads(json.dumps(sol.to_dict()))
    np.testing.assert_allclose(data["losses"], sol.losses)
    assert data["result"] == "successful" and data["t_final"] == 0.5
