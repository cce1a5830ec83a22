import equinox as eqx
import jax
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


def residual_loss_and_gradient(value, gram):
    """$(\\frac12\\|r\\|^2, E^\\top r)$ from the tangent map when the loss is Gauss--Newton
    and the Gram solve forms $E$ anyway (no backward pass); else `None`."""
    if isinstance(value, TangentMap) and value.has_residual and gram.uses_dense(value):
        e = value.matrix  # values and E in one pass per point
        r = value.residual
        return 0.5 * (r @ r), e.T @ r
    return None


def _natural_step(
    problem, flat, theta, metric, gram, step_rule, clip, fallback=None, stall=0.0
):
    value = metric.linearise(problem, flat, theta)
    loss_and_gradient = residual_loss_and_gradient(value, gram)

    def direction(loss, gradient):
        return gram.solve(value, gradient)

    fallback_fn = None
    if fallback is not None:
        fallback.check(value)

        def fallback_fn(loss, gradient):
            return fallback.solve(value, gradient)

    return descent_step(
        problem,
        flat,
        theta,
        direction,
        step_rule,
        clip,
        loss_and_gradient,
        fallback_fn,
        stall,
    )


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
    - `fallback`: a second Gram solve, used only at steps where the first one stalls:
        if the step along $h$ lowers the loss by less than the fraction `stall` (or its
        solve or search fails), the direction of `fallback` is searched too and the step
        with the lower loss is taken. Records `fallback_used` per step. Meant for
        a damped solve behind the minimum-norm one,
        `NaturalGradient(Pinv(), fallback=Cholesky(1e-5))`: where the tanh features are
        nearly collinear (1D PINNs) the minimum-norm direction has huge components
        along near-null tangent vectors and only tiny steps lower the loss, so NGD
        stalls; damped steps get it moving and the minimum-norm steps keep their
        accuracy once they make progress again. Measured on the 1D
        convection-diffusion PINN (`examples/convection_diffusion.py`, seeds 0-14, 400
        steps, relative $L^2$ error): minimum-norm alone 0.37-1.3 (seeds 0-3),
        `Cholesky(1e-5)` alone 4e-7-2.7e-5, `Pinv()` with this fallback 5e-9-1.1e-5 on
        14 seeds but 1.07 on seed 14 (the greedy choice of the lower loss per step led
        into a poor region that the damped solve alone avoided). On the ENGD Poisson
        problem it took damped steps on plateaus and ended worse (4 of 10 seeds at
        $\\le 3\\cdot10^{-7}$ after 200 steps instead of 9). So it is an option, not the default.
    - `stall`: the fraction of the loss a step must remove to count as progress
        (default 0.01; only used with `fallback`).

    ```python
    sol = ng.solve(problem, ng.NaturalGradient(), steps=3)  # AutoGram: Pinv on this small E
    damped = ng.NaturalGradient(ng.Pinv(), ng.LogGrid(), fallback=ng.Cholesky(1e-5))
    ```
    """

    gram: AbstractGramSolver = AutoGram()
    step_rule: AbstractStepRule = LogGrid()
    clip: Float[Array, ""] | None = eqx.field(default=None, converter=as_float)
    fallback: AbstractGramSolver | None = None
    stall: Float[Array, ""] = eqx.field(default=0.01, converter=as_float)

    def __init__(
        self,
        gram: AbstractGramSolver = AutoGram(),
        step: AbstractStepRule = LogGrid(),
        *,
        clip=None,
        fallback: AbstractGramSolver | None = None,
        stall=0.01,
    ):
        _check_parts("NaturalGradient", gram, step)
        if fallback is not None:
            _check_parts("NaturalGradient (fallback)", fallback, step)
        self.gram = gram
        self.step_rule = step
        self.clip = clip
        self.fallback = fallback
        self.stall = stall

    def __check_init__(self):
        if isinstance(self.stall, jax.core.Tracer):
            return
        if not 0.0 <= float(self.stall) < 1.0:
            raise ValueError(
                f"NaturalGradient: `stall` must be in [0, 1), got {self.stall}."
            )

    def step(self, problem, flat, theta, state):
        theta_next, info = _natural_step(
            problem,
            flat,
            theta,
            problem.metric,
            self.gram,
            self.step_rule,
            self.clip,
            self.fallback,
            self.stall,
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

    ```python
    ng.Newton(ng.Pinv())  # h = (∇²L)⁺∇L whatever problem.metric is
    ```
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
