import abc

import equinox as eqx
from jaxtyping import Array, Float

from .._gram import AbstractGramSolver, AutoGram, Pinv
from .._gram._base import as_float
from .._linearisation import linearise
from .._metrics import AbstractMetric, Hessian
from ._base import AbstractDescentMethod, clip_direction
from ._descents import AbstractDescent, scaled_path, ScaledDescent
from ._step_rules import AbstractStepRule, LogGrid, TrustRegion


def _check_parts(who, gram, step, descent=None, clip=None):
    if not isinstance(gram, AbstractGramSolver):
        raise TypeError(
            f"{who}: `gram` must be an ngflow Gram solve (Cholesky, Pinv, QR, CG, "
            f"Woodbury, AutoGram), got {type(gram).__name__}."
        )
    if not isinstance(step, AbstractStepRule):
        raise TypeError(
            f"{who}: `step` must be a step rule (TrustRegion, LogGrid, Backtracking, "
            f"Constant), got {type(step).__name__}."
        )
    if descent is not None and not isinstance(descent, AbstractDescent):
        raise TypeError(
            f"{who}: `descent` must be ng.DampedDescent() or ng.ScaledDescent(), got "
            f"{type(descent).__name__}."
        )
    if clip is not None and not (descent is None or isinstance(descent, ScaledDescent)):
        raise ValueError(
            f"{who}: `clip` shortens the components of one direction, so it needs "
            f"descent=ng.ScaledDescent() (or no descent: `clip` then implies it), got "
            f"{type(descent).__name__}()."
        )


class AbstractNaturalMethod(AbstractDescentMethod):
    """Natural gradient with a metric (`metric(problem)`), a Gram solve, a descent and a
    search: NaturalGradient and Newton differ only in the metric and the defaults."""

    gram: eqx.AbstractVar[AbstractGramSolver]
    descent: eqx.AbstractVar[AbstractDescent | None]
    clip: eqx.AbstractVar[Float[Array, ""] | None]

    def __check_init__(self):
        _check_parts(type(self).__name__, self.gram, self.step, self.descent, self.clip)

    @abc.abstractmethod
    def metric(self, problem) -> AbstractMetric:
        """The metric the step uses."""

    def linearise(self, problem, flat, theta):
        return linearise(problem, flat, theta, self.gram, self.metric(problem))

    def direction(self, lin):
        descent = self.descent
        if descent is None:
            descent = (
                ScaledDescent()
                if self.clip is not None
                else self.step.default_descent()
            )
        path, stats, ok = descent.query(self.gram, lin, lin.gradient)
        if self.clip is not None:
            h = clip_direction(path.direction, self.clip)
            path = scaled_path(lin, h, lin.gradient)
        return path, stats, ok


class NaturalGradient(AbstractNaturalMethod):
    """Natural gradient descent: $\\theta^+ = \\theta - d$ with $d$ on the path of
    $M(\\theta)h = \\nabla_\\theta L$.

    $M$ is the problem's metric: with [`ngflow.L2`][]/[`ngflow.H1`][] the step is the
    projection of the functional gradient on the tangent space (seed 000), with
    [`ngflow.GaussNewton`][] it is Gauss--Newton / energy natural gradient, with
    [`ngflow.Euclidean`][] gradient descent, with [`ngflow.Hessian`][] Newton.

    **The default** searches the damping, not only the step length: one factorisation
    per step gives the whole Levenberg--Marquardt curve
    $h(\\lambda) = (M + \\lambda I)^{-1}\\nabla_\\theta L$ ([`ngflow.DampedDescent`][]) and
    [`ngflow.TrustRegion`][] keeps the longest step on it whose decrease the quadratic
    model still predicts: damped, gradient-like steps on plateaus, the undamped
    minimum-norm step (every digit) once the model is exact. No cutoff or damping to
    choose per problem. With a step-length rule ([`ngflow.LogGrid`][],
    [`ngflow.Backtracking`][], [`ngflow.Constant`][]) the step is $s\\,h$ with $h$ the Gram
    solve's direction, as in the papers ([`ngflow.ScaledDescent`][]).

    **Arguments:**

    - `gram`: the Gram solve (default [`ngflow.AutoGram`][]`()`): the factorisation.
    - `step`: the search (default [`ngflow.TrustRegion`][]`()`).
    - `descent`: [`ngflow.DampedDescent`][]`()` or [`ngflow.ScaledDescent`][]`()`; default:
        the search's own (`DampedDescent` for `TrustRegion`, `ScaledDescent` for the
        step-length rules).
    - `clip`: if given, each component of $h$ is clipped to $[-c, c]$ (seed 000 uses
        1000, with a line search); it implies the scaled descent. A clipped direction
        need not be a descent direction: a trust region then rejects its steps, where a
        grid ([`ngflow.LogGrid`][]) still finds a lower loss along it.

    ```python
    sol = ng.solve(problem, ng.NaturalGradient(), steps=3)  # trust region on the LM curve
    sol.stats["damping"], sol.stats["radius"], sol.stats["ratio"], sol.stats["accepted"]
    paper = ng.NaturalGradient(ng.Pinv(), ng.LogGrid())  # minimum-norm h, best s·h of a grid
    ```
    """

    gram: AbstractGramSolver = AutoGram()
    step: AbstractStepRule = TrustRegion()
    descent: AbstractDescent | None = eqx.field(default=None, kw_only=True)
    clip: Float[Array, ""] | None = eqx.field(
        default=None, converter=as_float, kw_only=True
    )

    def metric(self, problem):
        return problem.metric


class Newton(AbstractNaturalMethod):
    """Newton's method: natural gradient with the Hessian metric, whatever the problem's metric.

    $\\theta^+ = \\theta - s\\,h$, $\\nabla^2_\\theta L\\,h = \\nabla_\\theta L$.

    **Arguments:**

    - `gram`: a solve that accepts a matrix metric: [`ngflow.Pinv`][] (default; the
        Hessian may be indefinite or singular), [`ngflow.Cholesky`][] or [`ngflow.CG`][].
    - `step`: the step rule (default [`ngflow.LogGrid`][]`()`). With
        [`ngflow.TrustRegion`][] the step is damped on the absolute eigenvalues,
        $h(\\lambda) = \\sum_i a_i/(|\\mu_i| + \\lambda)\\,v_i$ (a descent direction even where the
        Hessian is indefinite), and the ratio is that of the true quadratic model.
    - `descent`: as for [`ngflow.NaturalGradient`][].
    - `clip`: optional per-component clip of $h$.

    ```python
    ng.Newton(ng.Pinv())  # h = (∇²L)⁺∇L whatever problem.metric is
    ng.Newton(ng.Pinv(), ng.TrustRegion())  # damped on |eigenvalues|, trust region
    ```
    """

    gram: AbstractGramSolver = Pinv()
    step: AbstractStepRule = LogGrid()
    descent: AbstractDescent | None = eqx.field(default=None, kw_only=True)
    clip: Float[Array, ""] | None = eqx.field(
        default=None, converter=as_float, kw_only=True
    )

    def metric(self, problem):
        return Hessian()
