"""Least-squares losses on points."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import as_points, as_weights, output_shape, symmetric_sqrt
from .._features import Features, MappedBlock, PointBlock
from ._base import AbstractResidualLoss


class _Misfit(eqx.Module):
    """Per point: $u(x) - t(x)$, with $t$ a function or a per-point value."""

    target: Callable | None

    def __call__(self, model, x, value):
        t = self.target(x) if self.target is not None else value
        return model(x) - t


def _target_parts(target, points, who):
    if callable(target) and not hasattr(target, "shape"):
        return target, None
    values = jnp.asarray(target)
    if values.ndim == 0 or values.shape[0] != points.shape[0]:
        raise ValueError(
            f"{who}: `target` has shape {values.shape}, expected ({points.shape[0]}, "
            f"...): one target value per point of `points` (shape {points.shape}). "
            "Pass a function `target(x)` to evaluate it at the points instead."
        )
    return None, values


def _check_target(self, model, who):
    out = output_shape(model, self.points, who)
    if self.target is not None:
        try:
            t = jax.eval_shape(self.target, self.points[0])
        except Exception as error:  # noqa: BLE001 - re-raised with what to change
            raise ValueError(
                f"{who}: `target(x)` failed at one point of shape "
                f"{tuple(self.points.shape[1:])}: {type(error).__name__}: {error}\n"
                "`target` is called per point (write `x[0]`, not `X[:, 0]`); the loss "
                "vmaps it over `points`."
            ) from error
        if tuple(t.shape) != out:
            raise ValueError(
                f"{who}: `target(x)` has shape {tuple(t.shape)} but the model returns "
                f"shape {out} at a point."
            )
    elif tuple(self.values.shape[1:]) != out:
        raise ValueError(
            f"{who}: `target` has shape {tuple(self.values.shape)}, expected "
            f"{(self.points.shape[0], *out)} (points × model output)."
        )


class LeastSquares(AbstractResidualLoss):
    """$\\mathcal L(u) = \\frac12\\sum_i w_i\\,|u(x_i) - t(x_i)|^2$, a discrete $\\frac12\\|u-t\\|^2_{L^2(\\mu)}$.

    Its residual is $r_i = \\sqrt{w_i}\\,(u(x_i) - t(x_i))$.

    **Arguments:**

    - `target`: a function `t(x)` or its values at the points, shape `(N, *out)`.
    - `points`: shape `(N,)` or `(N, d)`; the model is called on one point at a time.
    - `weights`: quadrature weights, shape `(N,)`. Default $1/N$ (Monte Carlo mean).

    ```python
    loss = ng.LeastSquares(target, points)  # ½ mean |u(x_i) − t(x_i)|²
    loss(model)  # a scalar
    problem = ng.Problem(model, loss, ng.GaussNewton())  # = L2(points), knowing the residual
    ```
    """

    target: Callable | None
    values: Array | None
    points: Float[Array, "N ..."]
    weights: Float[Array, " N"]

    def __init__(self, target, points, weights=None):
        who = "LeastSquares"
        self.points = as_points(points, who)
        self.target, self.values = _target_parts(target, self.points, who)
        self.weights = as_weights(weights, self.points.shape[0], who)

    def residual_features(self):
        block = PointBlock(
            _Misfit(self.target), self.points, self.values, jnp.sqrt(self.weights)
        )
        return Features((block,))

    def check(self, model):
        _check_target(self, model, "LeastSquares")


class WeightedLeastSquares(AbstractResidualLoss):
    """$\\mathcal L(u) = \\frac12\\,e^\\top K e$ with $e_i = u(x_i) - t(x_i)$: the $\\frac12\\|u-t\\|_K^2$ of seed 003.

    Its residual is $r = K^{1/2} e$ (symmetric square root; $K$ may be singular).

    **Arguments:**

    - `target`: a function `t(x)` or its values at the points, shape `(N,)`.
    - `points`: shape `(N,)` or `(N, d)`.
    - `K`: a symmetric positive semidefinite `(N, N)` matrix (for vector outputs of
        size $k$, `(N k, N k)`, acting on the flattened misfit).

    ```python
    K = jnp.diag(jnp.linspace(1.0, 2.0, 32))  # symmetric positive semidefinite
    loss = ng.WeightedLeastSquares(target, points, K)  # ½ eᵀKe
    problem = ng.Problem(model, loss, ng.GaussNewton())  # G = JᵀKJ, as ng.Weighted(K, points)
    ```
    """

    target: Callable | None
    values: Array | None
    points: Float[Array, "N ..."]
    sqrt_K: Float[Array, "M M"]

    def __init__(self, target, points, K):
        who = "WeightedLeastSquares"
        self.points = as_points(points, who)
        self.target, self.values = _target_parts(target, self.points, who)
        self.sqrt_K = symmetric_sqrt(K, who)

    def residual_features(self):
        n = self.points.shape[0]
        inner = PointBlock(_Misfit(self.target), self.points, self.values, jnp.ones(n))
        return Features((MappedBlock(self.sqrt_K, inner),))

    def check(self, model):
        who = "WeightedLeastSquares"
        _check_target(self, model, who)
        out = output_shape(model, self.points, who)
        size = self.points.shape[0] * int(jnp.prod(jnp.array(out, dtype=int)))
        if self.sqrt_K.shape[0] != size:
            raise ValueError(
                f"{who}: `K` has shape {self.sqrt_K.shape}, expected ({size}, {size}) "
                "to act on the misfit at all points."
            )
