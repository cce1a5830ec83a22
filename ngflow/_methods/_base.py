"""Discrete methods: a direction (from a metric and a Gram solve) and a step rule."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree, Scalar

from .._repr import settings_repr
from .._results import RESULTS


class StepInfo(eqx.Module):
    """What one step saw: recorded per step in [`ngflow.Solution`][].

    It holds $L(\\theta_k)$, $\\|\\nabla_\\theta L(\\theta_k)\\|$ and the step size
    $s_k$ of $\\theta_{k+1} = \\theta_k - s_kh_k$.

    ```python
    info = ng.StepInfo(loss=jnp.asarray(0.5), grad_norm=jnp.asarray(2.0),
                       step_size=jnp.asarray(0.25), stats={}, result=ng.RESULTS.successful)
    # returned by AbstractMethod.step; solve stacks them into Solution.losses, .stats, ...
    ```
    """

    loss: Scalar
    grad_norm: Scalar
    step_size: Scalar
    stats: dict[str, Array]
    result: RESULTS


class AbstractMethod(eqx.Module):
    """A discrete method: `init` its state, then `step` $\\theta_k\\mapsto\\theta_{k+1}$ under `jit`.

    `problem` is the [`ngflow.Problem`][]; `flat` gives `flat.model_at(theta)`, the model
    at flat parameters $\\theta\\in\\mathbb{R}^p$.

    ```python
    class PlainGD(ng.AbstractMethod):  # θ⁺ = θ − 0.1∇L, no state
        def step(self, problem, flat, theta, state):
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
    def step(
        self, problem, flat, theta, state
    ) -> tuple[Float[Array, " p"], PyTree, StepInfo]:
        """One step: `(theta_next, state_next, info)`."""


def clip_direction(direction, clip):
    return direction if clip is None else jnp.clip(direction, -clip, clip)


def search_step(problem, flat, theta, query, step_rule, state, loss_and_gradient=None):
    """One step $\\theta^+ = \\theta - d$: a descent's path, searched by a step rule.

    `query(gradient) -> (path, stats, ok)` factorises once (see
    [`ngflow.AbstractDescent`][]); `step_rule.search` picks the point $d$ on the path
    and carries its `state` (a trust region's radius) to the next step. Returns
    `(theta_next, state_next, info)`. `loss_and_gradient`, if given, replaces the
    backward pass (e.g. $(\\frac12\\|r\\|^2, E^\\top r)$ from a tangent map).
    """
    loss_at = lambda t: problem.loss(flat.model_at(t))
    if loss_and_gradient is None:
        loss, gradient = jax.value_and_grad(loss_at)(theta)
    else:
        loss, gradient = loss_and_gradient
    path, stats, solve_ok = query(gradient)
    d, s, search_stats, search_result, state_next = step_rule.search(
        loss_at, theta, path, loss, gradient, state
    )
    good = jnp.isfinite(loss) & jnp.all(jnp.isfinite(gradient))
    result = RESULTS.where(
        ~good,
        RESULTS.nonfinite,
        RESULTS.where(~solve_ok, RESULTS.singular, search_result),
    )
    taken = result == RESULTS.successful
    theta_next = jnp.where(taken, theta - d, theta)
    info = StepInfo(
        loss=loss,
        grad_norm=jnp.linalg.norm(gradient),
        step_size=jnp.where(taken, s, jnp.nan),
        stats={**stats, **search_stats},
        result=result,
    )
    return theta_next, state_next, info
