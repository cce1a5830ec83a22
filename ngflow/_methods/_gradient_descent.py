import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._gram._base import as_float
from ._base import AbstractMethod, clip_direction, search_step
from ._descents import scaled_path
from ._step_rules import AbstractStepRule, LogGrid


class GradientDescent(AbstractMethod):
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

    def init(self, problem, flat, theta):
        return self.step_rule.init(theta, problem)

    def step(self, problem, flat, theta, state):
        def query(gradient):
            h = clip_direction(gradient, self.clip)
            return scaled_path(None, h, gradient), {}, jnp.array(True)

        return search_step(problem, flat, theta, query, self.step_rule, state)
