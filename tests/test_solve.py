"""solve(): records, compilation, monitors, progress, failure handling."""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ngflow as ng

from .helpers import basis, midpoints, mlp_problem, target_1d, target_2d


PTS = midpoints(24)


def _linear(theta=None, metric=None):
    b = np.eye(5)[:3]
    model = ng.LinearModel(basis, b, theta)
    return ng.Problem(model, ng.LeastSquares(target_1d, PTS), metric or ng.L2(PTS))


def test_solution_records_every_iterate():
    problem = mlp_problem()
    err = ng.RelativeL2Error(target_2d, jax.random.uniform(jax.random.key(9), (50, 2)))
    sol = ng.solve(
        problem,
        ng.NaturalGradient(ng.QR()),
        steps=7,
        monitors={"error": err},
        save_params=True,
    )
    assert sol.losses.shape == (8,)
    assert sol.grad_norms.shape == sol.step_sizes.shape == (7,)
    assert sol.monitors["error"].shape == (8,)
    assert sol.params.shape == (8, ng.num_parameters(problem.model))
    # The default search: a trust region on the LM curve of QR's factorisation.
    expected = {"rank", "cond", "damping", "radius", "ratio", "accepted", "search_loss"}
    assert set(sol.stats) >= expected
    assert int(sol.num_steps) == 7 and sol.successful
    # the records are of the iterates: recompute a few
    flat = ng.FlatModel(problem.model)
    for k in [0, 3, 7]:
        model_k = flat.model_at(sol.params[k])
        assert np.isclose(sol.losses[k], problem.loss(model_k), rtol=1e-12)
        assert np.isclose(sol.monitors["error"][k], err(model_k), rtol=1e-12)
    assert np.isclose(sol.losses[-1], problem.loss(sol.model), rtol=1e-12)
    assert np.isclose(sol.final_loss, sol.losses[-1])
    # LogGrid's chosen loss is the next iterate's loss
    assert np.allclose(sol.stats["search_loss"], sol.losses[1:], rtol=1e-12)
    assert sol.wall_time > 0


@pytest.mark.filterwarnings(
    "ignore:ngflow.solve. the loss ended"
)  # Constant(0.5) diverges
def test_compiles_once_per_problem_structure():
    problem = mlp_problem(seed=3)
    method = ng.NaturalGradient(ng.Cholesky(1e-8), ng.Constant(0.5))
    ng.solve(problem, method, steps=4)
    from ngflow._solve import _run

    before = _run._cached._cache_size()
    # new data, new initial parameters, new hyperparameter values: same structure
    other = mlp_problem(seed=4)
    sol = ng.solve(
        other, ng.NaturalGradient(ng.Cholesky(1e-6), ng.Constant(0.25)), steps=4
    )
    assert _run._cached._cache_size() == before
    assert np.allclose(sol.step_sizes, 0.25)
    # a new number of steps is a new structure
    ng.solve(other, method, steps=5)
    assert _run._cached._cache_size() == before + 1


def test_constant_step_sizes_are_recorded_and_applied():
    problem = _linear(np.zeros(3), ng.Euclidean())
    sol = ng.solve(
        problem, ng.GradientDescent(ng.Constant(0.2)), steps=3, save_params=True
    )
    flat = ng.FlatModel(problem.model)
    grad = jax.grad(lambda t: problem.loss(flat.model_at(t)))
    assert np.allclose(sol.step_sizes, 0.2)
    assert np.allclose(sol.params[1], sol.params[0] - 0.2 * grad(sol.params[0]))
    assert np.isclose(sol.grad_norms[2], np.linalg.norm(grad(sol.params[2])))


