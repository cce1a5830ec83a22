import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .._linearisation import loss_at
from .._results import RESULTS
from ._base import AbstractMethod, outcome, StepInfo


class Optax(AbstractMethod):
    """An [optax](https://optax.readthedocs.io) optimizer as an ngflow method: the
    baselines (Adam, L-BFGS, ...) under the same `ng.solve`, records and ensembles.

    Each step takes $L(\\theta_k)$ and $\\nabla_\\theta L$ by a backward pass and applies
    the optimizer's update; the problem's metric is not used. Optimizers that want the
    loss itself (`optax.lbfgs`, line searches) get `value`, `grad` and `value_fn`, as
    `optimistix.OptaxMinimiser` passes them. The recorded step size is
    $\\|\\theta_{k+1}-\\theta_k\\| / \\|\\nabla_\\theta L\\|$ (the $s$ of a plain gradient
    step that moves as far).

    **Arguments:** `optimizer`, an `optax.GradientTransformation`. Its hyperparameters
    are compiled into the solve; to sweep one in an ensemble without recompiling, build
    it with `optax.inject_hyperparams` inside the member function.

    ```python
    sol = ng.solve(problem, ng.Optax(optax.adam(1e-3)), steps=3)
    lbfgs = ng.Optax(optax.lbfgs())  # its zoom line search calls the loss
    ```
    """

    optimizer: optax.GradientTransformation

    def __init__(self, optimizer: optax.GradientTransformation):
        if not isinstance(optimizer, optax.GradientTransformation):
            raise TypeError(
                "Optax: `optimizer` must be an optax.GradientTransformation such as "
                f"optax.adam(1e-3), got {type(optimizer).__name__}."
            )
        self.optimizer = optimizer

    def init(self, problem, flat, theta):
        return self.optimizer.init(theta)

    def update(self, problem, flat, theta, state):
        loss_fn = loss_at(problem, flat)
        loss, gradient = jax.value_and_grad(loss_fn)(theta)
        extra = {}
        if isinstance(self.optimizer, optax.GradientTransformationExtraArgs):
            extra = dict(value=loss, grad=gradient, value_fn=loss_fn)
        updates, state_next = self.optimizer.update(gradient, state, theta, **extra)
        theta_next = optax.apply_updates(theta, updates)
        grad_norm = jnp.linalg.norm(gradient)
        finite_step = jnp.all(jnp.isfinite(theta_next))
        result = outcome(loss, finite_step, RESULTS.successful, gradient)
        result = RESULTS.where(finite_step, result, RESULTS.nonfinite)
        good = result == RESULTS.successful
        step_size = jnp.linalg.norm(theta_next - theta) / grad_norm
        info = StepInfo(
            loss=loss,
            grad_norm=grad_norm,
            step_size=jnp.where(good, step_size, jnp.nan),
            stats={},
            result=result,
        )
        theta_next = jnp.where(good, theta_next, theta)
        state_next = jax.tree.map(
            lambda new, old: jnp.where(good, new, old) if eqx.is_array(new) else new,
            state_next,
            state,
        )
        return theta_next, state_next, info
