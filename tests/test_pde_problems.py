"""PDE problems: the building blocks (operators, residual losses, boxes, samplers) state
their mathematics exactly; reduced versions of the examples/ PDE scripts converge."""

import pathlib
import re
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


# ---------------------------------------------------------------------------------------
# Operators: exact on polynomials and known functions.


def cubic(x):
    """u(x, y, z) = x³ + 2x²y − yz² + 3z, with known derivatives."""
    return x[0] ** 3 + 2 * x[0] ** 2 * x[1] - x[1] * x[2] ** 2 + 3 * x[2]


def cubic_gradient(x):
    return jnp.array(
        [
            3 * x[0] ** 2 + 4 * x[0] * x[1],
            2 * x[0] ** 2 - x[2] ** 2,
            -2 * x[1] * x[2] + 3,
        ]
    )


def cubic_hessian(x):
    return jnp.array(
        [
            [6 * x[0] + 4 * x[1], 4 * x[0], 0.0],
            [4 * x[0], 0.0, -2 * x[2]],
            [0.0, -2 * x[2], -2 * x[1]],
        ]
    )


points_3d = st.lists(
    st.floats(-2, 2, allow_nan=False, allow_subnormal=False), min_size=3, max_size=3
).map(lambda v: jnp.array(v, dtype=float))


def test_laplacian_of_quadratic_is_constant():
    u = lambda x: x[0] ** 2 + 3 * x[1] ** 2
    for x in ([0.0, 0.0], [0.3, -1.7], [5.0, 2.0]):
        assert float(ng.laplacian(u, jnp.array(x))) == pytest.approx(8.0, abs=1e-12)


@hypothesis.given(points_3d)
@hypothesis.settings(max_examples=10)
def test_operators_on_a_cubic(x):
    np.testing.assert_allclose(ng.gradient(cubic, x), cubic_gradient(x), atol=1e-12)
    np.testing.assert_allclose(ng.hessian(cubic, x), cubic_hessian(x), atol=1e-12)
    for i in range(3):
        assert float(ng.derivative(cubic, x, i)) == pytest.approx(
            float(cubic_gradient(x)[i]), abs=1e-12
        )
        for j in range(3):
            assert float(ng.second_derivative(cubic, x, i, j)) == pytest.approx(
                float(cubic_hessian(x)[i, j]), abs=1e-12
            )
    assert float(ng.laplacian(cubic, x)) == pytest.approx(
        float(jnp.trace(cubic_hessian(x))), abs=1e-12
    )
    # Along (1, -2, 0.5): ∇u·v.
    v = jnp.array([1.0, -2.0, 0.5])
    assert float(ng.directional(cubic, x, v)) == pytest.approx(
        float(cubic_gradient(x) @ v), abs=1e-12
    )
    # The divergence of the gradient field is the Laplacian.
    assert float(ng.divergence(lambda y: ng.gradient(cubic, y), x)) == pytest.approx(
        float(jnp.trace(cubic_hessian(x))), abs=1e-12
    )


def test_divergence_of_a_linear_field_is_its_trace():
    a = jnp.array([[1.0, 2.0, 0.0], [0.0, -3.0, 1.0], [4.0, 0.0, 0.5]])
    x = jnp.array([0.2, -0.4, 0.9])
    assert float(ng.divergence(lambda y: a @ y, x)) == pytest.approx(-1.5, abs=1e-12)


def test_time_derivative_and_partial_laplacian():
    # u(t, x) = exp(−π²t/4) sin(πx) solves u_t = ¼u_xx: time is axis 0.
    u = lambda z: jnp.exp(-(jnp.pi**2) * z[0] / 4) * jnp.sin(jnp.pi * z[1])
    z = jnp.array([0.3, 0.7])
    u_t = ng.time_derivative(u, z)
    u_xx = ng.laplacian(u, z, axes=(1,))
    assert float(u_t) == pytest.approx(float(-(jnp.pi**2) / 4 * u(z)), rel=1e-12)
    assert float(u_t - 0.25 * u_xx) == pytest.approx(0.0, abs=1e-12)
    # Time on the last axis instead.
    w = lambda z: u(z[::-1])
    assert float(ng.time_derivative(w, z[::-1], axis=1)) == pytest.approx(
        float(u_t), rel=1e-12
    )


def test_laplacian_over_axes_ignores_the_others():
    # ∂²/∂t² of t⁴ would be 12t²; over axis 1 only the x part counts: Δ_x (x³) = 6x.
    u = lambda z: z[0] ** 4 + z[1] ** 3 + z[0] * z[1]
    z = jnp.array([1.5, 0.5])
    assert float(ng.laplacian(u, z, axes=(1,))) == pytest.approx(3.0, abs=1e-12)
    assert float(ng.laplacian(u, z, axes=(0,))) == pytest.approx(27.0, abs=1e-12)
    assert float(ng.laplacian(u, z)) == pytest.approx(30.0, abs=1e-12)


