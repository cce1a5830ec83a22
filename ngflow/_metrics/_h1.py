import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import as_points, as_weights, output_shape
from .._features import Features, PointBlock
from ._base import AbstractFactoredMetric


def _value_and_gradient(model, x, _):
    return jnp.concatenate([jnp.ravel(model(x)), jnp.ravel(jax.jacfwd(model)(x))])


class H1(AbstractFactoredMetric):
    """The $H^1(\\mu)$ metric on points: $\\langle v, w\\rangle = \\sum_n w_n\\,(v\\,w + \\nabla_x v\\cdot\\nabla_x w)(x_n)$.

    $\\Phi(\\theta)_n = \\sqrt{w_n}\\,(u_\\theta(x_n), \\nabla_x u_\\theta(x_n))$.

    **Arguments:**

    - `points`: shape `(N,)` or `(N, d)`.
    - `weights`: shape `(N,)`; default $1/N$.

    ```python
    ng.Problem(model, ng.LeastSquares(target, points), ng.H1(points))  # ⟨v, w⟩ with ∇v·∇w
    ```
    """

    points: Float[Array, "N ..."]
    weights: Float[Array, " N"]

    def __init__(self, points, weights=None):
        self.points = as_points(points, "H1")
        self.weights = as_weights(weights, self.points.shape[0], "H1")

    def features(self, loss):
        return Features(
            (
                PointBlock(
                    _value_and_gradient, self.points, None, jnp.sqrt(self.weights)
                ),
            )
        )

    def check(self, model, loss):
        output_shape(model, self.points, "H1")
