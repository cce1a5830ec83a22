"""The mathematics of natural gradient steps (seeds 001 and 003)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

import ngflow as ng

from .helpers import basis, midpoints, random_orthogonal, target_1d


seeds = st.integers(0, 2**31 - 1)
PTS = midpoints(40)
P, M = 4, 5


def _linear_problem(seed, metric=None):
    rng = np.random.default_rng(seed)
    b = random_orthogonal(rng, M)[:P] * np.linspace(2.0, 0.5, P)[:, None]  # full rank
    model = ng.LinearModel(basis, b, rng.standard_normal(P))
    weights = jnp.asarray(rng.uniform(0.5, 1.5, PTS.shape[0]) / PTS.shape[0])
    loss = ng.LeastSquares(target_1d, PTS, weights)
    metric = ng.L2(PTS, weights) if metric is None else metric
    return ng.Problem(model, loss, metric), b, weights


def _least_squares_minimiser(b, weights):
    phi = jax.vmap(basis)(PTS)  # (N, m)
    a = np.sqrt(weights)[:, None] * (phi @ b.T)  # (N, p): columns are tangent vectors
    t = np.sqrt(weights) * jax.vmap(target_1d)(PTS)
    return np.linalg.lstsq(a, t, rcond=None)[0]


@pytest.mark.parametrize(
    "gram", [ng.Cholesky(0.0), ng.Pinv(), ng.QR(), ng.CG(rtol=1e-13)], ids=type
)
@given(seed=seeds)
def test_ngd_on_a_linear_model_reaches_the_minimiser_in_one_step(seed, gram):
    """NGD = Newton for linear models (seed 003): one step of size 1 is exact."""
    problem, b, weights = _linear_problem(seed)
    sol = ng.solve(problem, ng.NaturalGradient(gram, ng.Constant(1.0)), steps=1)
    theta_star = _least_squares_minimiser(b, weights)
    assert np.allclose(sol.model.theta, theta_star, rtol=1e-8, atol=1e-10)
    # and it is Newton's step
    newton = ng.solve(problem, ng.Newton(ng.Cholesky(0.0), ng.Constant(1.0)), steps=1)
    assert np.allclose(newton.model.theta, sol.model.theta, rtol=1e-8, atol=1e-10)


@given(seed=seeds)
def test_gradient_descent_does_not_reach_the_minimiser_in_one_step(seed):
    problem, b, weights = _linear_problem(seed)
    theta_star = _least_squares_minimiser(b, weights)
    sol = ng.solve(problem, ng.GradientDescent(ng.LogGrid()), steps=1)
    assert float(sol.losses[1]) > 1.001 * float(
        problem.loss(
            eqx.tree_at(lambda m: m.theta, problem.model, jnp.asarray(theta_star))
        )
    )


class Reparametrised(eqx.Module):
    """The quadratic manifold in coordinates x with θ = A x."""

    x: jax.Array
    A: ng.Frozen
    inner: ng.Frozen

    def __call__(self, pt):
        base = self.inner.value
        return eqx.tree_at(lambda m: m.theta, base, self.A.value @ self.x)(pt)


def _quadratic(seed):
    rng = np.random.default_rng(seed)
    b = rng.standard_normal((P, M))
    q = 0.3 * rng.standard_normal((P, P, M))
    q = q + q.transpose(1, 0, 2)
    theta0 = 0.5 * rng.standard_normal(P)
    return ng.QuadraticModel(basis, b, q, theta0), theta0


@pytest.mark.parametrize("metric", ["L2", "GaussNewton", "H1"])
@given(seed=seeds, step=st.floats(0.05, 1.0))
def test_natural_gradient_is_invariant_under_reparametrisation(seed, step, metric):
    """Seed 001: with θ = A x, the NGD update is the same function in both coordinates."""
    model, theta0 = _quadratic(seed)
    rng = np.random.default_rng(seed + 7)
    a = random_orthogonal(rng, P) * np.linspace(0.5, 2.0, P) @ random_orthogonal(rng, P)
    x0 = np.linalg.solve(a, theta0)
    reparam = Reparametrised(
        jnp.asarray(x0), ng.Frozen(jnp.asarray(a)), ng.Frozen(model)
    )
    loss = ng.LeastSquares(target_1d, PTS)
    make = {
        "L2": lambda: ng.L2(PTS),
        "GaussNewton": ng.GaussNewton,
        "H1": lambda: ng.H1(PTS),
    }
    method = ng.NaturalGradient(ng.QR(), ng.Constant(step))
    sol_theta = ng.solve(ng.Problem(model, loss, make[metric]()), method, steps=3)
    sol_x = ng.solve(ng.Problem(reparam, loss, make[metric]()), method, steps=3)
    theta3 = np.asarray(sol_theta.model.theta)
    assert np.allclose(a @ np.asarray(sol_x.model.x), theta3, rtol=1e-7, atol=1e-9)
    assert np.allclose(sol_x.losses, sol_theta.losses, rtol=1e-8, atol=1e-14)


@given(seed=seeds, step=st.floats(0.05, 0.5))
def test_gradient_descent_is_not_invariant(seed, step):
    model, theta0 = _quadratic(seed)
    rng = np.random.default_rng(seed + 7)
    a = random_orthogonal(rng, P) * np.linspace(0.5, 2.0, P) @ random_orthogonal(rng, P)
    reparam = Reparametrised(
        jnp.asarray(np.linalg.solve(a, theta0)),
        ng.Frozen(jnp.asarray(a)),
        ng.Frozen(model),
    )
    loss = ng.LeastSquares(target_1d, PTS)
    method = ng.GradientDescent(ng.Constant(step))
    sol_theta = ng.solve(ng.Problem(model, loss, ng.Euclidean()), method, steps=1)
    sol_x = ng.solve(ng.Problem(reparam, loss, ng.Euclidean()), method, steps=1)
    # θ⁺ = θ − s∇L versus θ⁺ = θ − s AAᵀ∇L: different unless AAᵀ∇L = ∇L.
    diff = np.linalg.norm(
        a @ np.asarray(sol_x.model.x) - np.asarray(sol_theta.model.theta)
    )
    assert diff > 1e-3 * step * float(sol_theta.grad_norms[0])


def test_euclidean_natural_gradient_is_gradient_descent():
    model, _ = _quadratic(0)
    problem = ng.Problem(model, ng.LeastSquares(target_1d, PTS), ng.Euclidean())
    gd = ng.solve(
        problem, ng.GradientDescent(ng.Constant(0.1)), steps=5, save_params=True
    )
    for gram in [ng.Cholesky(0.0), ng.QR(), ng.Pinv()]:
        ngd = ng.solve(
            problem,
            ng.NaturalGradient(gram, ng.Constant(0.1)),
            steps=5,
            save_params=True,
        )
        assert np.allclose(gd.params, ngd.params, rtol=1e-12, atol=1e-14)


def test_gauss_newton_equals_l2_for_least_squares():
    """For ½Σw(u − t)², the loss-Hessian metric is L² on the loss's points and weights."""
    model, _ = _quadratic(1)
    w = jnp.linspace(0.5, 1.5, PTS.shape[0]) / PTS.shape[0]
    loss = ng.LeastSquares(target_1d, PTS, w)
    method = ng.NaturalGradient(ng.Cholesky(0.0), ng.Constant(0.7))
    a = ng.solve(
        ng.Problem(model, loss, ng.GaussNewton()), method, steps=4, save_params=True
    )
    b = ng.solve(
        ng.Problem(model, loss, ng.L2(PTS, w)), method, steps=4, save_params=True
    )
    assert np.allclose(a.params, b.params, rtol=1e-9, atol=1e-12)