def test_nan_stops_the_solve_and_is_reported():
    class Blowup(eqx.Module):
        theta: jax.Array

        def __call__(self, x):
            return jnp.exp(self.theta[0] * 1e3) * x + self.theta[1]

    problem = ng.Problem(
        Blowup(jnp.array([0.0, 0.0])), ng.LeastSquares(target_1d, PTS), ng.L2(PTS)
    )
    method = ng.GradientDescent(ng.Constant(10.0))
    sol = ng.solve(problem, method, steps=10, throw=False)
    assert sol.result == ng.RESULTS.nonfinite
    k = int(sol.num_steps)
    assert k < 10
    assert not np.isfinite(sol.losses[k])  # the record says where it went wrong
    assert np.all(np.isnan(sol.losses[k + 1 :]))
    assert np.all(np.isfinite(sol.losses[:k]))
    with pytest.raises(ng.SolveError, match="NaN or Inf") as info:
        ng.solve(problem, method, steps=10)
    assert info.value.solution.result == ng.RESULTS.nonfinite


def test_singular_gram_is_reported_not_returned():
    # Two identical basis functions: G is singular; the undamped Cholesky solve (a
    # step-length search on its direction) must fail loudly.
    b = np.array([[1.0, 0, 0, 0, 0], [1.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0]])
    problem = ng.Problem(
        ng.LinearModel(basis, b), ng.LeastSquares(target_1d, PTS), ng.L2(PTS)
    )
    direct = ng.NaturalGradient(ng.Cholesky(0.0), ng.LogGrid())
    sol = ng.solve(problem, direct, steps=3, throw=False)
    assert sol.result == ng.RESULTS.singular
    assert int(sol.num_steps) == 0
    assert np.all(np.isfinite(sol.model.theta))  # the model is the last good iterate
    with pytest.raises(ng.SolveError, match="metric solve failed"):
        ng.solve(problem, direct, steps=3)
    # Its Levenberg–Marquardt curve (an eigendecomposition of G) is fine: the zero
    # eigenvalue is dropped, and the linear problem is solved in its first step.
    curve = ng.solve(problem, ng.NaturalGradient(ng.Cholesky(0.0)), steps=3)
    assert int(curve.stats["rank"][0]) == 2 and curve.successful
    # the minimum-norm solve handles it
    sol = ng.solve(problem, ng.NaturalGradient(ng.Pinv(), ng.Constant(1.0)), steps=1)
    assert int(sol.stats["rank"][0]) == 2
    np.testing.assert_allclose(curve.losses[1], sol.losses[1], rtol=1e-10)
    assert np.isclose(
        sol.model.theta[0], sol.model.theta[1]
    )  # minimum norm splits evenly


def test_a_stall_stops_with_a_warning():
    problem = _linear(np.zeros(3))
    # after the exact first step nothing decreases the loss any more
    with pytest.warns(UserWarning, match="stopped at step"):
        sol = ng.solve(
            problem, ng.NaturalGradient(ng.QR(), ng.Backtracking(armijo=0.5)), steps=5
        )
    assert sol.result == ng.RESULTS.search_failed
    assert 1 <= int(sol.num_steps) < 5
    assert np.isfinite(sol.final_loss)


