import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import symmetric_sqrt
from .._features import Features, ParameterBlock
from .._params import num_parameters
from ._base import AbstractFactoredMetric


class ConstantMetric(AbstractFactoredMetric):
    """A constant symmetric positive (semi)definite matrix $M$: preconditioned gradient descent.

    Factored as $E = M^{1/2}$ (symmetric square root), $\\Phi(\\theta) = M^{1/2}\\theta$.

    **Arguments:**

    - `M`: shape `(p, p)`, in the order of the model's flattened parameters
        (`jax.flatten_util.ravel_pytree` of its inexact array leaves).

    ```python
    p = ng.num_parameters(model)
    metric = ng.ConstantMetric(jnp.diag(jnp.linspace(1.0, 2.0, p)))  # h = M⁻¹∇L
    ng.Problem(model, ng.LeastSquares(target, points), metric)
    ```
    """

    sqrt_M: Float[Array, "p p"]

    def __init__(self, M):
        self.sqrt_M = symmetric_sqrt(jnp.asarray(M), "ConstantMetric", "M")

    def features(self, loss):
        return Features((ParameterBlock(self.sqrt_M),))

    def check(self, model, loss):
        p = num_parameters(model)
        if self.sqrt_M.shape != (p, p):
            raise ValueError(
                f"ConstantMetric: `M` has shape {self.sqrt_M.shape}, expected ({p}, {p}) "
                "for a model with that many parameters."
            )
