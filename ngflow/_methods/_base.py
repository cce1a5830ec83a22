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


def search_step(
    problem,
    flat,
    theta,
    query,
    step_rule,
    state,
    loss_and_gradient=None,
    fallback_query=None,
    stall=0.0,
):
    """One step $\\theta^+ = \\theta - d$: a descent's path, searched by a step rule.

    `query(gradient) -> (path, stats, ok)` factorises once (see
    [`ngflow.AbstractDescent`][]); `step_rule.search` picks the point $d$ on the path
    and carries its `state` (a trust region's radius) to the next step. Returns
    `(theta_next, state_next, info)`.

    `loss_and_gradient`, if given, replaces the backward pass (e.g.
    $(\\frac12\\|r\\|^2, E^\\top r)$ from a tangent map). `fallback_query`, if given, is a
    second path, searched only when the first one stalls (its step lowers the loss by
    less than the fraction `stall`, or its solve or search failed); the step with the
    lower loss is taken, and the search statistics are that step's. Records
    `fallback_used`.
    """
    loss_at = lambda t: problem.loss(flat.model_at(t))
    if loss_and_gradient is None:
        loss, gradient = jax.value_and_grad(loss_at)(theta)
    else:
        loss, gradient = loss_and_gradient

    def search(query):
        path, stats, ok = query(gradient)
        d, s, search_stats, result, state_next = step_rule.search(
            loss_at, theta, path, loss, gradient, state
        )
        return d, s, ok, result, stats, search_stats, state_next

    d, s, solve_ok, search_result, stats, search_stats, state_next = search(query)
    if fallback_query is not None:
        inf = jnp.asarray(jnp.inf, dtype=loss.dtype)

        def reached(d, ok, result, search_stats):
            f = search_stats.get("search_loss")
            f = loss_at(theta - d) if f is None else f
            good = ok & (result == RESULTS.successful) & jnp.isfinite(f)
            return jnp.where(good, f, inf)

        f1 = reached(d, solve_ok, search_result, search_stats)
        first = (d, s, solve_ok, search_result, search_stats, state_next)

        def try_fallback(_):
            d2, s2, ok2, result2, _, search2, state2 = search(fallback_query)
            better = reached(d2, ok2, result2, search2) < f1
            pick = lambda a, b: jnp.where(better, b, a)
            chosen = (
                pick(d, d2),
                pick(s, s2),
                pick(solve_ok, ok2),
                RESULTS.where(better, result2, search_result),
                jax.tree.map(pick, search_stats, search2),
                jax.tree.map(pick, state_next, state2),
            )
            return chosen, better

        stalled = ~(f1 < (1 - stall) * loss)
        (d, s, solve_ok, search_result, search_stats, state_next), used = jax.lax.cond(
            stalled, try_fallback, lambda _: (first, jnp.array(False)), None
        )
        stats = {**stats, "fallback_used": used}
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
