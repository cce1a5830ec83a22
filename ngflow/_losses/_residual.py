"""Residual losses: the mean square of a pointwise residual, e.g. of a PDE."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import as_points
from .._domains import AbstractSampler
from .._features import Features, PointBlock
from ._base import AbstractResidualLoss


class _AtPoint(eqx.Module):
    fn: Callable

    def __call__(self, model, x, _):
        return self.fn(model, x)


class Residual(AbstractResidualLoss):
    """$\\mathcal L(u) = w\\,\\frac1N\\sum_{i=1}^N |R(u, x_i)|^2$ — the mean square of a pointwise residual.

    There is **no** $\\frac12$: `Residual(fn, points, weight)` is what PINN papers (and the
    ENGD reference) write as `weight * mean(fn(u, x)**2)`. As a residual loss it is
    $\\frac12\\|r\\|^2$ with $r_i = \\sqrt{2w/N}\\,R(u, x_i)$, so [`ngflow.Energy`][] /
    [`ngflow.GaussNewton`][] use the Jacobian of $R$ at the points, computed per point.

    A PINN loss is a sum of them:

    ```python
    square = ng.Box([0, 0], [1, 1])
    interior = ng.Residual(lambda u, x: ng.laplacian(u, x) + f(x), square.interior_grid(28))
    boundary = ng.Residual(lambda u, x: u(x), square.boundary_grid(29), weight=4.0)
    problem = ng.Problem(model, interior + boundary, ng.Energy())
    ```

    **Arguments:**

    - `fn`: `fn(u, x) -> residual` at one point (scalar or array; flattened), with `u`
        the model and `x` one point. Use the operators [`ngflow.laplacian`][],
        [`ngflow.gradient`][], [`ngflow.derivative`][], ...
    - `points`: an array `(N, d)` (or `(N,)`), or a sampler (e.g. `box.sampler(4000)`)
        to draw fresh points during the solve (stochastic natural gradient).
    - `weight`: $w\\ge0$.
    """

    fn: Callable
    points: Float[Array, "N ..."]
    weight: Float[Array, ""]
    sampler: AbstractSampler | None

    def __init__(self, fn, points, weight=1.0):
        self.fn = fn
        if isinstance(points, AbstractSampler):
            self.sampler = points
            points = points(jax.random.key(0))
        else:
            self.sampler = None
        self.points = as_points(points, "Residual")
        self.weight = jnp.asarray(weight, dtype=float)
        if self.weight.shape != ():
            raise ValueError(
                f"Residual: `weight` must be a scalar, got shape {self.weight.shape}."
            )

    def __check_init__(self):
        if isinstance(self.weight, jax.Array) and not isinstance(
            self.weight, jax.core.Tracer
        ):
            if float(self.weight) < 0:
                raise ValueError("Residual: `weight` must be non-negative.")

    def residual_features(self):
        n = self.points.shape[0]
        scale = jnp.full((n,), jnp.sqrt(2.0 * self.weight / n))
        return Features((PointBlock(_AtPoint(self.fn), self.points, None, scale),))

    def check(self, model):
        try:
            out = eqx.filter_eval_shape(self.fn, model, self.points[0])
        except Exception as e:  # noqa: BLE001
            raise ValueError(
                f"Residual: `fn(u, x)` failed at one point of shape "
                f"{tuple(self.points.shape[1:])}: {type(e).__name__}: {e}"
            ) from None
        if not hasattr(out, "shape"):
            raise ValueError(f"Residual: `fn(u, x)` must return an array, got {out}.")