def test_progress_bar_reports_through_a_host_callback(capsys):
    problem = mlp_problem(seed=5)
    ng.solve(problem, ng.NaturalGradient(ng.Cholesky()), steps=6, progress=True)
    err = capsys.readouterr().err
    assert "NaturalGradient" in err and "6/6" in err and "loss=" in err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ng.solve(problem, ng.NaturalGradient(ng.Cholesky()), steps=6, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_group_counts_its_solves_and_labels_their_bars(capsys):
    problem = mlp_problem(seed=5)
    method = ng.NaturalGradient(ng.Cholesky())
    with ng.progress_group("sweep", show=True) as bar:
        a = ng.solve(problem, method, steps=6, progress=True)
        ng.solve(problem, ng.GradientDescent(), steps=3, progress=False)
        with pytest.raises(ValueError):  # refused before running: not counted
            ng.solve(problem, method, steps=-1)
        flow = ng.solve(problem, ng.NaturalGradientFlow(), t1=0.5, progress=True)
        assert bar.n == 3
    err = capsys.readouterr().err
    assert "sweep: NaturalGradient:" in err and "sweep: NaturalGradientFlow:" in err
    assert "sweep: 3 solves" in err
    assert f"last loss={float(flow.final_loss):.3e}" in err
    # the bars observe, they do not change the computation
    b = ng.solve(problem, method, steps=6, progress=False)
    assert np.array_equal(a.losses, b.losses)
    quiet = ng.solve(problem, ng.NaturalGradientFlow(), t1=0.5, progress=False)
    assert np.array_equal(flow.losses, quiet.losses)
    with ng.progress_group("hidden", show=False) as hidden:
        ng.solve(problem, method, steps=2, progress=False)
    assert hidden is None and capsys.readouterr().err == ""


def test_a_loss_that_ends_far_above_its_start_is_warned_about():
    problem = mlp_problem(seed=3)
    too_long = ng.HeavyBall(ng.Pinv(), ng.Constant(0.2), beta=0.95)
    with pytest.warns(UserWarning, match="the loss ended at .* up from") as record:
        sol = ng.solve(problem, too_long, steps=60)
    assert (
        sol.successful and sol.final_loss > 10 * sol.losses[0]
    )  # finite, but diverged
    assert record[0].filename == __file__  # points at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a descending run is silent
        ng.solve(problem, ng.HeavyBall(ng.Pinv(), ng.LogGrid(), beta=0.5), steps=10)
        ng.solve(problem, ng.NaturalGradientFlow(), t1=0.5)


def test_zero_steps_returns_the_initial_model():
    problem = _linear(np.ones(3))
    sol = ng.solve(problem, ng.NaturalGradient(), steps=0)
    assert sol.losses.shape == (1,)
    assert np.allclose(sol.model.theta, 1.0)
    assert np.isclose(sol.losses[0], problem.loss(problem.model))


def test_newton_converges_quadratically_on_a_convex_problem():
    """Newton with a Hessian metric on a strictly convex loss (a non-residual loss)."""
    loss = ng.Loss(
        lambda m: jnp.sum(jnp.cosh(m.theta - 0.3)) + 0.5 * jnp.sum(m.theta**2)
    )
    model = ng.LinearModel(basis, np.eye(5)[:3], np.full(3, 2.0))
    problem = ng.Problem(model, loss, ng.Hessian())
    sol = ng.solve(problem, ng.Newton(ng.Cholesky(0.0), ng.Constant(1.0)), steps=6)
    g = np.asarray(sol.grad_norms)
    assert g[-1] < 1e-12
    assert g[3] < 10 * g[2] ** 2  # quadratic convergence
    # and the same problem through NaturalGradient with a Hessian metric
    ngd = ng.solve(
        problem, ng.NaturalGradient(ng.CG(rtol=1e-14), ng.Constant(1.0)), steps=6
    )
    assert np.allclose(ngd.model.theta, sol.model.theta, atol=1e-10)


def _duplicated_linear():
    # Two identical basis rows: G is singular (rank 2 of 3).
    b = np.array([[1.0, 0, 0, 0, 0], [1.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0]])
    return ng.Problem(
        ng.LinearModel(basis, b), ng.LeastSquares(target_1d, PTS), ng.L2(PTS)
    )


def test_the_default_takes_the_minimum_norm_step_on_a_singular_metric():
    """What `fallback=Pinv()` was for (removed: the trust region subsumes it): on a
    singular G the curve drops the null direction, so the duplicated parameters move
    together and the fit is the exact least-squares one."""
    problem = _duplicated_linear()
    sol = ng.solve(problem, ng.NaturalGradient(ng.Cholesky(0.0)), steps=3)
    exact = ng.solve(problem, ng.NaturalGradient(ng.Pinv(), ng.Constant(1.0)), steps=1)
    np.testing.assert_allclose(sol.final_loss, exact.losses[1], rtol=1e-10)
    assert np.isclose(sol.model.theta[0], sol.model.theta[1])