def test_weighted_metric_is_the_loss_hessian_of_the_weighted_loss():
    """Seed 003: with loss ½‖u − t‖²_K, NGD with the K metric is the loss-Hessian NGD,
    and on a linear model it is exact in one step; the plain L² metric is not."""
    rng = np.random.default_rng(0)
    n = PTS.shape[0]
    c = rng.standard_normal((n, n))
    k = c @ c.T / n + 0.1 * np.eye(n)
    b = random_orthogonal(rng, M)[:P]
    model = ng.LinearModel(basis, b, np.zeros(P))
    loss = ng.WeightedLeastSquares(target_1d, PTS, k)
    step = ng.NaturalGradient(ng.Cholesky(0.0), ng.Constant(1.0))
    weighted = ng.solve(ng.Problem(model, loss, ng.Weighted(k, PTS)), step, steps=1)
    gn = ng.solve(ng.Problem(model, loss, ng.GaussNewton()), step, steps=1)
    l2 = ng.solve(ng.Problem(model, loss, ng.L2(PTS)), step, steps=1)
    assert np.allclose(weighted.model.theta, gn.model.theta, rtol=1e-9)
    # exact: the gradient vanishes after one step
    g_after = jax.grad(lambda t: loss(eqx.tree_at(lambda m: m.theta, model, t)))(
        weighted.model.theta
    )
    assert np.linalg.norm(g_after) < 1e-9
    assert float(l2.losses[1]) > float(weighted.losses[1]) * (1 + 1e-6)


def test_constant_metric_is_preconditioned_gradient_descent():
    model, theta0 = _quadratic(2)
    rng = np.random.default_rng(2)
    c = rng.standard_normal((P, P))
    m = c @ c.T + np.eye(P)
    loss = ng.LeastSquares(target_1d, PTS)
    sol = ng.solve(
        ng.Problem(model, loss, ng.ConstantMetric(m)),
        ng.NaturalGradient(ng.QR(), ng.Constant(0.3)),
        steps=1,
    )
    grad = jax.grad(lambda t: loss(eqx.tree_at(lambda mm: mm.theta, model, t)))(
        jnp.asarray(theta0)
    )
    assert np.allclose(
        sol.model.theta, theta0 - 0.3 * np.linalg.solve(m, grad), rtol=1e-9
    )
