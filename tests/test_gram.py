"""Gram solves: agreement, minimum-norm solutions, Woodbury = primal, descent, diagnostics."""

import equinox as eqx
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

import ngflow as ng
from ngflow._linearisation import Form

from .helpers import GRAM_SOLVES, matrix_with_singular_values, target_2d


seeds = st.integers(0, 2**31 - 1)

# Solves that return G⁻¹∇L on a full-rank problem (damping switched off).
EXACT = {
    "Cholesky": ng.Cholesky(0.0),
    "Pinv": ng.Pinv(),
    "QR": ng.QR(),
    "CG": ng.CG(rtol=1e-13, max_steps=200),
    "AutoGram": ng.AutoGram(),
}


def _well_conditioned(seed, m=40, n=12):
    rng = np.random.default_rng(seed)
    s = np.linspace(1.0, 0.2, n)  # κ(E) = 5
    e = matrix_with_singular_values(rng, m, n, s)
    g = rng.standard_normal(m)
    return e, g


@pytest.mark.parametrize("with_residual", [False, True])
@given(seed=seeds)
def test_all_solves_agree_on_well_conditioned_problems(seed, with_residual):
    e, g = _well_conditioned(seed)
    grad = e.T @ g
    exact = np.linalg.solve(e.T @ e, grad)
    residual = g if with_residual else None
    for name, solver in EXACT.items():
        h, stats = ng.gram_solve(solver, e, grad, residual=residual)
        assert bool(stats["successful"]), name
        err = np.linalg.norm(h - exact) / np.linalg.norm(exact)
        assert err < 1e-8, (name, err)


@given(seed=seeds)
def test_matrix_metric_solves_agree(seed):
    e, _ = _well_conditioned(seed)
    m = e.T @ e
    grad = np.random.default_rng(seed + 1).standard_normal(m.shape[0])
    exact = np.linalg.solve(m, grad)
    for solver in [ng.Cholesky(0.0), ng.Pinv(), ng.CG(rtol=1e-13, max_steps=200)]:
        h, stats = ng.gram_solve(solver, m, grad, factored=False)
        assert bool(stats["successful"])
        assert np.linalg.norm(h - exact) < 1e-8 * np.linalg.norm(exact)


@pytest.mark.parametrize("shape", [(30, 10), (8, 20)])
@given(seed=seeds)
def test_rank_deficient_pinv_and_qr_give_minimum_norm(seed, shape):
    m, n = shape
    rng = np.random.default_rng(seed)
    rank = min(m, n) - 3
    s = np.concatenate([np.linspace(2.0, 0.5, rank), np.zeros(min(m, n) - rank)])
    e = matrix_with_singular_values(rng, m, n, s)
    g = rng.standard_normal(m)
    grad = e.T @ g
    # Minimum-norm solutions: of min ‖Eh − g‖ and of G h = ∇L (they coincide: E⁺g = G⁺Eᵀg).
    expected = np.linalg.pinv(e) @ g
    assert np.allclose(expected, np.linalg.pinv(e.T @ e) @ grad, atol=1e-10)
    for solver in [ng.Pinv(), ng.QR()]:
        for residual in [None, g]:
            h, stats = ng.gram_solve(solver, e, grad, residual=residual)
            assert int(stats["rank"]) == rank
            err = np.linalg.norm(h - expected) / np.linalg.norm(expected)
            assert err < 1e-8, (type(solver).__name__, residual is None, err)
    # An undamped Cholesky on the singular Gram matrix does not find it.
    h, stats = ng.gram_solve(ng.Cholesky(0.0), e, grad)
    err = np.linalg.norm(h - expected) / np.linalg.norm(expected)
    assert (not bool(stats["successful"])) or err > 1e-6


@given(seed=seeds, damping=st.floats(1e-6, 1e-1))
def test_woodbury_equals_primal_damped_solve(seed, damping):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((10, 25))  # N < p: sample space is the cheap side
    g = rng.standard_normal(10)
    grad = e.T @ g
    primal = np.linalg.solve(e.T @ e + damping * np.eye(25), grad)
    for relative in [False, True]:
        h_w, _ = ng.gram_solve(
            ng.Woodbury(damping, relative=relative), e, grad, residual=g
        )
        h_c, _ = ng.gram_solve(ng.Cholesky(damping, relative=relative), e, grad)
        assert np.linalg.norm(h_w - h_c) < 1e-8 * np.linalg.norm(h_c)
    h_w, stats = ng.gram_solve(
        ng.Woodbury(damping, relative=False), e, grad, residual=g
    )
    assert np.linalg.norm(h_w - primal) < 1e-8 * np.linalg.norm(primal)
    assert np.isclose(float(stats["damping"]), damping)


