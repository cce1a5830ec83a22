"""Metrics: how a step $h$ in parameters is measured, $\\|h\\|_M^2 = h^\\top M h$.

A metric is *linearised* at the current parameters into one of two values that Gram
solvers consume:

- [`ngflow.TangentMap`][] for a factored metric $M = G = E^\\top E$: the tangent map $E$
  (dense by per-point Jacobians, or matrix-free by `jvp`/`vjp`), the feature values
  $\\Phi(\\theta)$, and, when the loss is $\\frac12\\|\\Phi\\|^2$, the residual $g=\\Phi$ with
  $\\nabla_\\theta L = E^\\top g$;
- [`ngflow.MetricMatrix`][] for a metric that is only a matrix (the Hessian).
"""

import abc
import functools as ft
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float, PyTree

from .._features import Features
from .._repr import settings_repr


class TangentMap:
    """The tangent map $E = \\partial\\Phi/\\partial\\theta$ of a factored metric at one $\\theta$.

    Everything is computed lazily and at most once: `matrix` (dense $E$, $N\\times p$),
    `values` ($\\Phi(\\theta)$), `operator()` (dense lineax operator) and `matrix_free()`
    ($E$ by `jvp`, $E^\\top$ by `vjp`; $E$ never formed).

    Built by [`ngflow.AbstractFactoredMetric.linearise`][] inside `jit`, or from a matrix
    by `TangentMap.from_matrix` (see [`ngflow.gram_solve`][]).

    ```python
    E = jax.random.normal(key, (6, 3))
    tangent = ng.TangentMap.from_matrix(E, residual=jnp.ones(6))  # ∇L = Eᵀg, g = 1
    h, stats, ok = ng.QR().solve(tangent, E.T @ jnp.ones(6))  # h = E⁺g: least squares on E
    assert tangent.shape == (6, 3) and tangent.gram_mv(h).shape == (3,)  # Gh = Eᵀ(Eh)
    ```
    """

    def __init__(
        self,
        features: Features | None,
        model_at: Callable | None,
        theta: Float[Array, " p"] | None,
        *,
        residual_is_values: bool = False,
        matrix: Float[Array, "N p"] | None = None,
        residual: Float[Array, " N"] | None = None,
    ):
        self._features = features
        self._model_at = model_at
        self.theta = theta
        self._residual_is_values = residual_is_values
        if matrix is not None:
            self.__dict__["matrix"] = matrix
        self._residual = residual

    @classmethod
    def from_matrix(cls, matrix, residual=None) -> "TangentMap":
        """A tangent map given as a dense `(N, p)` matrix, with an optional residual $g$
        ($\\nabla_\\theta L = E^\\top g$)."""
        matrix = jnp.asarray(matrix)
        if matrix.ndim != 2:
            raise ValueError(
                f"The tangent map must be an (N, p) matrix, got {matrix.shape}."
            )
        if residual is not None:
            residual = jnp.asarray(residual)
            if residual.shape != (matrix.shape[0],):
                raise ValueError(
                    f"`residual` has shape {residual.shape}, expected "
                    f"({matrix.shape[0]},) to match the tangent map {matrix.shape}."
                )
        return cls(None, None, None, matrix=matrix, residual=residual)

    @property
    def shape(self) -> tuple[int, int]:
        """$(N, p)$."""
        if "matrix" in self.__dict__ or self._features is None:
            return self.matrix.shape
        n = jax.eval_shape(self._value_at, self.theta).shape[0]
        return (n, self.theta.shape[0])

    def _value_at(self, theta):
        return self._features.value(self._model_at(theta))

    @ft.cached_property
    def values(self) -> Float[Array, " N"]:
        """$\\Phi(\\theta)$."""
        if self._features is None:
            raise TypeError("A tangent map given as a matrix has no feature values.")
        return self._value_at(self.theta)

    @ft.cached_property
    def matrix(self) -> Float[Array, "N p"]:
        """Dense $E$, shape $(N, p)$ (computed with `values` in one pass per point)."""
        values, matrix = self._features.value_and_jacobian(self._model_at, self.theta)
        self.__dict__.setdefault("values", values)
        return matrix

    @property
    def has_residual(self) -> bool:
        """Whether `residual` is known, without computing it."""
        return self._residual is not None or self._residual_is_values

    @property
    def residual(self) -> Float[Array, " N"] | None:
        """$g$ with $\\nabla_\\theta L = E^\\top g$ when known (Gauss--Newton), else `None`."""
        if self._residual is not None:
            return self._residual
        if self._residual_is_values:
            return self.values
        return None

    def operator(self) -> lx.MatrixLinearOperator:
        """$E$ as a dense lineax operator."""
        return lx.MatrixLinearOperator(self.matrix)

    def matrix_free(self) -> lx.AbstractLinearOperator:
        """$E$ as a linearised lineax operator: `mv` is a `jvp`, its transpose a `vjp`."""
        if self._features is None or "matrix" in self.__dict__:
            return self.operator()
        op = lx.JacobianLinearOperator(lambda t, _: self._value_at(t), self.theta)
        return lx.linearise(op)

    def chunked_gram(
        self, chunk: int
    ) -> tuple[Float[Array, "p p"], Float[Array, " p"]]:
        """$(G, E^\\top\\Phi)$ with $G = E^\\top E$ accumulated over chunks of `chunk` points,
        so that $E$ ($N\\times p$) is never held whole (point blocks; other blocks are
        formed). With a Gauss--Newton metric $E^\\top\\Phi = \\nabla_\\theta L$."""
        if "matrix" in self.__dict__ or self._features is None:
            e = self.matrix
            return e.T @ e, e.T @ self.values
        key = ("chunked_gram", chunk)
        if key not in self.__dict__:
            self.__dict__[key] = self._features.gram(self._model_at, self.theta, chunk)
        return self.__dict__[key]

    def sample_gram(self, chunk: int) -> tuple[Float[Array, "N N"], Float[Array, " N"]]:
        """$(K, \\Phi)$ with $K = EE^\\top$ built from chunks of `chunk` points (see
        `Features.sample_gram`): $E$ ($N\\times p$) is never held whole."""
        if "matrix" in self.__dict__ or self._features is None:
            e = self.matrix
            return e @ e.T, self.values
        key = ("sample_gram", chunk)
        if key not in self.__dict__:
            k, values = self._features.sample_gram(self._model_at, self.theta, chunk)
            self.__dict__[key] = (k, values)
            self.__dict__.setdefault("values", values)
        return self.__dict__[key]

    def gram_mv(self, v: Float[Array, " p"]) -> Float[Array, " p"]:
        """$Gv = E^\\top(Ev)$: with the dense $E$ if it is formed, else by a `jvp` and a
        `vjp`."""
        return self.rmatvec(self.matvec(v))

    def values_at(self, theta: Float[Array, " p"]) -> Float[Array, " N"]:
        """$\\Phi$ at other parameters, on the same points (e.g. the previous iterate
        re-evaluated on resampled points)."""
        self._need_features("values_at")
        return self._value_at(theta)

    def tangent_at(
        self, theta: Float[Array, " p"], v: Float[Array, " p"]
    ) -> Float[Array, " N"]:
        """$E(\\theta')\\,v$, the tangent map at other parameters applied to $v$ (a `jvp`;
        with $\\theta' = \\theta$ it is $E v$)."""
        self._need_features("tangent_at")
        return jax.jvp(self._value_at, (theta,), (v,))[1]

    def matvec(self, v: Float[Array, " p"]) -> Float[Array, " N"]:
        """$E v$ (dense if $E$ is formed, else a `jvp`)."""
        if "matrix" in self.__dict__ or self._features is None:
            return self.matrix @ v
        return self.tangent_at(self.theta, v)

    def rmatvec(self, w: Float[Array, " N"]) -> Float[Array, " p"]:
        """$E^\\top w$ (dense if $E$ is formed, else a `vjp`)."""
        if "matrix" in self.__dict__ or self._features is None:
            return self.matrix.T @ w
        return jax.vjp(self._value_at, self.theta)[1](w)[0]

    def with_residual(self, residual: Float[Array, " N"]) -> "TangentMap":
        """The same tangent map with another right-hand side $g$: a Gram solve then
        returns $E^+ g$, the coefficients of the projection of $g$ on the tangent space."""
        out = TangentMap(self._features, self._model_at, self.theta, residual=residual)
        for (
            key,
            value,
        ) in self.__dict__.items():  # E, Φ and chunked Grams already computed
            if key in ("matrix", "values") or isinstance(key, tuple):  # chunked G or K
                out.__dict__[key] = value
        return out

    def _need_features(self, who):
        if self._features is None:
            raise TypeError(
                f"TangentMap.{who}: a tangent map given as a matrix has no feature map."
            )


