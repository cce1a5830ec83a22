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
import dataclasses
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Scalar

from .._gram import AbstractGramSolver, AutoGram
from .._gram._base import as_float
from .._linearisation import loss_at, TangentMap
from .._repr import settings_repr
from .._results import RESULTS
from ._base import AbstractMethod, outcome, search_step
from ._natural_gradient import _check_parts, NaturalGradient
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
        if tangent.residual is None:
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


def _carried(tangent, gram, transport, state, who):
    """`(m, ok)`: $m = E^+ w$, the transported step $w$ projected by the Gram solve
    (least squares with right-hand side $w$; 0 before the first step).

    This is a second solve with the same $E$ as the gradient's; XLA's common
    subexpression elimination merges the two factorizations (checked on the compiled
    step of `HeavyBall(Cholesky())` and `HeavyBall(Pinv())`: one `potrf`, one SVD).
    """
    _need_tangent(tangent, who)
    w = jnp.where(state.started, transport.function(tangent, state), 0.0)
    projected = dataclasses.replace(tangent, residual=w)
    m, _, ok = gram.solve(projected, tangent.rmatvec(w))
    return m, ok | ~state.started


class AbstractMomentum(AbstractMethod):
    """Momentum as a wrapper around the natural gradient step: extrapolate by $\\beta m_k$,
    step from there, and with `restart` fall back to the plain step from $\\theta_k$
    (momentum reset) when the loss rises. Subclasses give `extrapolate`."""

    gram: eqx.AbstractVar[AbstractGramSolver]
    step: eqx.AbstractVar[AbstractStepRule]
    beta: eqx.AbstractVar[Float[Array, ""]]
    clip: eqx.AbstractVar[Float[Array, ""] | None]
    restart: eqx.AbstractVar[bool]

    def __check_init__(self):
        who = type(self).__name__
        _check_parts(who, self.gram, self.step)
        if isinstance(self.step, TrustRegion):
            raise TypeError(
                f"{who}: TrustRegion keeps a radius from step to step and searches the "
                "damped curve; momentum searches one direction from the extrapolated "
                "point with a stateless rule: LogGrid(), Backtracking() or Constant(lr)."
            )

    def init(self, problem, flat, theta):
        return _fresh_state(theta)

    def natural_gradient(self) -> NaturalGradient:
        """The plain step: natural gradient with this Gram solve, search and clip."""
        return NaturalGradient(self.gram, self.step, clip=self.clip)

    @abc.abstractmethod
    def extrapolate(self, problem, flat, theta, state):
        """`(loss, m, ok, step, plain)`: $L(\\theta_k)$, the momentum $m_k$, whether its
        projection succeeded, and the momentum and the plain step as functions
        `() -> (theta_next, p, info)` ($\\theta_{k+1} = \\theta_k + p$)."""

    def update(self, problem, flat, theta, state):
        loss, m, ok, step, plain = self.extrapolate(problem, flat, theta, state)
        point, p, info = step()
        restarted = jnp.array(False)
        if self.restart:
            restarted = state.started & ~(loss_at(problem, flat)(point) <= loss)
            point, p, info = jax.lax.cond(restarted, plain, lambda: (point, p, info))
        result = outcome(loss, ok, info.result)
        taken = result == RESULTS.successful
        stats = dict(info.stats)
        stats["momentum_norm"] = jnp.where(
            restarted, 0.0, jnp.linalg.norm(self.beta * m)
        )
        if self.restart:
            stats["restarted"] = restarted
        size = jnp.where(taken, info.step_size, jnp.nan)
        info = dataclasses.replace(
            info, loss=loss, step_size=size, stats=stats, result=result
        )
        state_next = MomentumState(theta, p, size.astype(theta.dtype), ~restarted)
        return jnp.where(taken, point, theta), state_next, info


class HeavyBall(AbstractMomentum):
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
        $\\theta_k$ and the momentum restarts from zero; the loss then never increases
        where the plain step does not (a trust region rejects a step that raises it; a
        grid such as `LogGrid` takes its best point, lower unless $-h_k$ is not a
        descent direction). Records `restarted` (default `False`: the method as written).

    ```python
    method = ng.HeavyBall(ng.Pinv(), ng.LogGrid(), beta=0.5, transport=ng.FiniteDifference())
    ```
    """

    gram: AbstractGramSolver = AutoGram()
    step: AbstractStepRule = LogGrid()
    beta: Float[Array, ""] = eqx.field(default=0.9, converter=as_float)
    transport: AbstractTransport = LastMomentum()
    clip: Float[Array, ""] | None = eqx.field(
        default=None, converter=as_float, kw_only=True
    )
    restart: bool = eqx.field(default=False, static=True, converter=bool, kw_only=True)

    def __check_init__(self):
        if not isinstance(self.transport, AbstractTransport):
            raise TypeError(
                f"HeavyBall: `transport` must be LastMomentum(), FiniteDifference(), "
                f"LastGradient() or ParameterMomentum(), got {self.transport!r}."
            )

    def extrapolate(self, problem, flat, theta, state):
        natural = self.natural_gradient()
        lin = natural.linearise(problem, flat, theta)
        path, stats, ok = natural.direction(lin)
        if self.transport.projected:
            who = f"HeavyBall({type(self.transport).__name__}())"
            m, m_ok = _carried(lin, self.gram, self.transport, state, who)
            ok = ok & m_ok
        else:
            m = state.step
        m = jnp.where(state.started, m, 0.0)
        shift = self.beta * m
        f = loss_at(problem, flat)
        origin = (shift, *jax.value_and_grad(f)(theta + shift))
        query = (path, stats, ok)

        def step(origin=None):
            theta_next, p, _, info = search_step(
                f, theta, lin, query, self.step, None, origin
            )
            return theta_next, p, info

        return lin.loss, m, ok, lambda: step(origin), step


class Nesterov(AbstractMomentum):
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

    gram: AbstractGramSolver = AutoGram()
    step: AbstractStepRule = LogGrid()
    beta: Float[Array, ""] = eqx.field(default=0.9, converter=as_float)
    natural: bool = eqx.field(default=True, static=True, kw_only=True)
    clip: Float[Array, ""] | None = eqx.field(
        default=None, converter=as_float, kw_only=True
    )
    restart: bool = eqx.field(default=False, static=True, converter=bool, kw_only=True)

    def extrapolate(self, problem, flat, theta, state):
        method = self.natural_gradient()
        ok = jnp.array(True)
        if self.natural:
            lin = method.linearise(problem, flat, theta)
            who = "Nesterov(natural=True)"
            m, ok = _carried(lin, self.gram, FiniteDifference(), state, who)
        else:
            m = theta - state.theta
        m = jnp.where(state.started, m, 0.0)

        def step_from(x):
            x_next, _, info = method.update(problem, flat, x, None)
            return x_next, x_next - theta, info

        y = theta + self.beta * m
        loss = loss_at(problem, flat)(theta)
        return loss, m, ok, lambda: step_from(y), lambda: step_from(theta)
