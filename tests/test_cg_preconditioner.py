"""Preconditioned CG: same solution, far fewer iterations, chunked = unchunked, errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ngflow as ng
from ngflow._gram._precondition import gram_diagonal, gram_sketch

from .helpers import matrix_with_singular_values, target_2d


PRECONDITIONERS = {
    "diagonal": "diagonal",
    "nystrom5": ng.Nystrom(rank=5),
    "nystrom12": ng.Nystrom(rank=12),
    "nystrom_over_p": ng.Nystrom(rank=50),  # capped at p
}


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1), name=st.sampled_from(sorted(PRECONDITIONERS)))
def test_same_solution_as_dense_solve(seed, name):
    rng = np.random.default_rng(seed)
    e = matrix_with_singular_values(rng, 40, 12, np.linspace(1.0, 0.2, 12))
    grad = rng.standard_normal(12)
    lam = 1e-3
    solver = ng.CG(
        rtol=1e-13, max_steps=200, damping=lam, preconditioner=PRECONDITIONERS[name]
    )
    h, stats = ng.gram_solve(solver, e, grad)
    assert bool(stats["successful"])
    expected = np.linalg.solve(e.T @ e + lam * np.eye(12), grad)
    np.testing.assert_allclose(h, expected, rtol=1e-8, atol=1e-10)


def test_preconditioner_without_damping_is_refused():
    # On the Poisson PINN an undamped Nyström-preconditioned CG broke down to NaN at the
    # first step (rank-deficient G): refused at construction, with the reason.
    for pre in ("diagonal", ng.Nystrom(rank=4)):
        with pytest.raises(ValueError, match="damping"):
            ng.CG(preconditioner=pre)
    ng.CG()  # plain CG may be undamped


def test_nystrom_needs_far_fewer_iterations_on_decaying_spectrum():
    # Singular values 1 .. 1e-6 (eigenvalues of G down to 1e-12), damping 1e-8: plain CG
    # is slow; a Nyström preconditioner of rank 30 captures every eigenvalue above ~λ.
    rng = np.random.default_rng(0)
    p = 60
    e = matrix_with_singular_values(rng, 80, p, np.logspace(0, -6, p))
    grad = rng.standard_normal(p)
    steps = {}
    for name, pre in (("none", None), ("nystrom", ng.Nystrom(rank=30))):
        solver = ng.CG(rtol=1e-6, max_steps=500, damping=1e-8, preconditioner=pre)
        h, stats = ng.gram_solve(solver, e, grad)
        steps[name] = int(stats["cg_steps"])
        res = np.linalg.norm(e.T @ (e @ h) + 1e-8 * h - grad) / np.linalg.norm(grad)
        if name == "nystrom":
            assert res < 1e-5
            assert float(stats["precond_min_eig"]) < 1e-5
    assert steps["nystrom"] < steps["none"] / 2, steps


def _tangent_map(chunk_points=20, width=6):
    pts = jax.random.uniform(
        jax.random.key(0), (chunk_points * 3 + 7, 2)
    )  # ragged chunks
    model = eqx.nn.MLP(
        2, "scalar", width, 1, activation=jnp.tanh, key=jax.random.key(1)
    )
    problem = ng.Problem(model, ng.LeastSquares(target_2d, pts), ng.GaussNewton())
    flat = ng.FlatModel(model)
    tm = lambda: problem.metric.linearise(problem, flat, flat.theta0)
    return problem, tm


def test_chunked_preconditioner_equals_unchunked():
    problem, tm = _tangent_map()
    np.testing.assert_allclose(
        gram_diagonal(tm(), 20), gram_diagonal(tm(), None), rtol=1e-12, atol=1e-14
    )
    omega = ng.Nystrom(rank=8).omega(tm().theta.shape[0], jnp.float64)
    np.testing.assert_allclose(
        gram_sketch(tm(), omega, 20),
        gram_sketch(tm(), omega, None),
        rtol=1e-12,
        atol=1e-14,
    )
    # converged solves (a truncated Jacobi-PCG on this system amplifies the rounding
    # differences of dense and jvp/vjp products to ~1e-3)
    for pre in ("diagonal", ng.Nystrom(rank=8)):
        cg = lambda chunk, pre=pre: ng.CG(
            damping=1e-4, rtol=1e-9, max_steps=300, preconditioner=pre, chunk=chunk
        )
        sols = [
            ng.solve(problem, ng.NaturalGradient(cg(c)), steps=3) for c in (None, 20)
        ]
        assert np.all(np.asarray(sols[0].stats["cg_steps"]) < 300)
        np.testing.assert_allclose(sols[0].losses, sols[1].losses, rtol=1e-8)
        assert sols[0].losses[-1] < 0.5 * sols[0].losses[0]


def test_preconditioned_ngd_descends_and_records():
    problem, _ = _tangent_map()
    sol = ng.solve(
        problem,
        ng.NaturalGradient(ng.CG(damping=1e-6, preconditioner=ng.Nystrom(10))),
        steps=5,
    )
    assert sol.successful
    assert sol.losses[-1] < 0.5 * sol.losses[0]
    assert np.all(np.asarray(sol.stats["precond_rank"]) == 10)
    assert (
        "precond_rank"
        not in ng.solve(problem, ng.NaturalGradient(ng.CG()), steps=1).stats
    )


def test_metric_matrix_is_solved_without_preconditioner():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((8, 8))
    m = a @ a.T + np.eye(8)
    grad = rng.standard_normal(8)
    solver = ng.CG(
        rtol=1e-12, max_steps=100, damping=1e-3, preconditioner=ng.Nystrom(4)
    )
    h, stats = ng.gram_solve(solver, m, grad, factored=False)
    np.testing.assert_allclose(
        h, np.linalg.solve(m + 1e-3 * np.eye(8), grad), rtol=1e-8
    )
    assert "precond_rank" not in stats


@pytest.mark.parametrize("rank", [0, -3, 2.5, True, None])
def test_bad_rank(rank):
    with pytest.raises(ValueError, match="rank"):
        ng.Nystrom(rank=rank)


@pytest.mark.parametrize("pre", ["jacobi", "nystrom", 3, len])
def test_bad_preconditioner(pre):
    with pytest.raises(ValueError, match="preconditioner"):
        ng.CG(preconditioner=pre)


@pytest.mark.parametrize("chunk", [0, -1, 2.0, True])
def test_bad_chunk(chunk):
    with pytest.raises(ValueError, match="chunk"):
        ng.CG(damping=1e-6, preconditioner="diagonal", chunk=chunk)


@pytest.mark.parametrize("pre", [None, "diagonal", ng.Nystrom(rank=6)])
def test_relative_damping_is_that_of_cholesky(pre):
    # λ = damping · tr(G)/p, tr(G) = ‖E‖²_F from the preconditioner's pass (or its own).
    rng = np.random.default_rng(3)
    e = 7.0 * matrix_with_singular_values(rng, 40, 12, np.logspace(0, -3, 12))
    grad = rng.standard_normal(12)
    solver = ng.CG(
        1e-12, damping=1e-3, relative=True, preconditioner=pre, max_steps=200
    )
    h, stats = ng.gram_solve(solver, e, grad)
    h_ref, ref = ng.gram_solve(ng.Cholesky(1e-3, relative=True), e, grad)
    np.testing.assert_allclose(stats["damping"], ref["damping"], rtol=1e-13)
    np.testing.assert_allclose(stats["damping"], 1e-3 * np.sum(e**2) / 12, rtol=1e-13)
    np.testing.assert_allclose(h, h_ref, rtol=1e-8)
    with pytest.raises(TypeError, match="relative"):
        ng.gram_solve(solver, e.T @ e, grad, factored=False)


@pytest.mark.parametrize("pre", [None, "diagonal", ng.Nystrom(rank=30)])
def test_small_scale_systems_do_not_break_down(pre):
    # lineax.CG's breakdown test is absolute (pᵀAp ≤ 100 ε n rᵀz): on E scaled by 1e-5
    # (eigenvalues of G ≤ 1e-10) CG used to stop at once with NaN (found at p = 100k on
    # the Poisson PINN). The scale-free preconditioners make the solve invariant:
    # (s²G + s²λ) h = s² ∇L has the same h.
    rng = np.random.default_rng(4)
    e = matrix_with_singular_values(rng, 80, 60, np.logspace(0, -3, 60))
    grad = e.T @ rng.standard_normal(80)
    solver = ng.CG(
        1e-10, damping=1e-6, relative=True, preconditioner=pre, max_steps=300
    )
    h1, stats1 = ng.gram_solve(solver, e, grad)
    for scale in (1e-3, 1e-5):
        h, stats = ng.gram_solve(solver, scale * e, scale**2 * grad)
        assert bool(stats["successful"]) and np.all(np.isfinite(h)), scale
        if not isinstance(pre, ng.Nystrom):  # 300 iterations do not converge (κ ~ 1e6):
            # rounding takes another path, as accurate as at scale 1
            assert stats["solve_residual"] < 10 * stats1["solve_residual"] + 1e-6
        else:
            np.testing.assert_allclose(h, h1, rtol=1e-6, atol=1e-8 * np.abs(h1).max())