class MetricMatrix:
    """A metric given only as a symmetric matrix $M(\\theta)$ (e.g. the Hessian).

    `matrix` is dense $M$; `matrix_free()` applies $M$ by a `jvp` of `matrix_fn`'s
    generator.

    ```python
    M = ng.MetricMatrix.from_matrix(jnp.array([[2.0, 0.0], [0.0, 4.0]]))
    h, stats, ok = ng.Pinv().solve(M, jnp.array([2.0, 4.0]))  # h = M⁺∇L = (1, 1)
    ```
    """

    def __init__(self, matrix_fn: Callable, mv_fn: Callable | None, theta):
        self._matrix_fn = matrix_fn
        self._mv_fn = mv_fn
        self.theta = theta

    @classmethod
    def from_matrix(cls, matrix) -> "MetricMatrix":
        matrix = jnp.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(
                f"A metric matrix must be square, got shape {matrix.shape}."
            )
        out = cls(lambda _: matrix, None, None)
        out.__dict__["matrix"] = matrix
        return out

    @property
    def shape(self):
        return self.matrix.shape

    @ft.cached_property
    def matrix(self) -> Float[Array, "p p"]:
        return self._matrix_fn(self.theta)

    def operator(self) -> lx.AbstractLinearOperator:
        return lx.MatrixLinearOperator(self.matrix, lx.symmetric_tag)

    def matrix_free(self) -> lx.AbstractLinearOperator:
        if self._mv_fn is None or "matrix" in self.__dict__:
            return self.operator()
        op = lx.JacobianLinearOperator(
            lambda t, _: self._mv_fn(t), self.theta, tags=lx.symmetric_tag
        )
        return lx.linearise(op)

    def gram_mv(self, v):
        return self.matrix @ v


