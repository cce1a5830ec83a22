"""Linearisations: the metric at one $\\theta$, with $L(\\theta)$ and $\\nabla_\\theta L(\\theta)$.

One immutable value per step, as optimistix's `FunctionInfo.ResidualJac`:

- [`ngflow.TangentMap`][] for a factored metric $M = G = E^\\top E$: $E$ as a lineax
  operator (dense, or matrix-free by `jvp`/`vjp`), the feature values $\\Phi(\\theta)$,
  the residual $g$ when $\\nabla_\\theta L = E^\\top g$ (Gauss--Newton: $g = \\Phi$), and
  whatever a chunked Gram solve needs ($G$ and $E^\\top\\Phi$, or $K = EE^\\top$);
- [`ngflow.MetricMatrix`][] for a metric that is only a matrix (the Hessian).

The form is chosen once: the Gram solve says what it needs for the shape $N\\times p$
(`AbstractGramSolver.form`), the metric builds the value in that form
(`AbstractMetric.linearise`), and `linearise` adds the loss and gradient:
$(\\frac12\\|g\\|^2, E^\\top g)$ when $E$ is dense and $g$ known, else a backward pass.
"""

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float, Scalar

from ._features import Features


@dataclasses.dataclass(frozen=True)
class Form:
    """What a Gram solve needs of $E$: `"dense"` ($E$ formed), `"matrix_free"`
    (`jvp`/`vjp`), `"gram"` ($G = E^\\top E$ and $E^\\top\\Phi$ over chunks of `chunk`
    points) or `"sample_gram"` ($K = EE^\\top$ over chunks)."""

    kind: str = "dense"
    chunk: int | None = None


DENSE = Form()
MATRIX_FREE = Form("matrix_free")


class AbstractLinearisation(eqx.Module):
    """$E$ or $M$ at one $\\theta$ as a lineax operator (dense or matrix-free), with
    $L(\\theta)$ and $\\nabla_\\theta L(\\theta)$ once a step has set them."""

    operator: eqx.AbstractVar[lx.AbstractLinearOperator]

    @property
    def shape(self) -> tuple[int, int]:
        """$(N, p)$ for $E$, $(p, p)$ for $M$."""
        return (self.operator.out_size(), self.operator.in_size())

    @property
    def dense(self) -> bool:
        """Whether the matrix is formed."""
        return isinstance(self.operator, lx.MatrixLinearOperator)

    @property
    def matrix(self) -> Float[Array, "N p"]:
        """The dense matrix (materialised if the form is matrix-free)."""
        return self.operator.matrix if self.dense else self.operator.as_matrix()


