import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import as_points, output_shape, symmetric_sqrt
from .._features import Features, MappedBlock, PointBlock
from ._base import AbstractFactoredMetric
from ._l2 import _value


class Weighted(AbstractFactoredMetric):
    """A weighted metric on points: $\\langle v, w\\rangle_K = v(X)^\\top K\\, w(X)$ (seed 003's $\\|\\cdot\\|_K$).

    $\\Phi(\\theta) = K^{1/2} u_\\theta(X)$, so $G = J^\\top K J$ with $J$ the Jacobian of the
    model's values at the points $X$.

    **Arguments:**

    - `K`: symmetric positive semidefinite, shape `(N, N)` (or `(N k, N k)` for outputs
        of size $k$, acting on the flattened values).
    - `points`: shape `(N,)` or `(N, d)`.

    ```python
    K = jnp.eye(32) + jnp.ones((32, 32)) / 32  # symmetric positive definite
    ng.Problem(model, ng.WeightedLeastSquares(target, points, K), ng.Weighted(K, points))
    ```
    """

    sqrt_K: Float[Array, "M M"]
    points: Float[Array, "N ..."]

    def __init__(self, K, points):
        self.points = as_points(points, "Weighted")
        self.sqrt_K = symmetric_sqrt(K, "Weighted")

    def features(self, loss):
        n = self.points.shape[0]
        inner = PointBlock(_value, self.points, None, jnp.ones(n, self.points.dtype))
        return Features((MappedBlock(self.sqrt_K, inner),))

    def check(self, model, loss):
        out = output_shape(model, self.points, "Weighted")
        size = self.points.shape[0] * int(jnp.prod(jnp.array(out, dtype=int)))
        if self.sqrt_K.shape[0] != size:
            raise ValueError(
                f"Weighted: `K` has shape {self.sqrt_K.shape}, expected ({size}, {size}) "
                f"for {self.points.shape[0]} points and model output shape {out}."
            )
