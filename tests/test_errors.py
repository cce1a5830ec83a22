"""Bad input fails early with a message that says what to change."""

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import ngflow as ng

from .helpers import basis, midpoints, mlp_problem, target_1d, target_2d


PTS = midpoints(16)
PTS2 = jax.random.uniform(jax.random.key(0), (16, 2))
MLP = eqx.nn.MLP(2, "scalar", 4, 1, activation=jnp.tanh, key=jax.random.key(0))


# --- shapes -------------------------------------------------------------------------


def test_target_values_of_the_wrong_length():
    with pytest.raises(
        ValueError, match=r"LeastSquares: `target` has shape \(15,\), expected \(16"
    ):
        ng.LeastSquares(jnp.ones(15), PTS)


def test_weights_of_the_wrong_length():
    with pytest.raises(
        ValueError, match=r"`weights` has shape \(3,\), expected \(16,\)"
    ):
        ng.LeastSquares(target_1d, PTS, jnp.ones(3))
    with pytest.raises(ValueError, match=r"L2: `weights` has shape"):
        ng.L2(PTS, jnp.ones(3))


def test_negative_weights():
    with pytest.raises(ValueError, match="non-negative"):
        ng.L2(PTS, -jnp.ones(16))


def test_points_that_the_model_cannot_take():
    pts3 = jnp.ones((16, 3))
    with pytest.raises(
        ValueError, match=r"cannot be evaluated at one point of shape \(3,\)"
    ):
        ng.Problem(MLP, ng.LeastSquares(jnp.ones(16), pts3), ng.GaussNewton())
    with pytest.raises(ValueError, match=r"L2: the model cannot be evaluated"):
        ng.Problem(MLP, ng.LeastSquares(target_2d, PTS2), ng.L2(pts3))


def test_target_shape_differs_from_model_output():
    with pytest.raises(
        ValueError, match=r"`target` has shape \(16, 2\), expected \(16,\)"
    ):
        ng.Problem(MLP, ng.LeastSquares(jnp.ones((16, 2)), PTS2), ng.GaussNewton())


def test_matrix_shapes():
    with pytest.raises(ValueError, match="square"):
        ng.Weighted(jnp.ones((16, 15)), PTS)
    with pytest.raises(
        ValueError, match=r"`K` has shape \(8, 8\), expected \(16, 16\)"
    ):
        ng.Problem(MLP, ng.LeastSquares(target_2d, PTS2), ng.Weighted(jnp.eye(8), PTS2))
    with pytest.raises(ValueError, match="positive semidefinite"):
        ng.Weighted(-jnp.eye(16), PTS)
    with pytest.raises(ValueError, match="symmetric"):
        ng.WeightedLeastSquares(target_1d, PTS, jnp.triu(jnp.ones((16, 16))))
    with pytest.raises(
        ValueError, match=r"ConstantMetric: `M` has shape \(3, 3\), expected \(17, 17\)"
    ):
        ng.Problem(MLP, ng.LeastSquares(target_2d, PTS2), ng.ConstantMetric(jnp.eye(3)))
    with pytest.raises(ValueError, match=r"`Q` has shape"):
        ng.QuadraticModel(basis, jnp.ones((3, 5)), jnp.ones((3, 5)))
    with pytest.raises(ValueError, match=r"`theta` has shape \(2,\), expected \(3,\)"):
        ng.LinearModel(basis, jnp.ones((3, 5)), jnp.ones(2))


def test_loss_that_is_not_scalar():
    with pytest.raises(ValueError, match="must return a scalar"):
        ng.Problem(MLP, ng.Loss(lambda m: jax.vmap(m)(PTS2)), ng.Euclidean())


# --- dtypes -------------------------------------------------------------------------


def test_integer_points():
    with pytest.raises(ValueError, match="`points` must be floating point"):
        ng.LeastSquares(target_1d, jnp.arange(16))


def test_float32_data_with_float64_model():
    with pytest.raises(
        ValueError,
        match=r"parameters are float64 but `loss.points` \(float32\) is not",
    ):
        ng.Problem(
            MLP, ng.LeastSquares(target_2d, PTS2.astype(jnp.float32)), ng.GaussNewton()
        )


