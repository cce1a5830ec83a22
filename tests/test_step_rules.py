"""Step rules: the grid, the choice of the best loss, Armijo's condition."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, strategies as st

import ngflow as ng


def test_default_log_grid_is_the_engd_halving_grid():
    assert np.allclose(ng.LogGrid().grid(), 0.5 ** np.arange(31))


def test_seed_000_grid_is_geometric_in_0_1():
    grid = np.asarray(ng.LogGrid(30, 1e-6).grid())
    assert (
        grid.shape == (30,) and np.isclose(grid[0], 1.0) and np.isclose(grid[-1], 1e-6)
    )
    assert np.allclose(grid[1:] / grid[:-1], grid[1] / grid[0])


_quartic = jax.jit(lambda t: jnp.sum((t - 1.0) ** 4) + 0.1 * jnp.sum(t**2))


@jax.jit
def _search(rule_params, theta, direction):
    loss, grad = jax.value_and_grad(_quartic)(theta)
    grid_rule, armijo_rule = rule_params
    a = grid_rule(_quartic, theta, direction, loss, grad)
    b = armijo_rule(_quartic, theta, direction, loss, grad)
    return a, b, loss, grad


@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10.0))
def test_log_grid_takes_the_best_candidate_and_backtracking_satisfies_armijo(
    seed, scale
):
    rng = np.random.default_rng(seed)
    theta = jnp.asarray(rng.standard_normal(4))
    direction = scale * jax.grad(_quartic)(theta)
    grid_rule, armijo_rule = (
        ng.LogGrid(),
        ng.Backtracking(initial=1.0, factor=0.5, armijo=1e-4),
    )
    (s, stats, result), (s_b, stats_b, result_b), loss, grad = _search(
        (grid_rule, armijo_rule), theta, direction
    )
    candidates = [float(_quartic(theta - c * direction)) for c in grid_rule.grid()]
    assert np.isclose(float(stats["search_loss"]), min(candidates))
    assert np.isclose(float(s), float(grid_rule.grid()[int(np.argmin(candidates))]))
    assert result == ng.RESULTS.successful
    # Armijo: accepted, and the previous (larger) step was not
    slope = float(grad @ direction)
    f = lambda c: float(_quartic(theta - c * direction))  # noqa: E731
    assert result_b == ng.RESULTS.successful
    assert f(float(s_b)) <= float(loss) - 1e-4 * float(s_b) * slope
    k = int(stats_b["search_steps"])
    assert np.isclose(float(s_b), 0.5**k)
    if k > 0:
        assert f(2 * float(s_b)) > float(loss) - 1e-4 * 2 * float(s_b) * slope


def test_backtracking_fails_on_an_ascent_direction():
    theta = jnp.ones(3) * 3.0
    loss, grad = jax.value_and_grad(_quartic)(theta)
    s, stats, result = ng.Backtracking(max_steps=10)(_quartic, theta, -grad, loss, grad)
    assert result == ng.RESULTS.search_failed
    assert int(stats["search_steps"]) == 10


def test_log_grid_reports_nonfinite_candidates():
    bad = lambda t: jnp.log(-jnp.sum(t**2))  # noqa: E731  NaN everywhere
    theta = jnp.ones(2)
    _, _, result = ng.LogGrid(5)(bad, theta, theta, jnp.nan, theta)
    assert result == ng.RESULTS.nonfinite


def test_early_exit_walks_to_the_first_local_minimum():
    theta = jnp.ones(3) * 2.0
    loss, grad = jax.value_and_grad(_quartic)(theta)
    full = ng.LogGrid(early_exit=False)
    walk = ng.LogGrid()
    s_full, st_full, _ = full(_quartic, theta, grad, loss, grad)
    s_walk, st_walk, _ = walk(_quartic, theta, grad, loss, grad)
    # along a descent ray of this quartic the loss is unimodal: the same step
    assert float(s_full) == float(s_walk)
    assert int(st_full["search_evals"]) == 31
    assert int(st_walk["search_evals"]) == int(np.log2(1 / float(s_walk))) + 2
    # a ray with two dips: the walk stops at the first (largest-step) one
    two_dips = lambda t: jnp.sum(jnp.cos(6.0 * t)) + 0.01 * jnp.sum(t**2)  # noqa: E731
    theta = jnp.zeros(1)
    direction = -jnp.ones(1)
    f0 = two_dips(theta)
    s_w, _, _ = walk(two_dips, theta, direction, f0, -direction)
    grid = np.asarray(walk.grid())
    values = np.array([float(two_dips(theta - g * direction)) for g in grid])
    k = int(np.argmax(grid == float(s_w)))
    assert values[k] < f0 and (k == 0 or values[k - 1] > values[k])
    assert k + 1 == len(values) or values[k + 1] >= values[k]
