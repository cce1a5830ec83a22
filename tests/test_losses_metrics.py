"""Losses and metrics: values, residual forms, tangent maps and Gram matrices."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ngflow as ng
from ngflow._linearisation import MATRIX_FREE

from .helpers import basis, midpoints, target_1d


PTS = midpoints(32)
seeds = st.integers(0, 2**31 - 1)


def _model(seed, p=3):
    rng = np.random.default_rng(seed)
    return ng.LinearModel(basis, rng.standard_normal((p, 5)), rng.standard_normal(p))


def _tangent(metric, problem):
    flat = ng.FlatModel(problem.model)
    return metric.linearise(problem, flat, flat.theta0)


@given(seed=seeds)
def test_least_squares_value_and_residual(seed):
    model = _model(seed)
    w = jnp.asarray(np.random.default_rng(seed).uniform(0, 1, 32))
    values = jax.vmap(target_1d)(PTS)
    for target in [target_1d, values]:
        loss = ng.LeastSquares(target, PTS, w)
        u = jax.vmap(model)(PTS)
        expected = 0.5 * np.sum(w * (u - values) ** 2)
        assert np.isclose(loss(model), expected, rtol=1e-12)
        r = loss.residuals(model)
        assert np.isclose(0.5 * np.sum(r**2), expected, rtol=1e-12)


def test_default_weights_are_the_monte_carlo_mean():
    model = _model(0)
    u = jax.vmap(model)(PTS)
    t = jax.vmap(target_1d)(PTS)
    assert np.isclose(
        ng.LeastSquares(target_1d, PTS)(model), 0.5 * np.mean((u - t) ** 2)
    )


@given(seed=seeds)
def test_weighted_least_squares_is_half_the_k_norm(seed):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((32, 20))
    k = c @ c.T  # singular PSD is allowed
    model = _model(seed)
    loss = ng.WeightedLeastSquares(target_1d, PTS, k)
    e = jax.vmap(model)(PTS) - jax.vmap(target_1d)(PTS)
    assert np.isclose(loss(model), 0.5 * e @ k @ e, rtol=1e-9)
    r = loss.residuals(model)
    assert np.isclose(0.5 * r @ r, 0.5 * e @ k @ e, rtol=1e-9)


def test_sums_and_scalings_keep_the_residual_form():
    model = _model(1)
    a = ng.LeastSquares(target_1d, PTS)
    b = ng.LeastSquares(jnp.cos, PTS[:10])
    total = a + 3.0 * b
    assert isinstance(total, ng.AbstractResidualLoss)
    assert np.isclose(total(model), a(model) + 3.0 * b(model))
    r = total.residuals(model)
    assert r.shape == (42,)
    assert np.isclose(0.5 * r @ r, total(model))
    assert sum([a, b])(model) == pytest.approx(float(a(model) + b(model)))
    # A user function has no residual form, and neither does a negative scaling.
    custom = ng.Loss(lambda m: m(0.3) ** 2)
    assert not isinstance(a + custom, ng.AbstractResidualLoss)
    assert not isinstance(-1.0 * a, ng.AbstractResidualLoss)
    assert np.isclose((a + custom)(model), a(model) + model(0.3) ** 2)
    sos = ng.SumOfSquares(lambda m: jnp.stack([m(0.1) - 1.0, 2 * m(0.7)]))
    assert np.isclose(sos(model), 0.5 * ((model(0.1) - 1) ** 2 + 4 * model(0.7) ** 2))


@settings(max_examples=4)
@given(seed=seeds)
def test_per_point_jacobian_matches_autodiff_of_the_whole_map(seed):
    """The fast per-point (vmap ∘ jacrev) tangent map equals jacfwd of the feature map."""
    mlp = eqx.nn.MLP(
        1, "scalar", 6, 2, activation=jnp.tanh, key=jax.random.key(seed % 1000)
    )
    target = lambda x: target_1d(x[0])  # noqa: E731
    problem = ng.Problem(mlp, ng.LeastSquares(target, PTS[:, None]), ng.GaussNewton())
    flat = ng.FlatModel(mlp)
    for metric in [ng.GaussNewton(), ng.L2(PTS[:, None]), ng.H1(PTS[:, None])]:
        tm = metric.linearise(problem, flat, flat.theta0)
        features = metric.features(problem.loss)
        full = jax.jacfwd(lambda t, f=features: f.value(flat.model_at(t)))(flat.theta0)
        assert np.allclose(tm.matrix, full, rtol=1e-10, atol=1e-12)


def test_l2_gram_of_a_linear_model_in_an_orthonormal_basis_is_bbt():
    """Seed 003 toy: v = θᵀBΦ with orthonormal Φ has G = BBᵀ (exact midpoint quadrature)."""
    rng = np.random.default_rng(0)
    b = rng.standard_normal((3, 5))
    model = ng.LinearModel(basis, b)
    problem = ng.Problem(model, ng.LeastSquares(target_1d, PTS), ng.L2(PTS))
    e = _tangent(ng.L2(PTS), problem).matrix
    assert np.allclose(e.T @ e, b @ b.T, atol=1e-12)


def test_h1_gram_adds_the_derivative_inner_product():
    b = np.eye(5)[:3]
    model = ng.LinearModel(basis, b)
    problem = ng.Problem(model, ng.LeastSquares(target_1d, PTS), ng.H1(PTS))
    e = _tangent(ng.H1(PTS), problem).matrix
    # Φ = [1, √2 sin 2πx, √2 cos 2πx]: ∫Φ'_iΦ'_j = diag(0, 4π², 4π²)
    assert np.allclose(
        e.T @ e, np.diag([1.0, 1 + 4 * np.pi**2, 1 + 4 * np.pi**2]), atol=1e-10
    )


@given(seed=seeds)
def test_weighted_gram_is_jt_k_j(seed):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((32, 32))
    k = c @ c.T / 32
    model = _model(seed)
    problem = ng.Problem(model, ng.LeastSquares(target_1d, PTS), ng.Weighted(k, PTS))
    j = _tangent(ng.L2(PTS, jnp.ones(32)), problem).matrix
    e = _tangent(ng.Weighted(k, PTS), problem).matrix
    assert np.allclose(e.T @ e, j.T @ k @ j, rtol=1e-9, atol=1e-10)


def test_constant_metric_and_euclidean_tangent_maps():
    rng = np.random.default_rng(0)
    c = rng.standard_normal((3, 3))
    m = c @ c.T + np.eye(3)
    model = _model(0)
    problem = ng.Problem(model, ng.LeastSquares(target_1d, PTS), ng.ConstantMetric(m))
    e = _tangent(ng.ConstantMetric(m), problem).matrix
    assert np.allclose(e.T @ e, m, atol=1e-10)
    assert np.allclose(_tangent(ng.Euclidean(), problem).matrix, np.eye(3))


def test_hessian_metric_is_the_loss_hessian():
    rng = np.random.default_rng(0)
    model = ng.QuadraticModel(
        basis,
        rng.standard_normal((3, 5)),
        rng.standard_normal((3, 3, 5)),
        rng.standard_normal(3),
    )
    loss = ng.LeastSquares(target_1d, PTS)
    problem = ng.Problem(model, loss, ng.Hessian())
    m = _tangent(ng.Hessian(), problem)
    assert isinstance(m, ng.MetricMatrix)
    h = jax.hessian(lambda t: loss(eqx.tree_at(lambda mm: mm.theta, model, t)))(
        model.theta
    )
    assert np.allclose(m.matrix, h, rtol=1e-10)
    v = jnp.asarray(rng.standard_normal(3))
    flat = ng.FlatModel(problem.model)
    free = ng.Hessian().linearise(problem, flat, flat.theta0, MATRIX_FREE)
    assert np.allclose(free.operator.mv(v), h @ v, rtol=1e-10)


def test_frozen_arrays_are_not_parameters():
    model = ng.LinearModel(basis, np.ones((3, 5)))
    assert ng.num_parameters(model) == 3
    assert (
        ng.num_parameters(eqx.nn.MLP(2, "scalar", 30, 1, key=jax.random.key(0))) == 121
    )


def test_matrix_free_tangent_map_matches_dense():
    rng = np.random.default_rng(0)
    model = ng.QuadraticModel(
        basis,
        rng.standard_normal((3, 5)),
        rng.standard_normal((3, 3, 5)),
        rng.standard_normal(3),
    )
    problem = ng.Problem(model, ng.LeastSquares(target_1d, PTS), ng.L2(PTS))
    tm = _tangent(ng.L2(PTS), problem)
    v = jnp.asarray(rng.standard_normal(3))
    w = jnp.asarray(rng.standard_normal(32))
    flat = ng.FlatModel(problem.model)
    op = ng.L2(PTS).linearise(problem, flat, flat.theta0, MATRIX_FREE).operator
    assert np.allclose(op.mv(v), tm.matrix @ v, rtol=1e-10)
    assert np.allclose(op.T.mv(w), tm.matrix.T @ w, rtol=1e-10)
    assert np.allclose(tm.values, np.sqrt(1 / 32) * jax.vmap(model)(PTS))
