"""Discrete methods: a direction (from a metric and a Gram solve) and a step rule."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree, Scalar

from .._results import RESULTS


class StepInfo(eqx.Module):
    """What one step saw: recorded per step in [`ngflow.Solution`][]."""

    loss: Scalar
    grad_norm: Scalar
    step_size: Scalar
    stats: dict[str, Array]
    result: RESULTS


class AbstractMethod(eqx.Module):
    """A discrete method: `init` its state, then `step` $\\theta_k\\mapsto\\theta_{k+1}$ under `jit`.

    `problem` is the [`ngflow.Problem`][]; `flat` gives `flat.model_at(theta)`, the model
    at flat parameters $\\theta\\in\\mathbb{R}^p$.
    """

    def init(self, problem, flat, theta) -> PyTree:
        """The method's state before the first step (default: none)."""
        return None

    @abc.abstractmethod
    def step(self, problem, flat, theta, state) -> tuple[Float[Array, " p"], PyTree, StepInfo]:
        """One step: `(theta_next, state_next, info)`."""


def clip_direction(direction, clip):
    return direction if clip is None else jnp.clip(direction, -clip, clip)


def descent_step(
    problem, flat, theta, direction_fn, step_rule, clip, loss_and_gradient=None
):
    """$\\theta^+ = \\theta - s\\,h$ with $h$ from `direction_fn(loss, grad)`; handles failures.

    `direction_fn(loss, gradient) -> (h, stats, ok)`. `loss_and_gradient`, if given,
    replaces the backward pass (e.g. $(\\frac12\\|r\\|^2, E^\\top r)$ from a tangent map).
    """
    loss_at = lambda t: problem.loss(flat.model_at(t))
    if loss_and_gradient is None:
        loss, gradient = jax.value_and_grad(loss_at)(theta)
    else:
        loss, gradient = loss_and_gradient
    h, stats, solve_ok = direction_fn(loss, gradient)
    h = clip_direction(h, clip)
    s, search_stats, search_result = step_rule(loss_at, theta, h, loss, gradient)
    good = jnp.isfinite(loss) & jnp.all(jnp.isfinite(gradient))
    result = RESULTS.where(
        ~good,
        RESULTS.nonfinite,
        RESULTS.where(~solve_ok, RESULTS.singular, search_result),
    )
    taken = result == RESULTS.successful
    theta_next = jnp.where(taken, theta - s * h, theta)
    info = StepInfo(
        loss=loss,
        grad_norm=jnp.linalg.norm(gradient),
        step_size=jnp.where(taken, s, jnp.nan),
        stats={**stats, **search_stats},
        result=result,
    )
    return theta_next, info
