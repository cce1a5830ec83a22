"""The Levenberg--Marquardt curve of every factorisation, and the trust region on it.

The curve $h(\\lambda) = (M + \\lambda I)^{-1}\\nabla L$ comes from one SVD or
eigendecomposition per step; these tests check it against the mathematics (limits,
monotone norm, the damped normal equations, the secular equation) and check the trust
region's rule (never increases the loss, shrinks on rejection, one step on a linear
least-squares problem).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

import ngflow as ng
from ngflow._methods._descents import DampedPath, ScaledPath
from ngflow._methods._step_rules import TrustRegionState

from .helpers import matrix_with_singular_values, mlp_problem


seeds = st.integers(0, 2**31 - 1)

# Every solve with a curve; `factored` says whether it takes E (True) or G (False).
CURVES = {
    "Pinv": ng.Pinv(),  # SVD of R (tall E) or of E (wide)
    "QR": ng.QR(),
    "Cholesky": ng.Cholesky(0.0),  # eigendecomposition of G
    "Woodbury": ng.Woodbury(0.0),  # eigendecomposition of K = EEᵀ
    "AutoGram": ng.AutoGram(),
}

# Shapes: tall (N ≥ 2p: SVD of the QR factor), wide (N < p), near square.
SHAPES = [(40, 8), (6, 10), (12, 10)]


def _system(seed, shape, decay=1e-3, rank=None):
    rng = np.random.default_rng(seed)
    n, p = shape
    k = min(n, p)
    s = np.geomspace(1.0, decay, k)
    if rank is not None:
        s[rank:] = 0.0
    e = matrix_with_singular_values(rng, n, p, s)
    r = rng.standard_normal(n)
    return jnp.asarray(e), jnp.asarray(r)


def _damped(e, r, lam):
    p = e.shape[1]
    return np.linalg.solve(e.T @ e + lam * np.eye(p), e.T @ r)


@pytest.mark.parametrize("name", list(CURVES))
@pytest.mark.parametrize("shape", SHAPES, ids=["tall", "wide", "square"])
@given(seed=seeds)
def test_curve_is_the_damped_solve_at_every_damping(name, shape, seed):
    """h(λ) from one factorisation = the damped normal equations (G + λI)h = Eᵀr."""
    if name == "Woodbury" and shape[0] > shape[1]:
        return  # sample space is for wide E (K is N×N of rank p)
    e, r = _system(seed, shape)
    curve, stats = ng.gram_curve(CURVES[name], e, e.T @ r, residual=r)
    assert bool(stats["successful"])
    for lam in (1e-4, 1e-2, 1.0):
        exact = _damped(np.asarray(e), np.asarray(r), lam)
        h = np.asarray(curve.direction(lam))
        assert np.linalg.norm(h - exact) <= 1e-9 * np.linalg.norm(exact), (name, lam)


@pytest.mark.parametrize("shape", SHAPES, ids=["tall", "wide", "square"])
@given(seed=seeds)
def test_curve_limits(shape, seed):
    """λ → 0: the minimum-norm least-squares step E⁺r; λ → ∞: λh(λ) → ∇L = Eᵀr."""
    e, r = _system(seed, shape, rank=min(shape) - 2)  # rank deficient
    curve, _ = ng.gram_curve(ng.Pinv(), e, e.T @ r, residual=r)
    minimum_norm = np.linalg.lstsq(np.asarray(e), np.asarray(r), rcond=1e-12)[0]
    h0 = np.asarray(curve.direction(0.0))
    assert np.linalg.norm(h0 - minimum_norm) <= 1e-9 * np.linalg.norm(minimum_norm)
    grad = np.asarray(e.T @ r)
    big = 1e9
    scaled = big * np.asarray(curve.direction(big))
    assert np.linalg.norm(scaled - grad) <= 1e-8 * np.linalg.norm(grad)


@pytest.mark.parametrize("name", ["Pinv", "Cholesky", "Woodbury"])
@given(seed=seeds)
def test_norm_decreases_and_the_radius_is_hit(name, seed):
    """‖h(λ)‖ strictly decreasing; λ(Δ) from the secular equation gives ‖h‖ = Δ."""
    e, r = _system(seed, (6, 10), decay=1e-4)
    curve, _ = ng.gram_curve(CURVES[name], e, e.T @ r, residual=r)
    lams = jnp.concatenate([jnp.zeros(1), jnp.geomspace(1e-12, 1e6, 60)])
    norms = np.asarray(jax.vmap(curve.norm)(lams))
    assert np.all(np.diff(norms) < 0), norms
    full = norms[0]
    radii = full * np.geomspace(1e-6, 0.999, 9)
    lam = curve.damping_for_radius(jnp.asarray(radii))
    assert np.all(np.asarray(lam) > 0)
    hit = np.asarray(jax.vmap(curve.norm)(lam))
    np.testing.assert_allclose(hit, radii, rtol=1e-10)
    # At and beyond the undamped step: no damping.
    beyond = curve.damping_for_radius(jnp.asarray([full, 2 * full, 1e30]))
    np.testing.assert_array_equal(np.asarray(beyond), 0.0)


@given(seed=seeds)
def test_predicted_reduction_is_the_gauss_newton_model(seed):
    """predicted(λ) = ½‖r‖² − ½‖r − Eh(λ)‖² and slope(λ) = ∇Lᵀh(λ)."""
    e, r = _system(seed, (40, 8))
    curve, _ = ng.gram_curve(ng.Pinv(), e, e.T @ r, residual=r)
    for lam in (0.0, 1e-3, 1.0):
        h = curve.direction(lam)
        model = 0.5 * r @ r - 0.5 * jnp.sum((r - e @ h) ** 2)
        assert abs(float(curve.predicted(lam) - model)) <= 1e-10 * float(r @ r)
        assert abs(float(curve.slope(lam) - (e.T @ r) @ h)) <= 1e-10 * float(r @ r)


def test_rank_deficient_tangent_map_gives_finite_steps():
    """Exactly dependent columns (zero singular values): every point is finite."""
    e, r = _system(0, (30, 8), rank=3)
    e = e.at[:, 5].set(e[:, 4])  # and two equal columns
    for name, solver in CURVES.items():
        curve, stats = ng.gram_curve(solver, e, e.T @ r, residual=r)
        assert bool(stats["successful"]), name
        lam = curve.damping_for_radius(jnp.geomspace(1e-8, 1e3, 12))
        steps = jax.vmap(curve.direction)(lam)
        assert bool(jnp.all(jnp.isfinite(steps))), name


@given(seed=seeds)
def test_hessian_curve_damps_absolute_eigenvalues(seed):
    """An indefinite Hessian: shifts |μ|, every damped step is a descent direction, and
    the predicted reduction is that of the true quadratic model."""
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    mu = np.array([3.0, 1.0, 0.5, -0.2, -1.0, 1e-3])
    hess = (q * mu) @ q.T
    grad = rng.standard_normal(6)
    curve, stats = ng.gram_curve(ng.Pinv(), hess, grad, factored=False)
    assert bool(stats["successful"])
    np.testing.assert_allclose(np.sort(np.asarray(curve.shift)), np.sort(np.abs(mu)))
    for lam in (0.0, 1e-2, 1.0):
        h = np.asarray(curve.direction(lam))
        assert grad @ h > 0
        expected = np.linalg.solve(q @ np.diag(np.abs(mu) + lam) @ q.T, grad)
        np.testing.assert_allclose(h, expected, rtol=1e-8, atol=1e-12)
        model = grad @ h - 0.5 * h @ hess @ h
        assert abs(float(curve.predicted(lam)) - model) <= 1e-10 * abs(model) + 1e-14


def test_solves_without_a_curve():
    e, r = _system(0, (20, 5))
    for solver in (ng.CG(), ng.Greedy(3)):
        with pytest.raises(TypeError, match="has no Levenberg"):
            ng.gram_curve(solver, e, e.T @ r, residual=r)


# ---------------------------------------------------------------- the trust region


def _probe_search(rule, path, loss_at, loss=1.0, radius=1.0):
    theta = jnp.zeros(path.full_norm.shape or (), float)
    theta = jnp.zeros(3)
    grad = jnp.ones(3)
    return rule.search(loss_at, theta, path, loss, grad, TrustRegionState(radius))


@pytest.mark.parametrize("early_exit", [True, False])
def test_a_rejected_step_shrinks_the_radius(early_exit):
    """If no probe lowers the loss the step is rejected (θ unchanged) and the next
    radius is the smallest probed, Δ/window."""
    rule = ng.TrustRegion(window=3.0, num=8, early_exit=early_exit)
    path = ScaledPath(
        jnp.array([100.0, 0.0, 0.0]), jnp.asarray(100.0), jnp.asarray(1e4)
    )
    worse = lambda t: 1.0 + jnp.sum(t**2)  # every step raises the loss
    d, size, stats, result, state = _probe_search(rule, path, worse, radius=1.0)
    assert result == ng.RESULTS.successful
    assert not bool(stats["accepted"])
    np.testing.assert_array_equal(np.asarray(d), 0.0)
    assert float(size) == 0.0
    np.testing.assert_allclose(float(state.radius), 1.0 / 3.0)


def test_the_largest_radius_that_reaches_the_target_is_kept():
    """A quadratic loss with its model exact: every ratio is 1, so the longest probe (the
    window's top, 3Δ) is kept, and the radius grows."""
    rule = ng.TrustRegion(window=3.0, num=8)
    h = jnp.array([100.0, 0.0, 0.0])
    # L(θ) = 1 + θ·1 ... model with gradient (1,1,1): use L(θ) = ½‖θ − c‖² with c = h.
    loss_at = lambda t: 0.5 * jnp.sum((t + h) ** 2)
    path = ScaledPath(h, h @ h, h @ h)  # ∇L = h at θ = 0, M = I
    d, size, stats, result, state = rule.search(
        loss_at, jnp.zeros(3), path, loss_at(jnp.zeros(3)), h, TrustRegionState(1.0)
    )
    assert bool(stats["accepted"])
    np.testing.assert_allclose(float(stats["ratio"]), 1.0, rtol=1e-12)
    np.testing.assert_allclose(float(state.radius), 3.0)
    np.testing.assert_allclose(float(jnp.linalg.norm(d)), 3.0)


@pytest.mark.parametrize("monotone", [False, True])
def test_the_monotone_walk_stops_where_a_longer_step_raises_the_loss(monotone):
    """The model over-predicts (slope 4 where the loss has slope 2 and a minimum at
    ‖d‖ = 2), so every probe up to 3Δ passes the ratio test. The plain walk keeps the
    longest (3, past the minimum); the monotone walk stops where a longer step has a
    higher loss and keeps the probe nearest the minimum (≈ 2.2)."""
    rule = ng.TrustRegion(window=3.0, num=8)
    h = jnp.array([100.0, 0.0, 0.0])
    loss_at = lambda t: 0.5 * (t[0] + 2.0) ** 2  # L(θ − r e₁) = ½(2 − r)²
    path = ScaledPath(h, jnp.asarray(400.0), jnp.asarray(0.0))  # predicted 4r
    theta = jnp.zeros(3)
    state = TrustRegionState(jnp.asarray(1.0), monotone)
    d, size, stats, result, state = rule.search(
        loss_at, theta, path, loss_at(theta), h / 50.0, state
    )
    radii = np.asarray(rule.radii(jnp.asarray(1.0), jnp.asarray(100.0)))
    ratios = [(2 * r - 0.5 * r**2) / (4 * r) for r in radii]
    assert min(ratios) >= float(rule.target)
    assert bool(stats["accepted"]) and state.monotone == monotone
    kept = radii[-2] if monotone else radii[-1]
    np.testing.assert_allclose(float(state.radius), kept)
    np.testing.assert_allclose(float(jnp.linalg.norm(d)), kept)
    f = lambda r: 0.5 * (2.0 - r) ** 2
    assert f(radii[-2]) < f(radii[-1])  # the longest passing step overshoots


def test_the_walk_is_monotone_on_resampled_points_only():
    fixed = ng.problems.get("poisson2d", quick=True).problem
    sampled = ng.problems.get("convection_diffusion", quick=True).problem
    theta = jnp.zeros(3)
    rule = ng.TrustRegion()
    assert not rule.init(theta, fixed).monotone
    assert rule.init(theta, sampled).monotone
    assert not rule.init(theta).monotone
    assert ng.TrustRegion(monotone=True).init(theta, fixed).monotone
    assert not ng.TrustRegion(monotone=False).init(theta, sampled).monotone
    method = ng.NaturalGradient()
    flat = ng.FlatModel(sampled.model)
    assert method.init(sampled, flat, flat.theta0).monotone


def _linear_problem():
    basis = lambda x: jnp.stack([jnp.ones_like(x), x, x**2, jnp.sin(3 * x)])
    x = jnp.linspace(0.0, 1.0, 30)
    b = jnp.array([[1.0, 0.0, 0.0, 0.0], [0.5, 1.0, 0.0, 0.0], [0.0, 0.3, 1.0, 0.2],
                   [0.0, 0.0, 0.1, 1.0]])  # fmt: skip
    model = ng.LinearModel(basis, b)
    target = 0.4 + 0.2 * x - 0.3 * x**2 + 0.1 * jnp.sin(3 * x)
    return ng.Problem(model, ng.LeastSquares(target, x), ng.L2(x))


def test_linear_least_squares_converges_in_one_accepted_step():
    """On a linear model the quadratic model is exact (ρ = 1 for every radius), so the
    first step within reach of the Gauss–Newton step takes it, and lands on the
    minimiser."""
    problem = _linear_problem()
    method = ng.NaturalGradient(ng.Pinv(), ng.TrustRegion(initial=10.0))
    sol = ng.solve(problem, method, steps=3)
    assert bool(sol.stats["accepted"][0])
    np.testing.assert_allclose(float(sol.stats["ratio"][0]), 1.0, rtol=1e-9)
    assert float(sol.stats["damping"][0]) == 0.0
    assert float(sol.losses[1]) <= 1e-28 + 1e-14 * float(sol.losses[0])
    # Then nothing is left to do.
    assert float(sol.losses[-1]) <= float(sol.losses[1]) + 1e-30


@pytest.mark.parametrize(
    "gram",
    [ng.Pinv(), ng.Cholesky(), ng.Woodbury(), ng.CG(max_steps=20), ng.Greedy(5)],
    ids=["Pinv", "Cholesky", "Woodbury", "CG", "Greedy"],
)
def test_trust_region_never_increases_the_loss(gram):
    """On a nonlinear least-squares problem, with every Gram solve (CG and Greedy: their
    scaled direction, shortened to the radius)."""
    sol = ng.solve(mlp_problem(), ng.NaturalGradient(gram), steps=25)
    assert sol.successful
    losses = np.asarray(sol.losses)
    assert np.all(np.diff(losses) <= 0.0), losses
    assert losses[-1] < 0.05 * losses[0]
    accepted = np.asarray(sol.stats["accepted"])
    # A rejected step leaves θ (and the loss) where it was.
    np.testing.assert_array_equal(losses[1:][~accepted], losses[:-1][~accepted])
    damping = np.asarray(sol.stats["damping"])
    if isinstance(gram, (ng.CG, ng.Greedy)):
        assert np.all(np.isnan(damping))  # no curve: a scaled direction
    else:
        assert np.all(damping[accepted] >= 0.0)


def test_newton_trust_region_on_an_indefinite_problem():
    """Newton with the trust region on the Hessian's |eigenvalues| descends through a
    region where the Hessian is indefinite (plain Newton steps there go uphill)."""

    class Rosenbrock(eqx.Module):
        theta: jax.Array

        def __call__(self, x):
            a, b = self.theta
            return jnp.stack([10.0 * (b - a**2), 1.0 - a])

    pts = jnp.zeros((1, 1))
    model = Rosenbrock(jnp.array([-1.2, 1.0]))
    problem = ng.Problem(
        model, ng.LeastSquares(jnp.zeros((1, 2)), pts), ng.GaussNewton()
    )
    sol = ng.solve(problem, ng.Newton(ng.Pinv(), ng.TrustRegion()), steps=60)
    losses = np.asarray(sol.losses)
    assert np.all(np.diff(losses) <= 0.0)
    assert losses[-1] < 1e-20


def test_bad_combinations_are_refused():
    with pytest.raises(ValueError, match="ScaledDescent"):
        ng.NaturalGradient(clip=10.0, descent=ng.DampedDescent())
    ng.NaturalGradient(clip=10.0)  # the trust region on the clipped direction
    with pytest.raises(TypeError, match="stateless rule"):
        ng.HeavyBall(ng.Pinv(), ng.TrustRegion())
    with pytest.raises(TypeError, match="descent"):
        ng.NaturalGradient(descent=ng.Pinv())
    with pytest.raises(ValueError, match="target"):
        ng.TrustRegion(target=1.5)
    with pytest.raises(ValueError, match="window"):
        ng.TrustRegion(window=1.0)
    with pytest.raises(ValueError, match="min_radius"):
        ng.TrustRegion(initial=0.0)
    with pytest.raises(ValueError, match="monotone"):
        ng.TrustRegion(monotone=True, early_exit=False)


def test_step_rules_walk_the_damped_curve():
    """LogGrid and Backtracking with descent=DampedDescent(): the step size is the
    fraction of the undamped step's length, and the loss decreases."""
    for rule in (ng.LogGrid(), ng.Backtracking()):
        method = ng.NaturalGradient(ng.Pinv(), rule, descent=ng.DampedDescent())
        sol = ng.solve(mlp_problem(), method, steps=10)
        assert sol.successful
        assert float(sol.losses[-1]) < 0.5 * float(sol.losses[0])
        assert np.all(
            (np.asarray(sol.step_sizes) > 0) & (np.asarray(sol.step_sizes) <= 1)
        )


def test_damped_path_points_agree_with_the_curve():
    e, r = _system(3, (40, 8))
    curve, _ = ng.gram_curve(ng.Pinv(), e, e.T @ r, residual=r)
    path = DampedPath(curve)
    full = float(path.full_norm)
    p = path.at_fraction(0.25)
    np.testing.assert_allclose(
        float(jnp.linalg.norm(p.displacement)), 0.25 * full, rtol=1e-10
    )
    np.testing.assert_allclose(float(p.fraction), 0.25, rtol=1e-10)
    q = path.at_radius(10 * full)
    assert float(q.damping) == 0.0
    np.testing.assert_allclose(
        np.asarray(q.displacement), np.asarray(curve.direction(0.0))
    )


def test_auto_gram_gives_the_curve_only_below_its_limit():
    """Past `curve_limit` AutoGram gives no curve (an eigendecomposition of a large K or
    G costs 10-15 Cholesky factorisations), so the damped descent takes the chosen
    solve's direction, scaled, and records no damping."""
    e, r = _system(0, (20, 8))
    curve, _ = ng.gram_curve(ng.AutoGram(), e, e.T @ r, residual=r)
    assert int(curve.rank) == 8
    with pytest.raises(TypeError, match="no Levenberg"):
        ng.gram_curve(ng.AutoGram(curve_limit=5), e, e.T @ r, residual=r)
    method = ng.NaturalGradient(ng.AutoGram(curve_limit=5))
    sol = ng.solve(mlp_problem(), method, steps=5)
    assert np.all(np.isnan(np.asarray(sol.stats["damping"])))
    assert np.all(np.diff(np.asarray(sol.losses)) <= 0)
