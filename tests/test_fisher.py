"""The Fisher metric and probabilistic losses: closed forms, invariance, exact updates.

- Logistic regression: $F = X^\\top\\operatorname{diag}(p(1-p))X/n$.
- $F$ is PSD and equals the expected Hessian of $-\\log p$ under the model's own outputs,
  and the model-weighted average of the empirical Fisher over all labels.
- A density $v\\propto e^{a^\\top T(x)}$ on quadrature points: $F = \\operatorname{Cov}_q(T)$,
  which is also the Hessian of $\\mathrm{KL}(t\\,\\|\\,v)$.
- A Gaussian in natural parameters $\\eta$: one Fisher NGD step of size $s$ on the expected
  negative log-likelihood is $\\eta - s\\operatorname{Cov}_\\eta(T)^{-1}(\\mathbb{E}_\\eta T -
  \\mathbb{E}_{data}T)$; in mean parameters it is $(1-s)\\mu + s\\mu_{data}$, so step 1 lands
  on the maximum-likelihood fit.
- Fisher NGD iterates do not depend on an affine reparametrisation $\\theta = Ax + b$.
"""

import pathlib
import runpy
import sys

import equinox as eqx
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import ngflow as ng

from .helpers import random_orthogonal


RNG = np.random.default_rng(0)
X = jnp.asarray(RNG.standard_normal((20, 3)))
LABELS = jnp.asarray(RNG.integers(0, 4, 20))


class Logistic(eqx.Module):
    w: jax.Array

    def __call__(self, x):
        return x @ self.w


class Softmax(eqx.Module):
    """A small nonlinear classifier: logits tanh(x W) (3 inputs, 4 classes)."""

    w: jax.Array

    def __call__(self, x):
        return jnp.tanh(x @ self.w.reshape(3, 4))


class Affine(eqx.Module):
    """`inner` with parameters θ = A x + b: the same model in coordinates x."""

    x: jax.Array
    a: ng.Frozen
    b: ng.Frozen

    def __call__(self, point):
        return Softmax(self.a.value @ self.x + self.b.value)(point)


def _tangent(problem):
    flat = ng.FlatModel(problem.model)
    return problem.metric.linearise(problem, flat, flat.theta0), flat


def test_logistic_regression_fisher_is_the_closed_form():
    model = Logistic(jnp.asarray(RNG.standard_normal(3)))
    labels = (LABELS > 1).astype(int)
    problem = ng.Problem(
        model,
        ng.CrossEntropy(X, labels, family=ng.Bernoulli()),
        ng.Fisher(X, ng.Bernoulli()),
    )
    e = _tangent(problem)[0].matrix
    p = jax.nn.sigmoid(X @ model.w)
    np.testing.assert_allclose(e.T @ e, (X.T * (p * (1 - p))) @ X / 20, atol=1e-15)


def test_fisher_is_the_expected_hessian_and_the_averaged_empirical_fisher():
    model = Softmax(jnp.asarray(RNG.standard_normal(12)))
    problem = ng.Problem(
        model, ng.CrossEntropy(X, LABELS), ng.Fisher(X, ng.Categorical())
    )
    tangent, flat = _tangent(problem)
    fisher = tangent.matrix.T @ tangent.matrix
    assert np.linalg.eigvalsh(fisher).min() > -1e-14  # PSD

    def nll(theta, x, y):
        return -jax.nn.log_softmax(flat.model_at(theta)(x))[y]

    hessians = jax.vmap(jax.vmap(jax.hessian(nll), (None, None, 0)), (None, 0, None))(
        flat.theta0, X, jnp.arange(4)
    )  # (n, class, p, p)
    probs = jax.vmap(lambda x: jax.nn.softmax(model(x)))(X)
    expected = jnp.einsum("ny,nyij->ij", probs, hessians) / 20
    np.testing.assert_allclose(fisher, expected, atol=1e-14)
    # Σ_y p_y · (empirical Fisher at labels y): the empirical Fisher with the model's
    # own labels, averaged, is the Fisher; at the observed labels it is not.
    empirical = []
    for y in range(4):
        metric = ng.EmpiricalFisher(X, jnp.full(20, y), ng.Categorical())
        e = _tangent(ng.Problem(model, problem.loss, metric))[0].matrix
        empirical.append(jnp.einsum("n,ni,nj->ij", probs[:, y], e, e))
    np.testing.assert_allclose(sum(empirical), fisher, atol=1e-14)
    observed = ng.EmpiricalFisher(X, LABELS, ng.Categorical())
    e = _tangent(ng.Problem(model, problem.loss, observed))[0].matrix
    assert np.abs(e.T @ e - fisher).max() > 1e-3
    g = jax.vmap(jax.grad(nll), (None, 0, 0))(flat.theta0, X, LABELS) / np.sqrt(20)
    np.testing.assert_allclose(e, -g, atol=1e-15)  # rows √w ∇log p(y_n | x_n)


