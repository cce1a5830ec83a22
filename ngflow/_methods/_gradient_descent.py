import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._gram._base import as_float
from ._base import AbstractMethod, descent_step
from ._step_rules import AbstractStepRule, LogGrid


class GradientDescent(AbstractMethod):
    """Gradient descent, $\\theta^+ = \\theta - s\\nabla_\\theta L$: steepest descent in the Euclidean metric.

    It ignores the problem's metric.

    **Arguments:**

    - `step`: the step rule (default [`ngflow.LogGrid`][]`()`).
    - `clip`: if given, each component of the direction is clipped to $[-c, c]$.

    ```python
    method = ng.GradientDescent(ng.LogGrid(30, 1e-6))  # best s of 30 in [1e-6, 1]; no metric
    ```
    """

    step_rule: AbstractStepRule = LogGrid()
    clip: Float[Array, ""] | None = eqx.field(default=None, converter=as_float)

    def __init__(self, step: AbstractStepRule = LogGrid(), *, clip=None):
        if not isinstance(step, AbstractStepRule):
            raise TypeError(
                "GradientDescent: `step` must be a step rule (Constant, LogGrid, "
                f"Backtracking), got {type(step).__name__}."
            )
        self.step_rule = step
        self.clip = clip

    def step(self, problem, flat, theta, state):
        def direction(loss, gradient):
            return gradient, {}, jnp.array(True)

        theta_next, info = descent_step(
            problem, flat, theta, direction, self.step_rule, self.clip
        )
        return theta_next, state, info
