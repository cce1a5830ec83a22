"""Sketch: natural gradient in a random subspace (exact when the subspace is everything),
row sampling (an unbiased estimate of G), the three ways of forming EQ, AutoGram's choice."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ngflow as ng
from ngflow._linearisation import linearise

from .helpers import matrix_with_singular_values, mlp_problem


def _system(seed, shape=(40, 12)):
    rng = np.random.default_rng(seed)
    n, p = shape
    e = matrix_with_singular_values(rng, n, p, np.logspace(0, -3, p))
    return e, rng.standard_normal(n)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_a_sketch_of_every_direction_is_the_exact_step(seed):
    """k = p: span Q is everything, so the step is the least-squares step E⁺g and the
    curve is the whole LM curve, (G + λI)⁻¹∇L."""
    e, g = _system(seed)
    grad = e.T @ g
    h, stats = ng.gram_solve(ng.Sketch(12, rows=None), e, grad, residual=g)
    assert bool(stats["successful"])
    np.testing.assert_allclose(h, np.linalg.lstsq(e, g, rcond=None)[0], rtol=1e-7)
    curve, _ = ng.gram_curve(ng.Sketch(12, rows=None), e, grad, residual=g)
    lam = 1e-2
    exact = np.linalg.solve(e.T @ e + lam * np.eye(12), grad)
    np.testing.assert_allclose(curve.direction(lam), exact, rtol=1e-9)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.sampled_from([1, 3, 6]))
def test_the_step_is_least_squares_on_the_subspace_and_contains_the_gradient(seed, k):
    e, g = _system(seed)
    grad = e.T @ g
    curve, stats = ng.gram_curve(ng.Sketch(k, rows=None), e, grad, residual=g)
    basis = np.asarray(curve.basis.as_matrix())  # QV: orthonormal, k columns
    assert basis.shape == (12, k)
    np.testing.assert_allclose(basis.T @ basis, np.eye(k), atol=1e-12)
    h = np.asarray(curve.direction(0.0))
    # h = By with y minimising ‖g − EBy‖: the residual is orthogonal to EB
    np.testing.assert_allclose(h, basis @ (basis.T @ h), atol=1e-12)
    eb = e @ basis
    assert np.linalg.norm(eb.T @ (e @ h - g)) < 1e-9 * np.linalg.norm(eb.T @ g)
    # the gradient is in the subspace: heavy damping gives the gradient step
    lam = 1e9
    np.testing.assert_allclose(lam * np.asarray(curve.direction(lam)), grad, rtol=1e-6)
    # the model's predicted decrease is that of the Gauss–Newton model at h(λ)
    hl = np.asarray(curve.direction(0.3))
    model = 0.5 * g @ g - 0.5 * np.sum((g - e @ hl) ** 2)
    np.testing.assert_allclose(float(curve.predicted(0.3)), model, rtol=1e-10)


def test_the_subspace_is_a_function_of_the_iterate():
    e, g = _system(0)
    solve = lambda s, gg: ng.gram_solve(s, e, e.T @ gg, residual=gg)[0]
    a, b = solve(ng.Sketch(4), g), solve(ng.Sketch(4), g)
    np.testing.assert_array_equal(a, b)  # same iterate: same subspace
    assert not np.allclose(solve(ng.Sketch(4), 1.01 * g), 1.01 * a)  # another one
    assert not np.allclose(solve(ng.Sketch(4, seed=1), g), a)


def test_row_sampling_is_an_unbiased_estimate_of_the_gram_matrix():
    problem = mlp_problem(n=40, width=3)
    flat = ng.FlatModel(problem.model)
    features = problem.metric.features(problem.loss)
    e = features.jacobian(flat.model_at, flat.theta0)
    assert features.subsample(jax.random.key(0), 40) is features  # all rows: itself

    def gram(key):
        sub = features.subsample(key, 10)
        rows = sub.jacobian(flat.model_at, flat.theta0)
        return rows.T @ rows, rows

    grams, rows = jax.vmap(gram)(jax.random.split(jax.random.key(1), 4000))
    assert rows.shape[1:] == (10, e.shape[1])
    # each sample is 10 distinct rows of E scaled by √(40/10) = 2
    sample = np.asarray(rows[0]) / 2
    matches = [np.min(np.linalg.norm(e - r, axis=1)) for r in sample]
    assert max(matches) < 1e-12
    assert len({int(np.argmin(np.linalg.norm(e - r, axis=1))) for r in sample}) == 10
    g = np.asarray(e.T @ e)
    mean = np.asarray(jnp.mean(grams, axis=0))
    # Monte Carlo: 4000 draws, error ~ 1/√4000 of the spread
    assert np.linalg.norm(mean - g) < 0.05 * np.linalg.norm(g)


def test_eq_is_the_same_from_chunks_from_jvps_and_from_the_dense_e():
    problem = mlp_problem(n=37, width=5)
    flat = ng.FlatModel(problem.model)
    theta = flat.theta0
    tangent = linearise(problem, flat, theta, ng.Sketch(5))
    assert not tangent.dense
    q = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (theta.shape[0], 5)))[0]
    key = jax.random.key(1)
    dense = tangent.matrix @ q
    for sketch in [
        ng.Sketch(5, rows=None, chunk=8),
        ng.Sketch(5, rows=None, chunk=None),
    ]:
        np.testing.assert_allclose(sketch.sketch(tangent, q, key), dense, atol=1e-12)
    # sampled rows: 10 of the 37 points, the same from chunks and from jvps
    a = ng.Sketch(5, rows=10, chunk=3).sketch(tangent, q, key)
    b = ng.Sketch(5, rows=10, chunk=None, batch=2).sketch(tangent, q, key)
    assert a.shape == (10, 5)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_natural_gradient_on_a_sketch_converges_where_gradient_descent_crawls():
    problem = mlp_problem(n=64, width=8)  # p = 33
    sk = ng.solve(problem, ng.NaturalGradient(ng.Sketch(8, rows=32)), steps=60)
    gd = ng.solve(problem, ng.GradientDescent(ng.LogGrid()), steps=60)
    assert float(sk.final_loss) < 1e-2 * float(sk.losses[0])
    assert float(sk.final_loss) < 1e-2 * float(gd.final_loss)
    assert np.all(np.asarray(sk.stats["rank"]) == 8)


def test_auto_gram_takes_the_sketch_past_the_flop_limit():
    problem = mlp_problem(n=64, width=8)
    flat = ng.FlatModel(problem.model)
    n, p = problem.metric.shape(problem, flat, flat.theta0)
    auto = ng.AutoGram(flop_limit=1.0, sketch_rows=32)
    assert auto.describe(n=n, p=p).startswith("Sketch")
    sketch = auto.sketch(n, p)
    assert isinstance(sketch, ng.Sketch) and sketch.rows == 32 and sketch.size == 128
    # with no more points than the sketch would sample, the exact step is kept
    assert not ng.AutoGram(flop_limit=1.0).describe(n=n, p=p).startswith("Sketch")
    assert ng.AutoGram().sketch(16_384, 100_801).size == 48  # E_SQ within 1e10 flops
    sol = ng.solve(problem, ng.NaturalGradient(auto), steps=3)
    ref = ng.solve(problem, ng.NaturalGradient(sketch), steps=3)
    assert np.all(np.asarray(sol.stats["auto_choice"]) == 5)
    np.testing.assert_allclose(sol.final_loss, ref.final_loss, rtol=1e-9)
    assert not ng.AutoGram().describe(n=n, p=p).startswith("Sketch")  # small: exact


def test_bad_arguments_and_metrics_are_refused():
    for kwargs in [dict(size=0), dict(rows=0), dict(chunk=-1), dict(batch=0)]:
        with pytest.raises(ValueError, match="Sketch"):
            ng.Sketch(**kwargs)
    with pytest.raises(TypeError, match="tangent map"):
        ng.gram_solve(ng.Sketch(2), np.eye(3), np.ones(3), factored=False)
