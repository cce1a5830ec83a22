from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import as_points, as_weights


class RelativeL2Error(eqx.Module):
    """A monitor: $\\|u - u^*\\|_{L^2(\\mu)}/\\|u^*\\|_{L^2(\\mu)}$ on evaluation points.

    Pass it to [`ngflow.solve`][] as `monitors={"error": ng.RelativeL2Error(u_star, pts)}`;
    the values at every iterate come back in `Solution.monitors["error"]`.

    **Arguments:**

    - `reference`: the reference function $u^*(x)$.
    - `points`: evaluation points, shape `(N,)` or `(N, d)`.
    - `weights`: optional quadrature weights (default equal).

    ```python
    error = ng.RelativeL2Error(target, points)
    error(model)  # ‖u − u*‖/‖u*‖ at the initial model
    monitors = {"error": error}  # ng.solve(..., monitors=monitors) records it per iterate
    ```
    """

    reference: Callable
    points: Float[Array, "N ..."]
    weights: Float[Array, " N"]

    def __init__(self, reference, points, weights=None):
        self.reference = reference
        self.points = as_points(points, "RelativeL2Error")
        self.weights = as_weights(weights, self.points.shape[0], "RelativeL2Error")

    def __call__(self, model):
        u = jax.vmap(model)(self.points)
        v = jax.vmap(self.reference)(self.points)
        w = self.weights.reshape((-1,) + (1,) * (u.ndim - 1))
        return jnp.sqrt(jnp.sum(w * (u - v) ** 2) / jnp.sum(w * v**2))
