"""The orthogonal greedy algorithm (seed 000 §1.1): its mathematics on random tangent maps.

Shapes are fixed (N = 24 points, p = 7 parameters) and the jitted functions are shared, so
hypothesis draws only values and nothing recompiles between examples.
"""

import functools

import equinox as eqx
import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest

import ngflow as ng
from ngflow._gram._greedy import oga_gram, oga_tangent


N, P = 24, 7
RTOL = 1e-10
seeds = st.integers(0, 2**31 - 1)
settings = hypothesis.settings(max_examples=15, deadline=None)


def draw(seed, cond=1e2):
    """A tangent map with singular values spread over `cond`, a residual, ∇L = Eᵀr."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((N, P)))
    v, _ = np.linalg.qr(rng.standard_normal((P, P)))
    s = np.geomspace(1.0, 1.0 / cond, P)
    e = (u * s) @ v.T
    r = rng.standard_normal(N)
    return jnp.asarray(e), jnp.asarray(r), jnp.asarray(e.T @ r)


@functools.partial(jax.jit, static_argnums=3)
def on_gram(e, r, g, k):
    return oga_gram(e.T @ e, g, k, RTOL, r @ r)


@functools.partial(jax.jit, static_argnums=3)
def on_tangent(e, r, g, k):
    return oga_tangent(e, g, k, RTOL, r)


@functools.partial(jax.jit, static_argnums=3)
def on_tangent_without_residual(e, r, g, k):
    del r
    return oga_tangent(e, g, k, RTOL, None)


FORMS = [on_gram, on_tangent, on_tangent_without_residual]


def projection_residual(e, r, chosen):
    """‖r − Π_{span E[:, I]} r‖², by least squares on the chosen columns."""
    cols = np.asarray(e)[:, [i for i in np.asarray(chosen) if i >= 0]]
    coef, *_ = np.linalg.lstsq(cols, np.asarray(r), rcond=None)
    return float(np.sum((np.asarray(r) - cols @ coef) ** 2))


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.__name__)
@hypothesis.given(seed=seeds)
@settings
def test_k_equal_p_is_the_full_natural_gradient(form, seed):
    e, r, g = draw(seed)
    out = form(e, r, g, P)
    full = np.linalg.solve(np.asarray(e.T @ e), np.asarray(g))
    assert int(out.rank) == P
    assert sorted(np.asarray(out.chosen).tolist()) == list(range(P))
    np.testing.assert_allclose(out.h, full, rtol=1e-8, atol=1e-10 * np.abs(full).max())


@hypothesis.given(seed=seeds)
@settings
def test_residual_is_nonincreasing_and_equals_the_direct_projection_error(seed):
    e, r, g = draw(seed, cond=1e3)
    for form in (on_gram, on_tangent):
        out = form(e, r, g, P)
        res = np.asarray(out.residual)
        assert np.all(np.diff(res) <= 1e-10 * res[0]), res
        # After step j the recorded ‖r_j‖² = (Gh − 2∇L)ᵀh + ‖r‖² is the distance of r
        # from the span of the first j chosen tangent vectors.
        chosen = np.asarray(out.chosen)
        for j in range(P):
            direct = projection_residual(e, r, chosen[: j + 1])
            assert res[j] == pytest.approx(direct, rel=1e-8, abs=1e-10)
        # ‖Π r‖² + ‖r − Π r‖² = ‖r‖² at every step.
        np.testing.assert_allclose(out.projection + res, float(r @ r), rtol=1e-10)


@hypothesis.given(seed=seeds)
@settings
def test_first_choice_is_the_best_single_tangent_vector(seed):
    e, r, g = draw(seed)
    errors = [projection_residual(e, r, [i]) for i in range(P)]
    best = int(np.argmin(errors))
    hypothesis.assume(sorted(errors)[1] - errors[best] > 1e-9 * errors[best])  # no tie
    for form in FORMS:
        assert int(form(e, r, g, 1).chosen[0]) == best


@pytest.mark.parametrize("k", [1, 3, 5])
@hypothesis.given(seed=seeds)
@settings
def test_greedy_direction_is_a_descent_direction(k, seed):
    e, r, g = draw(seed, cond=1e4)
    for form in FORMS:
        h = np.asarray(form(e, r, g, k).h)
        # ∇Lᵀh = ‖Π_{H_k} r‖² > 0: the step −s h decreases L for small s.
        assert float(np.asarray(g) @ h) > 0
        assert np.count_nonzero(h) <= k


@hypothesis.given(seed=seeds)
@settings
def test_gram_and_tangent_forms_agree(seed):
    e, r, g = draw(seed)
    a, b, c = (form(e, r, g, 4) for form in FORMS)
    np.testing.assert_array_equal(a.chosen, b.chosen)
    np.testing.assert_array_equal(a.chosen, c.chosen)
    np.testing.assert_allclose(a.h, b.h, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.h, c.h, rtol=1e-9, atol=1e-12)


def test_dependent_columns_are_skipped():
    e, r, _ = draw(3)
    e2 = jnp.concatenate([e, e[:, :2], 2.0 * e[:, 3:4]], axis=1)  # p = 10, rank 7
    g2 = e2.T @ r
    full_proj = e @ np.linalg.solve(np.asarray(e.T @ e), np.asarray(e.T @ r))
    for out in (
        oga_gram(e2.T @ e2, g2, 10, RTOL, r @ r),
        oga_tangent(e2, g2, 10, RTOL, r),
        oga_tangent(e2, g2, 10, RTOL, None),
    ):
        assert int(out.rank) == 7
        assert np.sum(np.asarray(out.chosen) >= 0) == 7
        assert np.all(np.isfinite(out.h))
        np.testing.assert_allclose(e2 @ out.h, full_proj, atol=1e-8)


def test_lineax_solver_and_gram_solve():
    e, r, g = draw(11)
    full = np.linalg.solve(np.asarray(e.T @ e), np.asarray(g))
    gram = lx.MatrixLinearOperator(e.T @ e, lx.positive_semidefinite_tag)
    sol = lx.linear_solve(gram, g, ng.OrthogonalGreedy(P))
    np.testing.assert_allclose(sol.value, full, rtol=1e-8)
    sol = lx.linear_solve(
        lx.MatrixLinearOperator(e), r, ng.OrthogonalGreedy(P, gram=False)
    )
    np.testing.assert_allclose(sol.value, full, rtol=1e-8)
    assert int(sol.stats["rank"]) == P
    h, stats = ng.gram_solve(ng.Greedy(3), e, g, residual=r)
    assert bool(stats["successful"]) and int(stats["rank"]) == 3
    assert stats["greedy_residual"].shape == (3,)
    # More steps than parameters: clipped to p.
    h, stats = ng.gram_solve(ng.Greedy(50), e, g, residual=r)
    np.testing.assert_allclose(h, full, rtol=1e-8)
    with pytest.raises(ValueError, match="positive int"):
        ng.Greedy(0)
    with pytest.raises(ValueError, match="square"):
        lx.linear_solve(lx.MatrixLinearOperator(e), r, ng.OrthogonalGreedy(3))


def test_greedy_in_natural_gradient_descends_and_records_per_step():
    square = ng.Box([0, 0], [1, 1])
    points = square.sample(jax.random.key(0), 60)
    target = lambda x: jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])
    model = eqx.nn.MLP(2, "scalar", 6, 1, activation=jnp.tanh, key=jax.random.key(1))
    problem = ng.Problem(model, ng.LeastSquares(target, points), ng.GaussNewton())
    sol = ng.solve(problem, ng.NaturalGradient(ng.Greedy(5), ng.LogGrid()), steps=10)
    losses = np.asarray(sol.losses)
    assert losses[-1] < 0.5 * losses[0]
    assert sol.stats["greedy_residual"].shape == (10, 5)
    # At each step the recorded residual after k steps plus the projection is ‖∇_u L‖²
    # = 2·loss for L = ½‖r‖².
    total = np.asarray(sol.stats["greedy_residual"] + sol.stats["greedy_projection"])
    np.testing.assert_allclose(
        total, 2 * losses[:-1, None] * np.ones((1, 5)), rtol=1e-8
    )


def test_negligible_tangent_vectors_are_never_chosen():
    # A dead neuron's tangent vector: norm 1e-19, but perfectly aligned with the
    # residual, so its scale-free score |(∇L − Gh)_i|/c_i is the largest. Choosing it
    # would give a coefficient ~1e19.
    e, r, _ = draw(5)
    dead = 1e-19 * r / jnp.linalg.norm(r)
    e2 = jnp.concatenate([e, dead[:, None]], axis=1)
    g2 = e2.T @ r
    for out in (
        oga_gram(e2.T @ e2, g2, 3, 1e-7, r @ r),
        oga_tangent(e2, g2, 3, 1e-7, r),
        oga_tangent(e2, g2, 3, 1e-7, None),
    ):
        assert P not in np.asarray(out.chosen).tolist()
        assert np.abs(np.asarray(out.h)).max() < 1e3


def test_greedy_works_inside_momentum():
    problem = ng.Problem(
        eqx.nn.MLP(2, "scalar", 6, 1, activation=jnp.tanh, key=jax.random.key(3)),
        ng.LeastSquares(
            lambda x: jnp.sin(jnp.pi * x[0]) * x[1],
            ng.Box([0, 0], [1, 1]).sample(jax.random.key(1), 60),
        ),
        ng.GaussNewton(),
    )
    for method in (
        ng.HeavyBall(ng.Greedy(5), ng.LogGrid(), 0.5),
        ng.Nesterov(ng.Greedy(5), ng.LogGrid(), 0.5),
    ):
        sol = ng.solve(problem, method, steps=10)
        assert float(sol.final_loss) < 0.5 * float(sol.losses[0])
        assert np.all(np.asarray(sol.stats["rank"]) == 5)