def test_operators_on_scalar_points():
    # In one dimension a point may be a scalar, shape ().
    u = lambda x: jnp.sin(3 * x)
    x = jnp.asarray(0.4)
    assert float(ng.derivative(u, x)) == pytest.approx(
        float(3 * jnp.cos(3 * x)), rel=1e-12
    )
    assert float(ng.laplacian(u, x)) == pytest.approx(
        float(-9 * jnp.sin(3 * x)), rel=1e-12
    )
    assert float(ng.second_derivative(u, x, 0, 0)) == pytest.approx(
        float(-9 * jnp.sin(3 * x)), rel=1e-12
    )
    assert ng.gradient(u, x).shape == ()
    # ... and the same on a point of shape (1,).
    v = lambda y: jnp.sin(3 * y[0])
    assert float(ng.laplacian(v, x[None])) == pytest.approx(
        float(ng.laplacian(u, x)), rel=1e-12
    )


# ---------------------------------------------------------------------------------------
# Residual losses: weight·mean(R²), with a residual vector and its Jacobian.


def _small_residual_problem(seed=0):
    line = ng.Box(0, 1)
    points = line.sample(jax.random.key(seed), 7)
    fn = lambda u, x: -0.1 * ng.laplacian(u, x) + ng.derivative(u, x) - 1.0
    model = eqx.nn.MLP(
        1, "scalar", 4, 1, activation=jnp.tanh, key=jax.random.key(seed + 1)
    )
    return fn, points, model


@pytest.mark.parametrize("weight", [1.0, 0.25, 40.0])
def test_residual_loss_is_weighted_mean_square(weight):
    fn, points, model = _small_residual_problem()
    loss = ng.Residual(fn, points, weight=weight)
    values = jax.vmap(lambda x: fn(model, x))(points)
    expected = weight * jnp.mean(values**2)  # no ½
    assert float(loss(model)) == pytest.approx(float(expected), rel=1e-12)
    r = loss.residuals(model)
    assert r.shape == (points.shape[0],)
    assert float(0.5 * r @ r) == pytest.approx(float(expected), rel=1e-12)
    np.testing.assert_allclose(
        r, jnp.sqrt(2 * weight / points.shape[0]) * values, rtol=1e-12
    )


def test_residual_tangent_map_is_the_jacobian_of_the_residual():
    fn, points, model = _small_residual_problem(seed=3)
    ends = jnp.array([[0.0], [1.0]])
    loss = ng.Residual(fn, points) + ng.Residual(lambda u, x: u(x), ends, weight=9.0)
    problem = ng.Problem(model, loss, ng.Energy())
    flat = ng.FlatModel(model)
    theta = flat.theta0
    tangent = ng.Energy().linearise(problem, flat, theta)
    jac = jax.jacfwd(lambda t: loss.residuals(flat.model_at(t)))(theta)
    assert tangent.matrix.shape == (points.shape[0] + 2, ng.num_parameters(model))
    np.testing.assert_allclose(tangent.matrix, jac, rtol=1e-10, atol=1e-12)
    # The residual stacks both losses' residuals, in order; ½‖r‖² is the loss.
    np.testing.assert_allclose(tangent.residual, loss.residuals(model), rtol=1e-12)
    r = tangent.residual
    assert float(0.5 * r @ r) == pytest.approx(float(loss(model)), rel=1e-12)


# ---------------------------------------------------------------------------------------
# Boxes: grids and samples.


def _on_boundary(points, box, tol=1e-12):
    p = np.asarray(points)
    lo, hi = np.asarray(box.lower), np.asarray(box.upper)
    return np.any((np.abs(p - lo) < tol) | (np.abs(p - hi) < tol), axis=1)


def _inside(points, box):
    p = np.asarray(points)
    return np.all((p >= np.asarray(box.lower)) & (p <= np.asarray(box.upper)), axis=1)


def test_interior_grid_is_engd_grid():
    square = ng.Box([0, 0], [1, 1])
    pts = np.asarray(square.interior_grid(28))
    assert pts.shape == (784, 2)
    for axis in range(2):
        ticks = np.unique(pts[:, axis])
        np.testing.assert_allclose(ticks, np.arange(1, 29) / 29, atol=1e-14)
        np.testing.assert_allclose(np.diff(ticks), 1 / 29, atol=1e-14)
    assert not _on_boundary(pts, square).any()
    assert len(np.unique(pts, axis=0)) == 784


def test_boundary_grid_2d():
    square = ng.Box([0, 0], [1, 1])
    pts = np.asarray(square.boundary_grid(29))
    assert pts.shape == (116, 2)
    assert len(np.unique(pts, axis=0)) == 116  # corners once
    assert _on_boundary(pts, square).all()
    for corner in ([0, 0], [0, 1], [1, 0], [1, 1]):
        assert np.sum(np.all(pts == corner, axis=1)) == 1
    # Spacing 1/29 along each side.
    bottom = np.sort(pts[pts[:, 1] == 0, 0])
    np.testing.assert_allclose(bottom, np.arange(30) / 29, atol=1e-14)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_boundary_grid_3d_counts(n):
    cube = ng.Box([0, 0, 0], [1, 2, 3])
    pts = np.asarray(cube.boundary_grid(n))
    assert pts.shape == ((n + 1) ** 3 - (n - 1) ** 3, 3)
    assert len(np.unique(pts, axis=0)) == pts.shape[0]
    assert _on_boundary(pts, cube).all()


