import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._gram._base import as_float
from .._linearisation import linearise
from ._base import AbstractDescentMethod, clip_direction
from ._descents import scaled_path
from ._step_rules import AbstractStepRule, LogGrid


class GradientDescent(AbstractDescentMethod):
    """Gradient descent, $\\theta^+ = \\theta - s\\nabla_\\theta L$: steepest descent in the Euclidean metric.

    It ignores the problem's metric.

    **Arguments:**

    - `step`: the step rule (default [`ngflow.LogGrid`][]`()`). With
        [`ngflow.TrustRegion`][] the model is $L - \\nabla L^\\top d + \\frac12\\|d\\|^2$ and
        the step at most $\\|\\nabla L\\|$.
    - `clip`: if given, each component of the direction is clipped to $[-c, c]$.

    ```python
    method = ng.GradientDescent(ng.LogGrid(30, 1e-6))  # best s of 30 in [1e-6, 1]; no metric
    ```
    """

    step: AbstractStepRule = LogGrid()
    clip: Float[Array, ""] | None = eqx.field(
        default=None, converter=as_float, kw_only=True
    )

    def __check_init__(self):
        if not isinstance(self.step, AbstractStepRule):
            raise TypeError(
                "GradientDescent: `step` must be a step rule (Constant, LogGrid, "
                f"Backtracking), got {type(self.step).__name__}."
            )

    def linearise(self, problem, flat, theta):
        return linearise(problem, flat, theta)  # M = I

    def direction(self, lin):
        h = clip_direction(lin.gradient, self.clip)
        return scaled_path(lin, h, lin.gradient), {}, jnp.array(True)
