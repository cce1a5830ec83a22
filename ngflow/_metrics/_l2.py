import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import as_points, as_weights, output_shape
from .._features import Features, PointBlock
from ._base import AbstractFactoredMetric


def _value(model, x, _):
    return model(x)


class L2(AbstractFactoredMetric):
    """The $L^2(\\mu)$ metric on points: $G_{ij} = \\sum_n w_n\\,\\partial_i u(x_n)\\,\\partial_j u(x_n)$.

    $\\Phi(\\theta)_n = \\sqrt{w_n}\\,u_\\theta(x_n)$, so $E$ is the weighted Jacobian of the
    model's values. With a [`ngflow.LeastSquares`][] loss on the same points and weights
    it equals [`ngflow.GaussNewton`][] (which also knows the residual, and so solves the
    least-squares problem on $E$ without ever squaring its condition number).

    **Arguments:**

    - `points`: shape `(N,)` or `(N, d)`.
    - `weights`: shape `(N,)`; default $1/N$.

    ```python
    ng.Problem(model, ng.LeastSquares(target, points), ng.L2(points))  # the L2 projection
    ```
    """

    points: Float[Array, "N ..."]
    weights: Float[Array, " N"]

    def __init__(self, points, weights=None):
        self.points = as_points(points, type(self).__name__)
        self.weights = as_weights(weights, self.points.shape[0], type(self).__name__)

    def features(self, loss):
        return Features(
            (PointBlock(_value, self.points, None, jnp.sqrt(self.weights)),)
        )

    def check(self, model, loss):
        output_shape(model, self.points, type(self).__name__)