class ExpDensity(eqx.Module):
    a: jax.Array
    log: bool = eqx.field(static=True, default=False)

    def __call__(self, x):
        s = (
            self.a[0] * x + self.a[1] * x**2 + 3.0
        )  # unnormalised: the scale must not matter
        return s if self.log else jnp.exp(s)


@pytest.mark.parametrize("log", [False, True])
def test_density_fisher_is_the_covariance_of_the_sufficient_statistics(log):
    points = (jnp.arange(60) + 0.5) / 60
    weights = jnp.full(60, 1 / 60)
    model = ExpDensity(jnp.array([0.3, -1.0]), log)
    loss = ng.KL(lambda x: jnp.exp(-3 * (x - 0.6) ** 2), points, weights, log=log)
    problem = ng.Problem(model, loss, ng.Fisher(points, ng.Density(log=log), weights))
    tangent, flat = _tangent(problem)
    q = jax.nn.softmax(0.3 * points - points**2)
    t = jnp.stack([points, points**2], axis=1)
    cov = (t * q[:, None]).T @ t - jnp.outer(q @ t, q @ t)
    np.testing.assert_allclose(tangent.matrix.T @ tangent.matrix, cov, atol=1e-15)
    # For an exponential family KL(t‖v) has Hessian Cov_q(T): Fisher NGD is Newton.
    hessian = jax.hessian(lambda th: loss(flat.model_at(th)))(flat.theta0)
    np.testing.assert_allclose(hessian, cov, atol=1e-14)
    np.testing.assert_allclose(
        tangent.values, 2 * jnp.sqrt(q / 60 / jnp.sum(q / 60)), rtol=1e-12
    )  # the Hellinger embedding of the normalised density


# -- a Gaussian N(μ, σ²), fitted to data N(m, s²) by expected negative log-likelihood --

M_DATA, S_DATA = 0.7, 1.3
# Two-point Gauss–Hermite: exact for the (quadratic in y) log-likelihood.
Y_NODES = jnp.array([M_DATA - S_DATA, M_DATA + S_DATA])
ONE_INPUT = jnp.zeros((2, 1))


class NaturalGaussian(eqx.Module):
    """Parameters η = (μ/σ², −1/(2σ²)); output (μ, log σ), the same for every input."""

    eta: jax.Array

    def __call__(self, x):
        var = -0.5 / self.eta[1]
        return jnp.stack([self.eta[0] * var, 0.5 * jnp.log(var)])


class MeanGaussian(eqx.Module):
    """Parameters (E y, E y²)."""

    m: jax.Array

    def __call__(self, x):
        return jnp.stack([self.m[0], 0.5 * jnp.log(self.m[1] - self.m[0] ** 2)])


def _gaussian_problem(model):
    family = ng.Gaussian(std=None)
    loss = ng.NegativeLogLikelihood(
        ONE_INPUT, Y_NODES, family, weights=jnp.full(2, 0.5)
    )
    return ng.Problem(model, loss, ng.Fisher(ONE_INPUT[:1], family, jnp.ones(1)))


@pytest.mark.parametrize("s", [0.3, 1.0])
def test_one_fisher_step_is_the_natural_parameter_update(s):
    # Exponential family, T = (y, y²): ∇_η L = E_η T − E_data T and F_η = Cov_η(T), so
    # η⁺ = η − s Cov_η(T)⁻¹(E_η T − E_data T), with the Gaussian's moments by hand.
    eta = jnp.array([0.4, -0.8])
    problem = _gaussian_problem(NaturalGaussian(eta))
    sol = ng.solve(
        problem, ng.NaturalGradient(ng.Cholesky(0.0), ng.Constant(s)), steps=1
    )
    var = -0.5 / eta[1]
    mean = eta[0] * var
    moments = jnp.array([mean, mean**2 + var])
    data = jnp.array([M_DATA, M_DATA**2 + S_DATA**2])
    cov = jnp.array(
        [[var, 2 * mean * var], [2 * mean * var, 4 * mean**2 * var + 2 * var**2]]
    )
    expected = eta - s * jnp.linalg.solve(cov, moments - data)
    np.testing.assert_allclose(sol.model.eta, expected, rtol=1e-12)


@pytest.mark.parametrize("s", [0.3, 1.0])
def test_a_fisher_step_in_mean_parameters_moves_straight_to_the_data_moments(s):
    # In mean parameters μ = E T the Fisher is Cov(T)⁻¹ and ∇_μ L = Cov(T)⁻¹(μ − μ_data):
    # μ⁺ = (1 − s)μ + s μ_data, and a unit step is the maximum-likelihood fit.
    m0 = jnp.array([-0.2, 1.5])
    problem = _gaussian_problem(MeanGaussian(m0))
    sol = ng.solve(
        problem, ng.NaturalGradient(ng.Cholesky(0.0), ng.Constant(s)), steps=1
    )
    data = jnp.array([M_DATA, M_DATA**2 + S_DATA**2])
    np.testing.assert_allclose(sol.model.m, (1 - s) * m0 + s * data, rtol=1e-12)


# -- invariance -----------------------------------------------------------------------

THETA0 = jnp.asarray(RNG.standard_normal(12))
STEPS = 4


