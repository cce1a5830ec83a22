"""Discrete methods: a direction (from a metric and a Gram solve) and a step rule."""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree, Scalar

from .._linearisation import loss_at
from .._repr import settings_repr
from .._results import RESULTS
from ._descents import AbstractPath
from ._step_rules import AbstractStepRule


class StepInfo(eqx.Module):
    """What one step saw: recorded per step in [`ngflow.Solution`][].

    It holds $L(\\theta_k)$, $\\|\\nabla_\\theta L(\\theta_k)\\|$ and the step size
    $s_k$ of $\\theta_{k+1} = \\theta_k - s_kh_k$.

    ```python
    info = ng.StepInfo(loss=jnp.asarray(0.5), grad_norm=jnp.asarray(2.0),
                       step_size=jnp.asarray(0.25), stats={}, result=ng.RESULTS.successful)
    # returned by AbstractMethod.update; solve stacks them into Solution.losses, .stats, ...
    ```
    """

    loss: Scalar
    grad_norm: Scalar
    step_size: Scalar
    stats: dict[str, Array]
    result: RESULTS


class AbstractMethod(eqx.Module):
    """A discrete method: `init` its state, then `update` $\\theta_k\\mapsto\\theta_{k+1}$ under `jit`.

    `problem` is the [`ngflow.Problem`][]; `flat` gives `flat.model_at(theta)`, the model
    at flat parameters $\\theta\\in\\mathbb{R}^p$.

    ```python
    class PlainGD(ng.AbstractMethod):  # θ⁺ = θ − 0.1∇L, no state
        def update(self, problem, flat, theta, state):
            loss, grad = jax.value_and_grad(lambda t: problem.loss(flat.model_at(t)))(theta)
            info = ng.StepInfo(loss, jnp.linalg.norm(grad), jnp.asarray(0.1), {}, ng.RESULTS.successful)
            return theta - 0.1 * grad, state, info

    sol = ng.solve(problem, PlainGD(), steps=3)
    ```
    """

    __repr__ = settings_repr

    def init(self, problem, flat, theta) -> PyTree:
        """The method's state before the first step (default: none)."""
        return None

    @abc.abstractmethod
    def update(
        self, problem, flat, theta, state
    ) -> tuple[Float[Array, " p"], PyTree, StepInfo]:
        """One step: `(theta_next, state_next, info)`."""


def clip_direction(direction, clip):
    return direction if clip is None else jnp.clip(direction, -clip, clip)


def outcome(loss, ok, result, gradient=None):
    """The step's result: `nonfinite` if $L$ (or $\\nabla L$) is NaN/Inf, else `singular`
    if the solve failed, else the search's `result`."""
    good = jnp.isfinite(loss)
    if gradient is not None:
        good = good & jnp.all(jnp.isfinite(gradient))
    return RESULTS.where(
        ~good, RESULTS.nonfinite, RESULTS.where(~ok, RESULTS.singular, result)
    )


def search_step(loss_at, theta, lin, query, search, state, origin=None):
    """One step $\\theta^+ = \\theta + p$, $p = -d$ with $d$ on a descent's path picked by a
    search: the step of every method.

    `lin` is the linearisation at $\\theta$ (its `loss` and `gradient` are recorded and
    checked); `query = (path, stats, ok)` is the descent's path (see
    [`ngflow.AbstractDescent`][]); `search.search` picks the point $d$ and carries its
    `state` (a trust region's radius). With `origin = (s, L, ∇L)` the search starts from
    the extrapolated point $\\theta + s$ (momentum) and $p = s - d$. Returns
    `(theta_next, p, state_next, info)`; $\\theta$ is kept unless the step succeeded.
    """
    path, stats, ok = query
    shift, x_loss, x_gradient = (
        (None, lin.loss, lin.gradient) if origin is None else origin
    )
    x = theta if shift is None else theta + shift
    d, s, search_stats, search_result, state_next = search.search(
        loss_at, x, path, x_loss, x_gradient, state
    )
    p = -d if shift is None else shift - d
    result = outcome(lin.loss, ok, search_result, lin.gradient)
    taken = result == RESULTS.successful
    info = StepInfo(
        loss=lin.loss,
        grad_norm=jnp.linalg.norm(lin.gradient),
        step_size=jnp.where(taken, s, jnp.nan),
        stats={**stats, **search_stats},
        result=result,
    )
    return jnp.where(taken, theta + p, theta), p, state_next, info


class AbstractDescentMethod(AbstractMethod):
    """The skeleton of GradientDescent, NaturalGradient and Newton: linearise the metric
    at $\\theta$, ask the descent for a path, search along it (`search_step`).

    Subclasses give the search (`step`), `linearise` and `direction`.
    """

    step: eqx.AbstractVar[AbstractStepRule]

    def init(self, problem, flat, theta):
        return self.step.init(theta, problem)

    @abc.abstractmethod
    def linearise(self, problem, flat, theta):
        """The linearisation at `theta` (`ngflow._linearisation.linearise`)."""

    @abc.abstractmethod
    def direction(self, lin) -> tuple[AbstractPath, dict[str, Array], Array]:
        """`(path, stats, ok)` at the linearisation `lin`."""

    def update(self, problem, flat, theta, state):
        lin = self.linearise(problem, flat, theta)
        query = self.direction(lin)
        out = search_step(loss_at(problem, flat), theta, lin, query, self.step, state)
        theta_next, _, state_next, info = out
        return theta_next, state_next, info