def test_samples_inside_and_on_the_boundary():
    box = ng.Box([-1, 0, 2], [1, 0.5, 5])
    key = jax.random.key(4)
    inside = box.sample(key, 500)
    assert inside.shape == (500, 3)
    assert _inside(inside, box).all()
    assert not _on_boundary(inside, box).any()
    on = box.sample_boundary(key, 500)
    assert on.shape == (500, 3)
    assert _inside(on, box).all() and _on_boundary(on, box).all()
    line = ng.Box(0, 1)
    ends = np.asarray(line.sample_boundary(key, 50))
    assert ends.shape == (50, 1) and set(np.unique(ends)) == {0.0, 1.0}


# ---------------------------------------------------------------------------------------
# Resampling during a solve.


def _sampled_problem(every):
    square = ng.Box([0, 0], [1, 1])
    loss = ng.Residual(lambda u, x: u(x) - jnp.sum(x), square.sampler(16, every=every))
    model = eqx.nn.MLP(2, "scalar", 4, 1, activation=jnp.tanh, key=jax.random.key(0))
    return ng.Problem(model, loss, ng.Energy())


def test_resample_redraws_every_k_steps():
    problem = _sampled_problem(every=2)
    key = jax.random.key(7)
    points = [np.asarray(ng.resample(problem, key, k).loss.points) for k in range(5)]
    np.testing.assert_array_equal(points[0], points[1])
    np.testing.assert_array_equal(points[2], points[3])
    assert not np.allclose(points[1], points[2])
    assert not np.allclose(points[3], points[4])
    # Reproducible for one key; another key draws other points.
    np.testing.assert_array_equal(
        points[2], np.asarray(ng.resample(problem, key, 2).loss.points)
    )
    other = np.asarray(ng.resample(problem, jax.random.key(8), 2).loss.points)
    assert not np.allclose(points[2], other)
    every_step = _sampled_problem(every=1)
    assert not np.allclose(
        ng.resample(every_step, key, 0).loss.points,
        ng.resample(every_step, key, 1).loss.points,
    )


def test_two_samplers_draw_different_points():
    square = ng.Box([0, 0], [1, 1])
    f = lambda u, x: u(x)
    loss = ng.Residual(f, square.sampler(8)) + ng.Residual(f, square.sampler(8))
    model = eqx.nn.MLP(2, "scalar", 3, 1, key=jax.random.key(0))
    drawn = ng.resample(ng.Problem(model, loss, ng.Energy()), jax.random.key(1), 0)
    a, b = (part.points for part in drawn.loss.losses)
    assert not np.allclose(a, b)


def test_solve_with_a_sampler_is_reproducible_and_descends():
    square = ng.Box([0, 0], [1, 1])
    target = lambda x: jnp.sin(2 * x[0]) * x[1]
    loss = ng.Residual(lambda u, x: u(x) - target(x), square.sampler(64, every=1))
    model = eqx.nn.MLP(2, "scalar", 8, 1, activation=jnp.tanh, key=jax.random.key(1))
    problem = ng.Problem(model, loss, ng.Energy())
    error = {"error": ng.RelativeL2Error(target, square.grid(20))}
    method = ng.NaturalGradient(ng.Cholesky(1e-6))
    a = ng.solve(problem, method, steps=15, monitors=error, key=jax.random.key(3))
    b = ng.solve(problem, method, steps=15, monitors=error, key=jax.random.key(3))
    c = ng.solve(problem, method, steps=15, monitors=error, key=jax.random.key(4))
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.allclose(a.losses, c.losses)
    e = np.asarray(a.monitors["error"])
    assert e[-1] < 1e-2 * e[0], e


# ---------------------------------------------------------------------------------------
# The PDE examples, reduced (`--quick`): each exits non-zero if its error claim fails.

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    "name, tol",
    [
        ("poisson2d", 1e-5),
        ("heat", 1e-4),
        ("poisson5d", 5e-4),
        ("convection_diffusion", 1e-3),
    ],
)
def test_pde_example_converges(name, tol, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--quick"])
    runpy.run_path(
        str(EXAMPLES / f"{name}.py"), run_name="__main__"
    )  # SystemExit on failure
    out = capsys.readouterr().out
    match = re.search(r"relative L2 error ([0-9.e+-]+)\s+\(initial ([0-9.e+-]+)\)", out)
    assert match, out
    final, initial = float(match.group(1)), float(match.group(2))
    assert final <= tol and initial > 0.5, out
