"""Momentum: heavy-ball and Nesterov, in parameter space and natural (seed 003).

With the retraction $R[v_\\theta + E h] = v_{\\theta + h}$, natural heavy-ball is

$$p_k = E_k^+\\big(\\beta\\,w_k\\big) - s_k\\,G_k^{-1}\\nabla_\\theta L(\\theta_k), \\qquad
\\theta_{k+1} = \\theta_k + p_k,$$

where $E_k^+ w$ are the coefficients of the projection of the function-space vector $w$
on the current tangent space ($G_k^{-1}E_k^\\top w$, computed by the same Gram solve as the
natural gradient) and $w_k$ is the previous step carried into function space by a
*transport*: [`ngflow.LastMomentum`][] $E_{k-1}p_{k-1}$ (so $E_k^\\top w_k$ is the
cross-Gram $E_k^\\top E_{k-1}$ applied to $p_{k-1}$, never formed),
[`ngflow.FiniteDifference`][] $\\Phi(\\theta_k) - \\Phi(\\theta_{k-1})$,
[`ngflow.LastGradient`][] $-s_{k-1}\\nabla_u L(\\theta_{k-1})$; or
[`ngflow.ParameterMomentum`][], $p_{k-1}$ itself (parameter-space heavy-ball). Everything
about the previous iterate is re-evaluated on the current points, so momentum works
when the points are resampled between steps.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Scalar

from .._gram import AbstractGramSolver, AutoGram
from .._gram._base import as_float
from .._metrics import TangentMap
from .._repr import settings_repr
from .._results import RESULTS
from ._base import AbstractMethod, clip_direction, StepInfo
from ._natural_gradient import _check_parts, _natural_step, residual_loss_and_gradient
from ._step_rules import AbstractStepRule, LogGrid, TrustRegion


class MomentumState(eqx.Module):
    """The previous iterate $\\theta_{k-1}$, step $p_{k-1} = \\theta_k - \\theta_{k-1}$ and
    step size $s_{k-1}$; `started` is false before the first step.

    ```python
    p = ng.num_parameters(model)
    state = ng.MomentumState(jnp.zeros(p), jnp.zeros(p), jnp.asarray(0.0), jnp.asarray(False))
    # what HeavyBall.init returns; a transport's `function(tangent, previous)` receives it
    ```
    """

    theta: Float[Array, " p"]
    step: Float[Array, " p"]
    size: Scalar
    started: Bool[Array, ""]


class AbstractTransport(eqx.Module):
    """Carries the previous step into the current tangent space (natural heavy-ball).

    The momentum is the projection $m_k = E_k^+ w_k = G_k^{-1}E_k^\\top w_k$ of the
    function-space vector $w_k$ that `function` returns.

    ```python
    class HalfLastMomentum(ng.AbstractTransport):  # w_k = ½ E_{k−1} p_{k−1}
        def function(self, tangent, previous):
            return 0.5 * tangent.tangent_at(previous.theta, previous.step)

    ng.HeavyBall(ng.Pinv(), ng.LogGrid(), beta=0.9, transport=HalfLastMomentum())
    ```
    """

    __repr__ = settings_repr

    projected: ClassVar[bool] = True

    @abc.abstractmethod
    def function(
        self, tangent: TangentMap, previous: MomentumState
    ) -> Float[Array, " N"]:
        """The function-space vector $w_k$ (on the current points) whose projection on the
        current tangent space is the momentum."""


class LastMomentum(AbstractTransport):
    """LM: $w_k = E_{k-1}p_{k-1}$, the previous step as a function (a `jvp` at
    $\\theta_{k-1}$ on the current points); its projection is
    $G_k^{-1}E_k^\\top E_{k-1}p_{k-1}$, the cross-Gram applied, not formed.

    ```python
    ng.HeavyBall(ng.Pinv(), ng.Constant(0.2), beta=0.95, transport=ng.LastMomentum())
    ```
    """

    def function(self, tangent, previous):
        return tangent.tangent_at(previous.theta, previous.step)


class FiniteDifference(AbstractTransport):
    """FD: $w_k = \\Phi(\\theta_k) - \\Phi(\\theta_{k-1})$, the change of the function
    (features) over the previous step.

    ```python
    ng.HeavyBall(ng.Pinv(), ng.LogGrid(), beta=0.5, transport=ng.FiniteDifference())
    ```
    """

    def function(self, tangent, previous):
        return tangent.values - tangent.values_at(previous.theta)


class LastGradient(AbstractTransport):
    """LG: $w_k = -s_{k-1}\\nabla_u L(\\theta_{k-1})$, the previous step as plain functional
    gradient descent would have taken it.

    The slides (seed 003) write $+\\beta\\nabla\\mathcal L_u(v_{k-1})$; with that sign the
    term points uphill, so the previous step $-s_{k-1}\\nabla_u L$ is used. Needs the
    functional gradient, i.e. a residual loss with [`ngflow.GaussNewton`][]/`Energy`
    (there $\\nabla_u L$ is the residual).

    ```python
    ng.HeavyBall(ng.Pinv(), ng.LogGrid(), beta=0.5, transport=ng.LastGradient())  # GaussNewton()
    ```
    """

    def function(self, tangent, previous):
        if not tangent._residual_is_values:
            raise TypeError(
                "LastGradient needs the functional gradient ∇_u L at the previous "
                "iterate: use the GaussNewton()/Energy() metric with a residual loss, "
                "or LastMomentum()/FiniteDifference()."
            )
        return -previous.size * tangent.values_at(previous.theta)


class ParameterMomentum(AbstractTransport):
    """Parameter-space momentum: $p_{k-1}$ itself, not projected. With the Euclidean
    metric heavy-ball is then Polyak's method; with another metric it is momentum on
    preconditioned steps. Works with any metric (also [`ngflow.Hessian`][]).

    ```python
    method = ng.HeavyBall(ng.Cholesky(1e-8), ng.Constant(0.1), beta=0.9,
                          transport=ng.ParameterMomentum())  # with Euclidean(): Polyak
    ```
    """

    projected: ClassVar[bool] = False

    def function(self, tangent, previous):
        raise NotImplementedError


def _loss_and_gradient(problem, flat, theta, metric, gram):
    out = residual_loss_and_gradient(metric, gram)
    if out is None:
        out = jax.value_and_grad(lambda t: problem.loss(flat.model_at(t)))(theta)
    return out


def _check_momentum_parts(who, gram, step):
    _check_parts(who, gram, step)
    if isinstance(step, TrustRegion):
        raise TypeError(
            f"{who}: TrustRegion keeps a radius from step to step and searches the "
            "damped curve; momentum searches one direction from the extrapolated point "
            "with a stateless rule: LogGrid(), Backtracking() or Constant(lr)."
        )


def _fresh_state(theta):
    return MomentumState(
        theta, jnp.zeros_like(theta), jnp.zeros((), theta.dtype), jnp.array(False)
    )


def _need_tangent(metric, who):
    if not isinstance(metric, TangentMap):
        raise TypeError(
            f"{who} needs the tangent map E of a factored metric to carry the previous "
            f"step into the current tangent space; the metric is only a matrix (e.g. "
            f"Hessian). Use a factored metric, or parameter-space momentum "
            f"(HeavyBall(transport=ParameterMomentum()), Nesterov(natural=False))."
        )


def _project(metric, gram, w, who):
    """$E^+ w$ by the Gram solve (least squares with right-hand side $w$).

    This is a second solve with the same $E$ as the gradient's; XLA's common
    subexpression elimination merges the two factorizations (checked on the compiled
    step of `HeavyBall(Cholesky())` and `HeavyBall(Pinv())`: one `potrf`, one SVD).
    """
    _need_tangent(metric, who)
    return gram.solve(metric.with_residual(w), metric.rmatvec(w))


def _result(loss, gradient, ok, search_result):
    good = jnp.isfinite(loss) & jnp.all(jnp.isfinite(gradient))
    return RESULTS.where(
        ~good, RESULTS.nonfinite, RESULTS.where(~ok, RESULTS.singular, search_result)
    )


class HeavyBall(AbstractMethod):
    """Heavy-ball momentum: $\\theta_{k+1} = \\theta_k + p_k$,
    $p_k = \\beta m_k - s_k h_k$ with $h_k$ the natural gradient ($M h_k = \\nabla_\\theta L$).

    The momentum $m_k$ is the previous step carried into the current tangent space by
    `transport` (see the module docs): [`ngflow.LastMomentum`][] (default),
    [`ngflow.FiniteDifference`][], [`ngflow.LastGradient`][], or
    [`ngflow.ParameterMomentum`][] ($m_k = p_{k-1}$). The step rule chooses $s_k$ along
    $-h_k$ from the extrapolated point $\\theta_k + \\beta m_k$. With $\\beta = 0$ this is
    [`ngflow.NaturalGradient`][]; with the Euclidean metric and `Constant(α)` it is
    Polyak's heavy-ball $p_k = \\beta p_{k-1} - \\alpha\\nabla L(\\theta_k)$.

    Records `momentum_norm` ($\\|\\beta m_k\\|$) besides the Gram solve's statistics.

    **Arguments:**

    - `gram`: the Gram solve (default [`ngflow.AutoGram`][]`()`); it also projects the
        transported step.
    - `step`: the step rule (default [`ngflow.LogGrid`][]`()`).
    - `beta`: the momentum factor $\\beta$ (default 0.9).
    - `transport`: how the previous step is carried over (default `LastMomentum()`).
    - `clip`: optional per-component clip of $h_k$.
    - `restart`: adaptive restart (O'Donoghue & Candès 2015). The step rule searches
        only along $-h_k$ from $\\theta_k + \\beta m_k$, never the momentum term, so a
        large $\\beta$ can raise the loss without bound. With `restart=True`, a step whose
        loss exceeds $L(\\theta_k)$ is replaced by the plain natural gradient step from
        $\\theta_k$ and the momentum restarts from zero; the loss then never increases.
        Records `restarted` (default `False`: the method as written).

    ```python
    method = ng.HeavyBall(ng.Pinv(), ng.LogGrid(), beta=0.5, transport=ng.FiniteDifference())
    ```
    """

    gram: AbstractGramSolver
    step_rule: AbstractStepRule
    beta: Float[Array, ""] = eqx.field(converter=as_float)
    transport: AbstractTransport
    clip: Float[Array, ""] | None = eqx.field(converter=as_float)
    restart: bool = eqx.field(static=True)

    def __init__(
        self,
        gram: AbstractGramSolver = AutoGram(),
        step: AbstractStepRule = LogGrid(),
        beta=0.9,
        transport: AbstractTransport = LastMomentum(),
        *,
        clip=None,
        restart: bool = False,
    ):
        _check_momentum_parts("HeavyBall", gram, step)
        if not isinstance(transport, AbstractTransport):
            raise TypeError(
                f"HeavyBall: `transport` must be LastMomentum(), FiniteDifference(), "
                f"LastGradient() or ParameterMomentum(), got {transport!r}."
            )
        self.gram, self.step_rule, self.beta = gram, step, beta
        self.transport, self.clip, self.restart = transport, clip, bool(restart)

    def init(self, problem, flat, theta):
        return _fresh_state(theta)

    def step(self, problem, flat, theta, state):
        metric = problem.metric.linearise(problem, flat, theta)
        loss, gradient = _loss_and_gradient(problem, flat, theta, metric, self.gram)
        h, stats, ok = self.gram.solve(metric, gradient)
        h = clip_direction(h, self.clip)
        if self.transport.projected:
            _need_tangent(metric, f"HeavyBall({type(self.transport).__name__}())")
            w = self.transport.function(metric, state)
            w = jnp.where(state.started, w, 0.0)
            m, _, m_ok = _project(metric, self.gram, w, "HeavyBall")
            ok = ok & (m_ok | ~state.started)
        else:
            m = state.step
        m = jnp.where(state.started, m, 0.0)
        base = theta + self.beta * m
        loss_at = lambda t: problem.loss(flat.model_at(t))
        base_loss, base_gradient = jax.value_and_grad(loss_at)(base)
        s, search_stats, search_result = self.step_rule(
            loss_at, base, h, base_loss, base_gradient
        )
        step = self.beta * m - s * h
        restarted = jnp.array(False)
        if self.restart:
            restarted = state.started & ~(loss_at(theta + step) <= loss)

            def plain(_):
                s2, _, r2 = self.step_rule(loss_at, theta, h, loss, gradient)
                return jnp.asarray(s2, theta.dtype), r2

            keep = lambda _: (jnp.asarray(s, theta.dtype), search_result)
            s, search_result = jax.lax.cond(restarted, plain, keep, None)
            step = jnp.where(restarted, -s * h, step)
        result = _result(loss, gradient, ok, search_result)
        taken = result == RESULTS.successful
        theta_next = jnp.where(taken, theta + step, theta)
        state_next = MomentumState(theta, step, jnp.asarray(s, theta.dtype), ~restarted)
        momentum_norm = jnp.where(restarted, 0.0, jnp.linalg.norm(self.beta * m))
        extra = {"momentum_norm": momentum_norm}
        if self.restart:
            extra["restarted"] = restarted
        info = StepInfo(
            loss=loss,
            grad_norm=jnp.linalg.norm(gradient),
            step_size=jnp.where(taken, s, jnp.nan),
            stats={**stats, **search_stats, **extra},
            result=result,
        )
        return theta_next, state_next, info


class Nesterov(AbstractMethod):
    """Nesterov momentum: extrapolate, then a natural step from the extrapolated point.

    $y_k = \\theta_k + \\beta m_k$, $\\theta_{k+1} = y_k - s_k h(y_k)$ with $h(y)$ the natural
    gradient at $y$ (its own Gram matrix). Natural (`natural=True`, default, seed 003):
    $m_k = E_k^+(\\Phi(\\theta_k) - \\Phi(\\theta_{k-1}))$, the change of the function over
    the last step projected on the current tangent space (the function is extrapolated,
    then retracted). Parameter space (`natural=False`): $m_k = \\theta_k - \\theta_{k-1}$.
    With the Euclidean metric and `Constant(α)` both are Nesterov's method
    $\\theta_{k+1} = y_k - \\alpha\\nabla L(y_k)$; with $\\beta = 0$, natural gradient.

    The recorded loss is $L(\\theta_k)$; the step's statistics are those at $y_k$.

    **Arguments:** `gram`, `step`, `beta` (default 0.9), `natural`, `clip` and `restart`
    (a step that ends above $L(\\theta_k)$ is replaced by the natural step from
    $\\theta_k$, and the momentum restarts) as for [`ngflow.HeavyBall`][].

    ```python
    ng.Nesterov(ng.Cholesky(1e-6), ng.LogGrid(), beta=0.7, restart=True)  # natural Nesterov
    ```
    """

    gram: AbstractGramSolver
    step_rule: AbstractStepRule
    beta: Float[Array, ""] = eqx.field(converter=as_float)
    natural: bool = eqx.field(static=True)
    clip: Float[Array, ""] | None = eqx.field(converter=as_float)
    restart: bool = eqx.field(static=True)

    def __init__(
        self,
        gram: AbstractGramSolver = AutoGram(),
        step: AbstractStepRule = LogGrid(),
        beta=0.9,
        *,
        natural: bool = True,
        clip=None,
        restart: bool = False,
    ):
        _check_momentum_parts("Nesterov", gram, step)
        self.gram, self.step_rule, self.beta = gram, step, beta
        self.natural, self.clip, self.restart = natural, clip, bool(restart)

    def init(self, problem, flat, theta):
        return _fresh_state(theta)

    def step(self, problem, flat, theta, state):
        loss = problem.loss(flat.model_at(theta))
        ok = jnp.array(True)
        if self.natural:
            metric = problem.metric.linearise(problem, flat, theta)
            _need_tangent(metric, "Nesterov(natural=True)")
            w = jnp.where(
                state.started, metric.values - metric.values_at(state.theta), 0.0
            )
            m, _, m_ok = _project(metric, self.gram, w, "Nesterov(natural=True)")
            ok = m_ok | ~state.started
        else:
            m = theta - state.theta
        m = jnp.where(state.started, m, 0.0)
        y = theta + self.beta * m
        y_next, _, info = _natural_step(
            problem, flat, y, problem.metric, self.gram, self.step_rule, self.clip
        )
        restarted = jnp.array(False)
        if self.restart:
            restarted = state.started & ~(problem.loss(flat.model_at(y_next)) <= loss)

            def plain(_):
                theta_plain, _, plain_info = _natural_step(
                    problem,
                    flat,
                    theta,
                    problem.metric,
                    self.gram,
                    self.step_rule,
                    self.clip,
                )
                return theta_plain, plain_info

            y_next, info = jax.lax.cond(
                restarted, plain, lambda _: (y_next, info), None
            )
        result = RESULTS.where(
            ~jnp.isfinite(loss),
            RESULTS.nonfinite,
            RESULTS.where(~ok, RESULTS.singular, info.result),
        )
        taken = result == RESULTS.successful
        theta_next = jnp.where(taken, y_next, theta)
        state_next = MomentumState(
            theta, theta_next - theta, jnp.zeros((), theta.dtype), ~restarted
        )
        extra = {
            "momentum_norm": jnp.where(restarted, 0.0, jnp.linalg.norm(self.beta * m))
        }
        if self.restart:
            extra["restarted"] = restarted
        info = StepInfo(
            loss=loss,
            grad_norm=info.grad_norm,
            step_size=jnp.where(taken, info.step_size, jnp.nan),
            stats={**info.stats, **extra},
            result=result,
        )
        return theta_next, state_next, info
