"""Momentum (seed 003): heavy-ball and Nesterov, natural and in parameter space.

Exact reductions: β = 0 is natural gradient; with the Euclidean metric and a constant
step they are Polyak's heavy-ball and Nesterov's method, iterate by iterate. The
transports are checked against Jacobians formed by `jacfwd`.
"""

import dataclasses
import pathlib
import runpy
import sys

import equinox as eqx
import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ngflow as ng

from .helpers import mlp_problem, target_2d


STEPS = 6
TRANSPORTS = [
    ng.LastMomentum(),
    ng.FiniteDifference(),
    ng.LastGradient(),
    ng.ParameterMomentum(),
]


def _params(problem, method, steps=STEPS, **kw):
    return np.asarray(
        ng.solve(problem, method, steps=steps, save_params=True, **kw).params
    )


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: type(t).__name__)
def test_heavy_ball_with_zero_beta_is_natural_gradient(transport):
    # Identical in exact arithmetic; the compiled programs differ, so XLA's rounding does
    # too, and the solve (cond ~1e4·p here) and the iteration amplify it: measured
    # differences ~1e-9 relative after 6 steps. A wrong formula differs at O(1).
    problem = mlp_problem(seed=3)
    gram = ng.Cholesky(1e-4)
    for rule in (ng.Constant(0.5), ng.LogGrid()):
        ngd = _params(problem, ng.NaturalGradient(gram, rule))
        hb = _params(problem, ng.HeavyBall(gram, rule, beta=0.0, transport=transport))
        np.testing.assert_allclose(hb, ngd, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("natural", [True, False])
def test_nesterov_with_zero_beta_is_natural_gradient(natural):
    problem = mlp_problem(seed=4)
    ngd = _params(problem, ng.NaturalGradient(ng.Cholesky(1e-4), ng.LogGrid()))
    nes = _params(
        problem, ng.Nesterov(ng.Cholesky(1e-4), ng.LogGrid(), 0.0, natural=natural)
    )
    np.testing.assert_allclose(nes, ngd, rtol=1e-7, atol=1e-10)


# Classical methods on a small MLP least-squares problem with the Euclidean metric. The
# compiled solves are shared across hypothesis examples (β, α are array hyperparameters).
EUCLIDEAN = mlp_problem(lambda pts: ng.Euclidean(), n=32, width=5, seed=7)
_flat = ng.FlatModel(EUCLIDEAN.model)
_grad = jax.jit(jax.grad(lambda t: EUCLIDEAN.loss(_flat.model_at(t))))


def _polyak(alpha, beta, steps=STEPS):
    theta, p, out = _flat.theta0, jnp.zeros_like(_flat.theta0), [_flat.theta0]
    for _ in range(steps):
        p = beta * p - alpha * _grad(theta)
        theta = theta + p
        out.append(theta)
    return np.asarray(out)


def _nesterov(alpha, beta, steps=STEPS):
    theta, prev, out = _flat.theta0, _flat.theta0, [_flat.theta0]
    for _ in range(steps):
        y = theta + beta * (theta - prev)
        prev, theta = theta, y - alpha * _grad(y)
        out.append(theta)
    return np.asarray(out)


alphas = st.floats(0.05, 1.0)
betas = st.floats(0.0, 0.95)


@hypothesis.given(alpha=alphas, beta=betas)
@hypothesis.settings(max_examples=8, deadline=None)
def test_euclidean_heavy_ball_is_polyak(alpha, beta):
    expected = _polyak(alpha, beta)
    for transport in (ng.LastMomentum(), ng.FiniteDifference(), ng.ParameterMomentum()):
        method = ng.HeavyBall(ng.Cholesky(0.0), ng.Constant(alpha), beta, transport)
        np.testing.assert_allclose(
            _params(EUCLIDEAN, method), expected, rtol=1e-10, atol=1e-12
        )


@hypothesis.given(alpha=alphas, beta=betas)
@hypothesis.settings(max_examples=8, deadline=None)
def test_euclidean_nesterov_is_nesterov(alpha, beta):
    expected = _nesterov(alpha, beta)
    for natural in (True, False):
        method = ng.Nesterov(
            ng.Cholesky(0.0), ng.Constant(alpha), beta, natural=natural
        )
        np.testing.assert_allclose(
            _params(EUCLIDEAN, method), expected, rtol=1e-10, atol=1e-12
        )


def _tangent_setup(seed=0):
    problem = mlp_problem(seed=seed)
    flat = ng.FlatModel(problem.model)
    features = lambda t: problem.loss.residuals(flat.model_at(t))  # Φ for GaussNewton
    rng = np.random.default_rng(seed)
    theta = flat.theta0
    theta_prev = theta + 0.05 * jnp.asarray(rng.standard_normal(theta.shape))
    v = jnp.asarray(rng.standard_normal(theta.shape))
    tangent = problem.metric.linearise(problem, flat, theta)
    return problem, flat, features, theta, theta_prev, v, tangent


_loss = jax.jit(lambda t: EUCLIDEAN.loss(_flat.model_at(t)))


def _polyak_with_restart(alpha, beta, steps=STEPS):
    """Polyak's heavy-ball with function-value restart (O'Donoghue & Candès 2015): a step
    that raises the loss is replaced by a gradient step, and the momentum restarts."""
    theta, p, started, out = (
        _flat.theta0,
        jnp.zeros_like(_flat.theta0),
        False,
        [_flat.theta0],
    )
    for _ in range(steps):
        g = _grad(theta)
        step = (beta * p if started else 0.0) - alpha * g
        restart = started and not float(_loss(theta + step)) <= float(_loss(theta))
        step = -alpha * g if restart else step
        theta, p, started = theta + step, step, not restart
        out.append(theta)
    return np.asarray(out)


@pytest.mark.parametrize("name", ["HeavyBall", "Nesterov"])
def test_restart_keeps_the_loss_from_rising(name):
    # Euclidean metric, large β and step: plain momentum overshoots; with restart the
    # loss never increases, and heavy-ball is exactly Polyak's method with restart.
    alpha, beta, steps = 0.5, 0.95, 40

    def run(restart):
        cls = getattr(ng, name)
        method = cls(ng.Cholesky(0.0), ng.Constant(alpha), beta, restart=restart)
        return ng.solve(EUCLIDEAN, method, steps=steps, save_params=True)

    plain, restarted = run(False), run(True)
    assert np.any(np.diff(np.asarray(plain.losses)) > 1e-6)  # plain momentum overshoots
    assert np.all(np.diff(np.asarray(restarted.losses)) <= 1e-15)
    assert 0 < int(np.sum(restarted.stats["restarted"])) < steps
    if name == "HeavyBall":
        np.testing.assert_allclose(
            restarted.params,
            _polyak_with_restart(alpha, beta, steps),
            rtol=1e-10,
            atol=1e-12,
        )


def test_transports_are_the_cross_gram_and_projections():
    problem, flat, phi, theta, theta_prev, p_prev, tangent = _tangent_setup()
    e_k = jax.jacfwd(phi)(theta)
    e_prev = jax.jacfwd(phi)(theta_prev)
    state = ng.MomentumState(theta_prev, p_prev, jnp.asarray(0.3), jnp.array(True))
    # LM: E_{k-1} p_{k-1}; its right-hand side E_kᵀ E_{k-1} p is the cross-Gram applied.
    w = ng.LastMomentum().function(tangent, state)
    np.testing.assert_allclose(w, e_prev @ p_prev, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        tangent.rmatvec(w), e_k.T @ e_prev @ p_prev, rtol=1e-9, atol=1e-12
    )
    # FD: Φ(θ_k) − Φ(θ_{k−1}); LG: −s Φ(θ_{k−1}) (the residual is the functional gradient).
    np.testing.assert_allclose(
        ng.FiniteDifference().function(tangent, state),
        phi(theta) - phi(theta_prev),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        ng.LastGradient().function(tangent, state), -0.3 * phi(theta_prev), rtol=1e-12
    )
    # The projection of w on the tangent space by a Gram solve is least squares on E_k.
    m, _, ok = ng.Pinv().solve(
        dataclasses.replace(tangent, residual=w), tangent.rmatvec(w)
    )
    expected, *_ = np.linalg.lstsq(np.asarray(e_k), np.asarray(w), rcond=1e-7)
    assert bool(ok)
    np.testing.assert_allclose(e_k @ m, e_k @ expected, rtol=1e-7, atol=1e-10)


def test_momentum_follows_resampled_points():
    square = ng.Box([0, 0], [1, 1])
    loss = ng.Residual(lambda u, x: u(x) - target_2d(x), square.sampler(48, every=1))
    model = eqx.nn.MLP(2, "scalar", 6, 1, activation=jnp.tanh, key=jax.random.key(2))
    problem = ng.Problem(model, loss, ng.Energy())
    error = {"error": ng.RelativeL2Error(target_2d, square.grid(15))}
    for method in (
        ng.HeavyBall(ng.Cholesky(1e-6), ng.LogGrid(), 0.5, ng.LastMomentum()),
        ng.HeavyBall(ng.Cholesky(1e-6), ng.LogGrid(), 0.5, ng.LastGradient()),
        ng.Nesterov(ng.Cholesky(1e-6), ng.LogGrid(), 0.5),
    ):
        sol = ng.solve(problem, method, steps=25, monitors=error, key=jax.random.key(0))
        e = np.asarray(sol.monitors["error"])
        assert np.all(np.isfinite(e)) and e[-1] < 0.2 * e[0], (type(method).__name__, e)
        assert np.all(np.isfinite(np.asarray(sol.stats["momentum_norm"])))


def test_momentum_needs_what_it_uses():
    hessian = mlp_problem(lambda pts: ng.Hessian(), n=16, width=3)
    with pytest.raises(TypeError, match="tangent map"):
        ng.solve(hessian, ng.HeavyBall(ng.Pinv(), transport=ng.LastMomentum()), steps=2)
    with pytest.raises(TypeError, match="tangent map"):
        ng.solve(hessian, ng.Nesterov(ng.Pinv()), steps=2)
    sol = ng.solve(
        hessian, ng.HeavyBall(ng.Pinv(), transport=ng.ParameterMomentum()), steps=2
    )
    assert np.isfinite(sol.final_loss)
    l2 = mlp_problem(lambda pts: ng.L2(pts), n=16, width=3)
    with pytest.raises(TypeError, match="functional gradient"):
        ng.solve(l2, ng.HeavyBall(ng.Pinv(), transport=ng.LastGradient()), steps=2)
    with pytest.raises(TypeError, match="transport"):
        ng.HeavyBall(transport="LM")


def test_momentum_example_runs_and_holds_its_claim(monkeypatch):
    # examples/momentum.py --quick exits non-zero (SystemExit) if its claim fails.
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "momentum.py"
    monkeypatch.setattr(sys, "argv", ["momentum.py", "--quick"])
    runpy.run_path(str(path), run_name="__main__")