class AbstractMetric(eqx.Module):
    """A metric $M(\\theta)$ on parameters; natural gradient steps solve $M h = \\nabla_\\theta L$.

    ```python
    assert isinstance(ng.L2(points), ng.AbstractFactoredMetric)  # G = EᵀE
    assert not isinstance(ng.Hessian(), ng.AbstractFactoredMetric)  # only a matrix M(θ)
    ```
    """

    __repr__ = settings_repr

    @abc.abstractmethod
    def linearise(self, problem, flat, theta) -> "TangentMap | MetricMatrix":
        """The metric at `theta` (inside `jit`)."""

    def check(self, model: PyTree, loss) -> None:
        """Raise `ValueError`/`TypeError` if this metric cannot serve `model` and `loss`."""


class AbstractFactoredMetric(AbstractMetric):
    """A metric $G = E^\\top E$ with $E = \\partial\\Phi/\\partial\\theta$ for a feature map $\\Phi$.

    Subclasses implement `features(loss)`. Every Gram solve, the cross-Gram
    $E_k^\\top E_{k-1}$ and projections of functions on the tangent space follow from it.

    ```python
    from typing import ClassVar

    class Values(ng.AbstractFactoredMetric):  # Φ(θ) = u_θ(X): the L2 metric, unweighted
        residual_is_features: ClassVar[bool] = False

        def features(self, loss):
            return ng.Features((ng.ModelBlock(lambda u: jax.vmap(u)(points)),))

    ng.Problem(model, ng.LeastSquares(target, points), Values())  # any Gram solve works
    ```
    """

    residual_is_features: eqx.AbstractClassVar[bool]

    @abc.abstractmethod
    def features(self, loss) -> Features:
        """The feature map $\\Phi$ (it may depend on the loss, as for Gauss--Newton)."""

    def linearise(self, problem, flat, theta) -> TangentMap:
        return TangentMap(
            self.features(problem.loss),
            flat.model_at,
            theta,
            residual_is_values=self.residual_is_features,
        )