class TangentMap(AbstractLinearisation):
    """The tangent map $E = \\partial\\Phi/\\partial\\theta$ of a factored metric at one $\\theta$.

    Built by [`ngflow.AbstractFactoredMetric.linearise`][] in the form a Gram solve asks
    for, or from a matrix by `TangentMap.from_matrix` (see [`ngflow.gram_solve`][]).
    `residual` is $g$ with $\\nabla_\\theta L = E^\\top g$ when known (Gauss--Newton),
    else `None`; `loss` and `gradient` are set by a step.

    ```python
    E = jax.random.normal(key, (6, 3))
    tangent = ng.TangentMap.from_matrix(E, residual=jnp.ones(6))  # ∇L = Eᵀg, g = 1
    h, stats, ok = ng.QR().solve(tangent, E.T @ jnp.ones(6))  # h = E⁺g: least squares on E
    assert tangent.shape == (6, 3) and tangent.gram_mv(h).shape == (3,)  # Gh = Eᵀ(Eh)
    ```
    """

    operator: lx.AbstractLinearOperator
    values: Float[Array, " N"] | None = None
    residual: Float[Array, " N"] | None = None
    loss: Scalar | None = None
    gradient: Float[Array, " p"] | None = None
    gram: Float[Array, "p p"] | None = None
    gram_rhs: Float[Array, " p"] | None = None
    sample_gram: Float[Array, "N N"] | None = None
    features: Features | None = None
    model_at: Callable | None = eqx.field(default=None, static=True)
    theta: Float[Array, " p"] | None = None

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
        return cls(lx.MatrixLinearOperator(matrix), residual=residual)

    def matvec(self, v: Float[Array, " p"]) -> Float[Array, " N"]:
        """$E v$."""
        return self.matrix @ v if self.dense else self.operator.mv(v)

    def rmatvec(self, w: Float[Array, " N"]) -> Float[Array, " p"]:
        """$E^\\top w$."""
        return self.matrix.T @ w if self.dense else self.operator.T.mv(w)

    def gram_mv(self, v: Float[Array, " p"]) -> Float[Array, " p"]:
        """$Gv = E^\\top(Ev)$."""
        return self.rmatvec(self.matvec(v))

    def _value_at(self, theta):
        if self.features is None:
            raise TypeError("A tangent map given as a matrix has no feature map.")
        return self.features.value(self.model_at(theta))

    def values_at(self, theta: Float[Array, " p"]) -> Float[Array, " N"]:
        """$\\Phi$ at other parameters, on the same points (e.g. the previous iterate
        re-evaluated on resampled points)."""
        return self._value_at(theta)

    def tangent_at(
        self, theta: Float[Array, " p"], v: Float[Array, " p"]
    ) -> Float[Array, " N"]:
        """$E(\\theta')\\,v$, the tangent map at other parameters applied to $v$ (a `jvp`)."""
        return jax.jvp(self._value_at, (theta,), (v,))[1]

    def scan_rows(self, chunk: int, fn, carry):
        """Fold `fn(carry, values, rows)` over chunks of `chunk` rows of $E$ (see
        `Features.scan_rows`): $E$ is never held whole."""
        return self.features.scan_rows(self.model_at, self.theta, chunk, fn, carry)


class MetricMatrix(AbstractLinearisation):
    """A metric given only as a symmetric matrix $M(\\theta)$ (e.g. the Hessian), as a
    lineax operator: dense, or matrix-free (Hessian-vector products).

    ```python
    M = ng.MetricMatrix.from_matrix(jnp.array([[2.0, 0.0], [0.0, 4.0]]))
    h, stats, ok = ng.Pinv().solve(M, jnp.array([2.0, 4.0]))  # h = M⁺∇L = (1, 1)
    ```
    """

    operator: lx.AbstractLinearOperator
    loss: Scalar | None = None
    gradient: Float[Array, " p"] | None = None

    @classmethod
    def from_matrix(cls, matrix) -> "MetricMatrix":
        matrix = jnp.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(
                f"A metric matrix must be square, got shape {matrix.shape}."
            )
        return cls(lx.MatrixLinearOperator(matrix, lx.symmetric_tag))

    def gram_mv(self, v):
        """$Mv$."""
        return self.matrix @ v if self.dense else self.operator.mv(v)


def loss_at(problem, flat) -> Callable[[Float[Array, " p"]], Scalar]:
    """$\\theta\\mapsto L(\\theta)$ on flat parameters."""
    return lambda t: problem.loss(flat.model_at(t))


def linearise(
    problem, flat, theta, gram=None, metric=None
) -> TangentMap | MetricMatrix:
    """The linearisation at `theta` that every method and flow uses.

    `metric` (default `problem.metric`) is built in the form the Gram solve `gram`
    declares for its shape; `gram=None` is the Euclidean metric $M = I$ (gradient
    descent). The loss and gradient are $(\\frac12\\|g\\|^2, E^\\top g)$ when the residual
    $g$ is known and $E$ is formed anyway, else a backward pass.
    """
    if gram is None:
        lin = MetricMatrix(lx.IdentityLinearOperator(jax.eval_shape(lambda: theta)))
    else:
        metric = problem.metric if metric is None else metric
        form = gram.form(metric.shape(problem, flat, theta))
        lin = metric.linearise(problem, flat, theta, form)
    if isinstance(lin, TangentMap) and lin.residual is not None and lin.dense:
        r = lin.residual
        loss, gradient = 0.5 * (r @ r), lin.matrix.T @ r
    else:
        loss, gradient = jax.value_and_grad(loss_at(problem, flat))(theta)
    return dataclasses.replace(lin, loss=loss, gradient=gradient)
