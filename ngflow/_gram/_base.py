"""Gram solves: the natural gradient direction $h$ from $M h = \\nabla_\\theta L$.

Every solver returns the direction, a dict of diagnostics (scalars recorded per step in
`Solution.stats`) and whether the solve succeeded. For a factored metric $M = E^\\top E$
the solve is the least-squares problem $\\min_h\\|E h - g\\|$ when the residual $g$ is known
($\\nabla_\\theta L = E^\\top g$, Gauss--Newton), and $h = G^+\\nabla_\\theta L$ otherwise.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .._metrics import MetricMatrix, TangentMap


Stats = dict[str, Array]


def as_float(x):
    """Converter: hyperparameters are arrays, so new values do not recompile."""
    return jnp.asarray(x, dtype=float) if x is not None else None


class AbstractGramSolver(eqx.Module):
    """Solves $M h = \\nabla_\\theta L$ for the metric $M$ at the current parameters.

    Subclasses implement `solve`. Set `needs_tangent_map = True` if the solve needs the
    tangent map $E$ of a factored metric (it then refuses a [`ngflow.Hessian`][] metric at
    trace time).
    """

    needs_tangent_map: eqx.AbstractClassVar[bool]

    @abc.abstractmethod
    def solve(
        self, metric: TangentMap | MetricMatrix, gradient: Float[Array, " p"]
    ) -> tuple[Float[Array, " p"], Stats, Bool[Array, ""]]:
        """Return `(h, stats, ok)`."""

    def check(self, metric_value) -> None:
        if self.needs_tangent_map and not isinstance(metric_value, TangentMap):
            raise TypeError(
                f"{type(self).__name__} needs the tangent map E of a factored metric "
                f"(G = EᵀE: L2, H1, Weighted, GaussNewton, Euclidean, ConstantMetric), "
                f"but the metric is only a matrix (e.g. Hessian). Use Cholesky, Pinv or "
                f"CG with this metric."
            )


def normal_residual(metric, h, gradient) -> Array:
    """$\\|M h - \\nabla L\\|/\\|\\nabla L\\|$ with the undamped $M$."""
    r = metric.gram_mv(h) - gradient
    return jnp.linalg.norm(r) / jnp.maximum(jnp.linalg.norm(gradient), jnp.finfo(r.dtype).tiny)


def tangent_rcond(rcond, shape, dtype):
    """Default cutoff on singular values of $E$: $\\sqrt{2\\varepsilon\\max(N, p)}$.

    That is the cutoff `lstsq`/`pinv` apply to the Gram matrix $G = E^\\top E$ by default
    ($2\\varepsilon\\max$ on its eigenvalues), so "the minimum-norm solution of $Gh=\\nabla L$"
    means the same as in the papers, computed from $E$. Keeping smaller singular values of
    $E$ gives directions with huge components along near-null tangent vectors: on the
    seed-000 least-squares problem the line search then takes steps of $10^{-9}$ and NGD
    stalls at the loss of gradient descent.
    """
    if rcond is not None:
        return rcond
    import math

    return math.sqrt(2 * float(jnp.finfo(dtype).eps) * max(shape))


def finite(h) -> Array:
    return jnp.all(jnp.isfinite(h))


def dense_metric(metric) -> Float[Array, "p p"]:
    """$M$ as a dense matrix ($E^\\top E$ for a tangent map)."""
    if isinstance(metric, TangentMap):
        e = metric.matrix
        return e.T @ e
    return metric.matrix


def cholesky_cond(factor) -> Array:
    """$(\\max_i |L_{ii}| / \\min_i |L_{ii}|)^2$, a lower bound on the condition number."""
    d = jnp.abs(jnp.diagonal(factor))
    return (jnp.max(d) / jnp.min(d)) ** 2