def test_mixed_parameter_dtypes_and_no_parameters():
    class Mixed(eqx.Module):
        a: jax.Array
        b: jax.Array

        def __call__(self, x):
            return self.a * x + self.b

    with pytest.raises(ValueError, match="mixed dtypes"):
        ng.Problem(
            Mixed(jnp.ones((), jnp.float32), jnp.ones(())),
            ng.LeastSquares(target_1d, PTS),
            ng.L2(PTS),
        )
    with pytest.raises(ValueError, match="no parameters"):
        ng.Problem(
            ng.LinearModel(basis, jnp.ones((0, 5))),
            ng.LeastSquares(target_1d, PTS),
            ng.L2(PTS),
        )


# --- a metric the method cannot use (TypeError at trace time) ------------------------


def test_gram_solve_that_needs_e_with_the_hessian_metric():
    problem = mlp_problem(lambda pts: ng.Hessian())
    for gram in [ng.QR(), ng.Woodbury()]:
        with pytest.raises(TypeError, match="needs the tangent map E"):
            ng.solve(problem, ng.NaturalGradient(gram), steps=1)
        with pytest.raises(TypeError, match="needs the tangent map E"):
            ng.solve(mlp_problem(), ng.Newton(gram), steps=1)


def test_gauss_newton_without_a_residual_loss():
    loss = ng.Loss(lambda m: m(jnp.array([0.5, 0.5])) ** 2)
    with pytest.raises(
        TypeError, match="GaussNewton needs a loss with a residual form"
    ):
        ng.Problem(MLP, loss, ng.GaussNewton())


# --- arguments of solve and Problem ------------------------------------------------


def test_wrong_argument_types():
    problem = mlp_problem()
    with pytest.raises(TypeError, match="`loss` must be an ngflow loss"):
        ng.Problem(MLP, lambda m: 0.0, ng.L2(PTS2))
    with pytest.raises(TypeError, match="`metric` must be an ngflow metric"):
        ng.Problem(MLP, ng.LeastSquares(target_2d, PTS2), "L2")
    with pytest.raises(TypeError, match="`method` is the Gram solve QR"):
        ng.solve(problem, ng.QR(), steps=1)
    with pytest.raises(ValueError, match="non-negative integer"):
        ng.solve(problem, ng.NaturalGradient(), steps=-1)
    with pytest.raises(ValueError, match="monitor 'err' must return a scalar"):
        ng.solve(
            problem,
            ng.NaturalGradient(),
            steps=1,
            monitors={"err": lambda m: jnp.ones(2)},
        )
    with pytest.raises(ValueError, match="`num` must be at least 1"):
        ng.LogGrid(0)
    with pytest.raises(TypeError, match="`gram` must be an ngflow Gram solve"):
        ng.NaturalGradient(ng.CompleteOrthogonalDecomposition())  # a lineax solver
    with pytest.raises(TypeError, match="`step` must be a step rule"):
        ng.GradientDescent(0.1)


def test_float32_model_built_before_import_is_named_as_the_cause():
    model32 = jax.tree.map(
        lambda a: a.astype(jnp.float32) if eqx.is_inexact_array(a) else a, MLP
    )
    with pytest.raises(ValueError, match="The model is float32: it was probably built"):
        ng.Problem(model32, ng.LeastSquares(target_2d, PTS2), ng.GaussNewton())


def test_a_batched_target_is_reported_as_per_point():
    batched = lambda x: jnp.sin(x[:, 0])  # noqa: E731 - written for all points at once
    with pytest.raises(
        ValueError, match=r"`target\(x\)` failed at one point of shape \(2,\)"
    ):
        ng.Problem(MLP, ng.LeastSquares(batched, PTS2), ng.GaussNewton())


@pytest.mark.parametrize(
    "method, says",
    [
        (
            ng.NaturalGradient,
            r"is the class NaturalGradient; create one: NaturalGradient\(\)",
        ),
        (
            ng.Pinv(),
            r"is the Gram solve Pinv; a method uses it: ng.NaturalGradient\(ng.Pinv",
        ),
        (ng.LogGrid(), r"is the step rule LogGrid"),
        ("gd", r"must be an ngflow method .* got str"),
    ],
)
def test_solve_says_what_to_pass_as_the_method(method, says):
    problem = ng.Problem(MLP, ng.LeastSquares(target_2d, PTS2), ng.GaussNewton())
    with pytest.raises(TypeError, match=says):
        ng.solve(problem, method, steps=2)