@given(seed=seeds)
def test_woodbury_without_residual_is_minimum_norm(seed):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((10, 25))
    grad = rng.standard_normal(25)  # not in the range of Eᵀ: no residual form
    expected = np.linalg.pinv(e.T @ e) @ grad
    h, _ = ng.gram_solve(ng.Woodbury(0.0), e, grad)
    assert np.linalg.norm(h - expected) < 1e-7 * np.linalg.norm(expected)


@given(seed=seeds)
def test_every_direction_is_a_descent_direction(seed):
    rng = np.random.default_rng(seed)
    # Rank deficient and badly conditioned, the realistic case.
    s = np.concatenate([np.logspace(0, -6, 9), np.zeros(3)])
    e = matrix_with_singular_values(rng, 30, 12, s)
    g = rng.standard_normal(30)
    grad = e.T @ g
    for name, solver in GRAM_SOLVES.items():
        for residual in [None, g]:
            h, stats = ng.gram_solve(solver, e, grad, residual=residual)
            assert bool(stats["successful"]), name
            assert float(grad @ h) > 0, (name, residual is None)


def test_zero_gradient_gives_zero_direction():
    e = np.random.default_rng(0).standard_normal((20, 5))
    for name, solver in GRAM_SOLVES.items():
        h, _ = ng.gram_solve(solver, e, np.zeros(5))
        assert np.allclose(h, 0.0), name


def test_relative_damping_is_scaled_by_mean_eigenvalue():
    e = np.random.default_rng(0).standard_normal((20, 5)) * 7.0
    g = e.T @ e
    _, stats = ng.gram_solve(ng.Cholesky(1e-3), e, np.ones(5))
    assert np.isclose(float(stats["damping"]), 1e-3 * np.trace(g) / 5)
    _, stats = ng.gram_solve(ng.Cholesky(1e-3, relative=False), e, np.ones(5))
    assert np.isclose(float(stats["damping"]), 1e-3)


def test_diagnostics_see_rank_and_condition():
    rng = np.random.default_rng(3)
    s = np.array([10.0, 1.0, 0.1, 0.0])
    e = matrix_with_singular_values(rng, 12, 4, s)
    grad = e.T @ rng.standard_normal(12)
    _, stats = ng.gram_solve(ng.Pinv(), e, grad)
    assert int(stats["rank"]) == 3
    assert np.isclose(float(stats["cond"]), 100.0)
    _, stats = ng.gram_solve(ng.QR(), e, grad)
    assert int(stats["rank"]) == 3
    assert 10.0 < float(stats["cond"]) < 1e4  # pivoted-QR estimate of σ1/σ3 = 100
    # The cutoff is a regulariser: raising rcond drops the 0.1 direction.
    _, stats = ng.gram_solve(ng.Pinv(rcond=0.05), e, grad)
    assert int(stats["rank"]) == 2
    _, stats = ng.gram_solve(ng.CG(rtol=1e-12, max_steps=50), e, grad)
    assert float(stats["solve_residual"]) < 1e-8


def test_qr_is_more_accurate_than_normal_equations_on_ill_conditioned_least_squares():
    """The point of factoring: least squares on E keeps κ(E), the Gram system squares it."""
    rng = np.random.default_rng(0)
    m, n = 200, 20
    e = matrix_with_singular_values(rng, m, n, np.logspace(0, -6, n))  # κ(E) = 1e6
    h_true = rng.standard_normal(n)
    g = e @ h_true  # a consistent system: the error is all conditioning
    grad = e.T @ g
    h_qr, _ = ng.gram_solve(ng.QR(rcond=1e-12), e, grad, residual=g)
    h_ch, _ = ng.gram_solve(ng.Cholesky(0.0), e, grad)
    err_qr = np.linalg.norm(h_qr - h_true) / np.linalg.norm(h_true)
    err_ch = np.linalg.norm(h_ch - h_true) / np.linalg.norm(h_true)
    assert err_qr < 1e-7  # ~ κ(E)·ε
    assert err_ch > 1e3 * err_qr  # ~ κ(E)²·ε


def test_solves_needing_the_tangent_map_refuse_a_matrix_metric():
    m = np.eye(4)
    for solver in [ng.QR(), ng.Woodbury()]:
        with pytest.raises(TypeError, match="tangent map"):
            ng.gram_solve(solver, m, np.ones(4), factored=False)


def test_gram_solve_checks_shapes():
    with pytest.raises(ValueError, match=r"expected \(5,\)"):
        ng.gram_solve(ng.QR(), np.ones((10, 5)), np.ones(4))
    with pytest.raises(ValueError, match=r"residual"):
        ng.gram_solve(ng.QR(), np.ones((10, 5)), np.ones(5), residual=np.ones(3))


# -- chunked Gram matrices (large N): G = Σ_c E_cᵀE_c, E never held whole ------------------


