import equinox as eqx
from jaxtyping import Array, Float

from .._gram import AbstractGramSolver, AutoGram, Pinv
from .._gram._base import as_float
from .._metrics import Hessian, TangentMap
from ._base import AbstractMethod, descent_step
from ._step_rules import AbstractStepRule, LogGrid


def _check_parts(who, gram, step):
    if not isinstance(gram, AbstractGramSolver):
        raise TypeError(
            f"{who}: `gram` must be an ngflow Gram solve (Cholesky, Pinv, QR, CG, "
            f"Woodbury, AutoGram), got {type(gram).__name__}."
        )
    if not isinstance(step, AbstractStepRule):
        raise TypeError(
            f"{who}: `step` must be a step rule (Constant, LogGrid, Backtracking), got "
            f"{type(step).__name__}."
        )


def _natural_step(problem, flat, theta, metric, gram, step_rule, clip):
    value = metric.linearise(problem, flat, theta)
    loss_and_gradient = None
    if isinstance(value, TangentMap) and value.residual is not None and gram.uses_dense(value):
        # Gauss-Newton: L = ½‖r‖², ∇L = Eᵀr from the E the solve builds anyway.
        e = value.matrix
        r = value.residual
        loss_and_gradient = (0.5 * (r @ r), e.T @ r)

    def direction(loss, gradient):
        return gram.solve(value, gradient)

    return descent_step(problem, flat, theta, direction, step_rule, clip, loss_and_gradient)


class NaturalGradient(AbstractMethod):
    """Natural gradient descent: $\\theta^+ = \\theta - s\\,h$ with $M(\\theta)h = \\nabla_\\theta L$.

    $M$ is the problem's metric: with [`ngflow.L2`][]/[`ngflow.H1`][] the step is the
    projection of the functional gradient on the tangent space (seed 000), with
    [`ngflow.GaussNewton`][] it is Gauss--Newton / energy natural gradient, with
    [`ngflow.Euclidean`][] gradient descent, with [`ngflow.Hessian`][] Newton.

    **Arguments:**

    - `gram`: the Gram solve (default [`ngflow.AutoGram`][]`()`).
    - `step`: the step rule (default [`ngflow.LogGrid`][]`()`).
    - `clip`: if given, each component of $h$ is clipped to $[-c, c]$ (seed 000 uses 1000).
    """

    gram: AbstractGramSolver = AutoGram()
    step_rule: AbstractStepRule = LogGrid()
    clip: Float[Array, ""] | None = eqx.field(default=None, converter=as_float)

    def __init__(
        self,
        gram: AbstractGramSolver = AutoGram(),
        step: AbstractStepRule = LogGrid(),
        *,
        clip=None,
    ):
        _check_parts("NaturalGradient", gram, step)
        self.gram = gram
        self.step_rule = step
        self.clip = clip

    def step(self, problem, flat, theta, state):
        theta_next, info = _natural_step(
            problem, flat, theta, problem.metric, self.gram, self.step_rule, self.clip
        )
        return theta_next, state, info


class Newton(AbstractMethod):
    """Newton's method: natural gradient with the Hessian metric, whatever the problem's metric.

    $\\theta^+ = \\theta - s\\,h$, $\\nabla^2_\\theta L\\,h = \\nabla_\\theta L$.

    **Arguments:**

    - `gram`: a solve that accepts a matrix metric: [`ngflow.Pinv`][] (default; the
        Hessian may be indefinite or singular), [`ngflow.Cholesky`][] or [`ngflow.CG`][].
    - `step`: the step rule (default [`ngflow.LogGrid`][]`()`).
    - `clip`: optional per-component clip of $h$.
    """

    gram: AbstractGramSolver = Pinv()
    step_rule: AbstractStepRule = LogGrid()
    clip: Float[Array, ""] | None = eqx.field(default=None, converter=as_float)

    def __init__(
        self,
        gram: AbstractGramSolver = Pinv(),
        step: AbstractStepRule = LogGrid(),
        *,
        clip=None,
    ):
        _check_parts("Newton", gram, step)
        self.gram = gram
        self.step_rule = step
        self.clip = clip

    def step(self, problem, flat, theta, state):
        theta_next, info = _natural_step(
            problem, flat, theta, Hessian(), self.gram, self.step_rule, self.clip
        )
        return theta_next, state, info