def _theta_iterates(theta0):
    problem = ng.Problem(
        Softmax(theta0), ng.CrossEntropy(X, LABELS), ng.Fisher(X, ng.Categorical())
    )
    method = ng.NaturalGradient(ng.Cholesky(0.0), ng.Constant(0.5))
    return ng.solve(
        problem, method, steps=STEPS, save_params=True, progress=False
    ).params


def _x_iterates(a, b, x0):
    problem = ng.Problem(
        Affine(x0, ng.Frozen(a), ng.Frozen(b)), ng.CrossEntropy(X, LABELS),
        ng.Fisher(X, ng.Categorical()),
    )  # fmt: skip
    method = ng.NaturalGradient(ng.Cholesky(0.0), ng.Constant(0.5))
    gd = ng.solve(problem, ng.GradientDescent(ng.Constant(0.5)), steps=STEPS, save_params=True,
                  progress=False)  # fmt: skip
    ngd = ng.solve(problem, method, steps=STEPS, save_params=True, progress=False)
    return gd.params, ngd.params


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.2, 5.0))
def test_fisher_natural_gradient_is_invariant_under_affine_reparametrisation(
    seed, scale
):
    rng = np.random.default_rng(seed)
    # A well-conditioned but far from orthogonal A: rotations and scales in [scale/3, scale].
    a = random_orthogonal(rng, 12) @ np.diag(np.linspace(scale / 3, scale, 12))
    a = jnp.asarray(a @ random_orthogonal(rng, 12))
    b = jnp.asarray(rng.standard_normal(12))
    x0 = jnp.linalg.solve(a, THETA0 - b)
    theta = _theta_iterates(THETA0)
    gd_x, ngd_x = _x_iterates(a, b, x0)
    np.testing.assert_allclose(ngd_x @ a.T + b, theta, rtol=1e-8, atol=1e-9)
    # Gradient descent is not invariant: its iterates mapped back differ (A Aᵀ ≠ I).
    gd_theta = jnp.asarray(
        ng.solve(ng.Problem(Softmax(THETA0), ng.CrossEntropy(X, LABELS), ng.Fisher(X, ng.Categorical())),
                 ng.GradientDescent(ng.Constant(0.5)), steps=STEPS, save_params=True).params
    )  # fmt: skip
    assert np.abs(gd_x @ a.T + b - gd_theta).max() > 1e-4


# -- losses and errors ----------------------------------------------------------------


def test_kl_losses():
    points = (jnp.arange(1000) + 0.5) / 1000 * 30 - 14  # [-14, 16]: tails below 1e-12
    w = jnp.full(1000, 30 / 1000)
    gauss = lambda m, s: lambda x: jnp.exp(-0.5 * ((x - m) / s) ** 2) / s
    model = ExpDensity(jnp.array([0.0, -0.5]))  # N(0, 1), unnormalised
    target = gauss(1.0, 2.0)
    analytic = lambda m1, s1, m2, s2: (
        jnp.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    )
    np.testing.assert_allclose(
        ng.KL(target, points, w)(model), analytic(1, 2, 0, 1), rtol=1e-6
    )
    np.testing.assert_allclose(
        ng.ReverseKL(target, points, w)(model), analytic(0, 1, 1, 2), rtol=1e-6
    )
    assert abs(float(ng.KL(gauss(0.0, 1.0), points, w)(model))) < 1e-14


def test_bad_inputs_are_reported():
    with pytest.raises(ValueError, match="k ≥ 2 logits"):
        ng.Problem(
            Logistic(jnp.ones(3)),
            ng.Loss(lambda m: 0.0),
            ng.Fisher(X, ng.Categorical()),
        )
    with pytest.raises(ValueError, match="one logit"):
        ng.Problem(
            Softmax(THETA0), ng.Loss(lambda m: 0.0), ng.Fisher(X, ng.Bernoulli())
        )
    with pytest.raises(ValueError, match="integer labels"):
        ng.Problem(Softmax(THETA0), ng.CrossEntropy(X, LABELS * 1.0), ng.Euclidean())
    with pytest.raises(ValueError, match="one outcome per point"):
        ng.CrossEntropy(X, LABELS[:5])
    with pytest.raises(TypeError, match="family"):
        ng.Fisher(X, "categorical")
    with pytest.raises(TypeError, match="KL"):
        ng.NegativeLogLikelihood(X, LABELS, ng.Density())
    with pytest.raises(ValueError, match="std"):
        ng.Gaussian(std=0.0)
    with pytest.raises(ValueError, match="log_std"):
        ng.Problem(Logistic(jnp.ones(3)), ng.Loss(lambda m: 0.0),
                   ng.Fisher(X, ng.Gaussian(std=None)))  # fmt: skip


def test_fisher_example_runs_and_holds_its_claim(monkeypatch):
    # examples/fisher.py --quick exits non-zero (SystemExit) if its claim fails.
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "fisher.py"
    monkeypatch.setattr(sys, "argv", ["fisher.py", "--quick"])
    runpy.run_path(str(path), run_name="__main__")