def _chunk_problems():
    pts = jax.random.uniform(jax.random.key(0), (37, 2))
    model = eqx.nn.MLP(2, "scalar", 6, 2, activation=jnp.tanh, key=jax.random.key(1))
    box = ng.Box([0, 0], [1, 1])
    interior = ng.Residual(lambda u, x: ng.laplacian(u, x) + 1.0, box.interior_grid(5))
    edge = ng.Residual(lambda u, x: u(x), box.boundary_grid(6), weight=10.0)
    return {
        "least squares, L2": ng.Problem(
            model, ng.LeastSquares(target_2d, pts), ng.L2(pts)
        ),
        "PINN, energy": ng.Problem(model, interior + edge, ng.Energy()),
        "scaled loss, Gauss-Newton": ng.Problem(
            model, 3.0 * ng.LeastSquares(target_2d, pts), ng.GaussNewton()
        ),
    }


def _gram_and_rhs(tangent):
    return tangent.gram, tangent.gram_rhs


def _sample_and_values(tangent):
    return tangent.sample_gram, tangent.values


@pytest.mark.parametrize("chunk", [1, 8, 1000])
def test_chunked_gram_is_the_gram_of_the_tangent_map(chunk):
    for name, problem in _chunk_problems().items():
        flat = ng.FlatModel(problem.model)
        tangent = problem.metric.linearise(problem, flat, flat.theta0)
        e, values = tangent.matrix, tangent.values
        gram = jax.jit(
            lambda t, pr=problem, fl=flat: _gram_and_rhs(
                pr.metric.linearise(pr, fl, t, Form("gram", chunk))
            )
        )
        g, b = gram(flat.theta0)
        scale = jnp.abs(e.T @ e).max()
        np.testing.assert_allclose(g, e.T @ e, atol=1e-13 * scale, err_msg=name)
        np.testing.assert_allclose(b, e.T @ values, atol=1e-13 * scale, err_msg=name)
        sample = jax.jit(
            lambda t, pr=problem, fl=flat: _sample_and_values(
                pr.metric.linearise(pr, fl, t, Form("sample_gram", chunk))
            )
        )
        k, phi = sample(flat.theta0)
        np.testing.assert_allclose(k, e @ e.T, atol=1e-13 * scale, err_msg=name)
        np.testing.assert_allclose(phi, values, atol=1e-14, err_msg=name)


def _largest_array(fn, *args):
    """The most entries of any array in the jaxpr of `fn` (sub-jaxprs included)."""
    jaxpr = jax.make_jaxpr(fn)(*args)
    sizes = []

    def walk(jp):
        for eqn in jp.eqns:
            sizes.extend(int(np.prod(v.aval.shape)) for v in eqn.outvars)
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(jaxpr.jaxpr)
    return max(sizes)


def test_chunked_cholesky_never_forms_the_tangent_map():
    pts = jax.random.uniform(jax.random.key(0), (300, 2))
    model = eqx.nn.MLP(2, "scalar", 6, 2, activation=jnp.tanh, key=jax.random.key(1))
    problem = ng.Problem(model, ng.LeastSquares(target_2d, pts), ng.GaussNewton())
    flat = ng.FlatModel(problem.model)
    n, p = 300, flat.theta0.shape[0]

    def step(gram, theta):
        return ng.NaturalGradient(gram, ng.Constant(0.5)).update(
            problem, flat, theta, None
        )

    def largest(gram):
        return _largest_array(lambda t: step(gram, t), flat.theta0)

    assert largest(ng.Cholesky(1e-6)) >= n * p  # the dense path holds E (N × p)
    assert largest(ng.Cholesky(1e-6, chunk=16)) < n * p / 4  # chunk rows and G only
    # The same step up to rounding: G is summed in another order, and the gradient comes
    # from a backward pass instead of Eᵀr.
    dense = step(ng.Cholesky(1e-3), flat.theta0)[0]
    chunked = step(ng.Cholesky(1e-3, chunk=16), flat.theta0)[0]
    np.testing.assert_allclose(chunked, dense, rtol=1e-7)
    with pytest.raises(ValueError, match="chunk"):
        ng.Cholesky(chunk=0)


@pytest.mark.parametrize("residual", [True, False])
def test_chunked_woodbury_never_forms_the_tangent_map(residual):
    # Wide E (N = 40 < p = 221): the sample-space solve, K = EEᵀ from chunks of points.
    pts = jax.random.uniform(jax.random.key(0), (40, 2))
    model = eqx.nn.MLP(2, "scalar", 12, 2, activation=jnp.tanh, key=jax.random.key(1))
    metric = ng.GaussNewton() if residual else ng.L2(pts)  # L2: no residual, ∇L first
    problem = ng.Problem(model, ng.LeastSquares(target_2d, pts), metric)
    flat = ng.FlatModel(problem.model)
    n, p = 40, flat.theta0.shape[0]
    assert n < p

    def step(gram, theta):
        return ng.NaturalGradient(gram, ng.Constant(0.5)).update(
            problem, flat, theta, None
        )

    assert _largest_array(lambda t: step(ng.Woodbury(1e-6), t), flat.theta0) >= n * p
    assert (
        _largest_array(lambda t: step(ng.Woodbury(1e-6, chunk=4), t), flat.theta0)
        < n * p / 4
    )
    dense, _, dense_info = step(ng.Woodbury(1e-4), flat.theta0)
    chunked, _, chunked_info = step(ng.Woodbury(1e-4, chunk=7), flat.theta0)  # 7 ∤ 40
    # Equal up to rounding (K summed in another order; E applied by jvp/vjp).
    np.testing.assert_allclose(chunked, dense, rtol=1e-7, atol=1e-9)  # |θ| ~ 1
    for key in ("damping", "solve_residual"):
        np.testing.assert_allclose(
            chunked_info.stats[key], dense_info.stats[key], rtol=1e-5, atol=1e-12
        )
    with pytest.raises(ValueError, match="chunk"):
        ng.Woodbury(chunk=-1)


def test_auto_gram_chooses_by_size_and_records_why():
    model = _chunk_problems()["least squares, L2"].model  # p = 67
    pts = jax.random.uniform(jax.random.key(2), (300, 2))
    problem = ng.Problem(model, ng.LeastSquares(target_2d, pts), ng.L2(pts))
    n, p = 300, ng.FlatModel(model).theta0.shape[0]
    expected = {
        n * p: (0, ng.Pinv()),  # E fits
        p * p: (
            3,
            ng.Cholesky(1e-8, chunk=max(1, p * p // (8 * p))),
        ),  # G fits, E does not
        # nothing fits (and N > p: no sample space): the sketch on all 300 rows, 7 at a time
        4000: (5, ng.Sketch(128, rows=300, chunk=7)),
    }
    for limit, (index, solver) in expected.items():
        auto = ng.AutoGram(dense_limit=limit)
        sol = ng.solve(problem, ng.NaturalGradient(auto, ng.Constant(0.1)), steps=2)
        ref = ng.solve(problem, ng.NaturalGradient(solver, ng.Constant(0.1)), steps=2)
        assert np.all(np.asarray(sol.stats["auto_choice"]) == index), limit
        # the same solve, compiled in another program: equal up to rounding (the truncated
        # CG amplifies it to ~1e-11)
        np.testing.assert_allclose(sol.final_loss, ref.final_loss, rtol=1e-9)
        assert type(solver).__name__ in auto.describe(n=n, p=p)
    assert "Cholesky" in ng.AutoGram.CHOICES[3] and len(ng.AutoGram.CHOICES) == 6
    # Wide E (N = 20 < p): Pinv while small, then sample space, dense or chunked.
    wide = ng.Problem(model, ng.LeastSquares(target_2d, pts[:20]), ng.L2(pts[:20]))
    for auto, index, solver in [
        (ng.AutoGram(dense_limit=10_000), 0, ng.Pinv()),
        (ng.AutoGram(dense_limit=10_000, pinv_limit=100), 1, ng.Woodbury()),
        (ng.AutoGram(dense_limit=400), 2, ng.Woodbury(chunk=1)),
    ]:
        sol = ng.solve(wide, ng.NaturalGradient(auto, ng.Constant(0.1)), steps=2)
        ref = ng.solve(wide, ng.NaturalGradient(solver, ng.Constant(0.1)), steps=2)
        assert np.all(np.asarray(sol.stats["auto_choice"]) == index), index
        np.testing.assert_allclose(sol.final_loss, ref.final_loss, rtol=1e-9)
    # Without dense_limit, L is a share of the memory available: a tiny share leaves the
    # sketch (CG is never chosen; AutoGram.cg gives the preconditioned CG it used to take).
    flat = ng.FlatModel(model)
    tangent = problem.metric.linearise(problem, flat, flat.theta0)
    choice = ng.AutoGram(memory_fraction=1e-15).select(tangent)
    assert isinstance(choice, ng.Sketch) and choice.chunk == 1
    assert isinstance(ng.AutoGram.cg(8).preconditioner, ng.Nystrom)
    assert (
        ng.AutoGram(memory_fraction=0.5).limit()
        > ng.AutoGram(memory_fraction=0.01).limit()
        > 0
    )


def test_gram_solves_example_runs_and_holds_its_claim(monkeypatch):
    # examples/gram_solves.py --quick exits non-zero (SystemExit) if its claim fails.
    import pathlib
    import runpy
    import sys

    path = (
        pathlib.Path(__file__).resolve().parent.parent / "examples" / "gram_solves.py"
    )
    monkeypatch.setattr(sys, "argv", ["gram_solves.py", "--quick"])
    runpy.run_path(str(path), run_name="__main__")
