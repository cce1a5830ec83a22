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

from .._linearisation import DENSE, Form, MetricMatrix, TangentMap
from .._repr import settings_repr


Stats = dict[str, Array]


def as_float(x):
    """Converter: hyperparameters are arrays, so new values do not recompile."""
    return jnp.asarray(x, dtype=float) if x is not None else None


class AbstractGramSolver(eqx.Module):
    """Solves $M h = \\nabla_\\theta L$ for the metric $M$ at the current parameters.

    Subclasses implement `solve`. Set `needs_tangent_map = True` if the solve needs the
    tangent map $E$ of a factored metric (it then refuses a [`ngflow.Hessian`][] metric at
    trace time).

    ```python
    from typing import ClassVar

    class Jacobi(ng.AbstractGramSolver):  # h = diag(G)⁻¹∇L
        needs_tangent_map: ClassVar[bool] = True
        def solve(self, tangent, gradient):
            h = gradient / jnp.sum(tangent.matrix**2, axis=0)
            return h, {}, jnp.all(jnp.isfinite(h))

    h, stats = ng.gram_solve(Jacobi(), 2 * jnp.eye(3), jnp.ones(3))  # h = 1/4
    ```
    """

    __repr__ = settings_repr

    needs_tangent_map: eqx.AbstractClassVar[bool]

    def form(self, shape: tuple[int, int] | None) -> Form:
        """What this solve needs of the tangent map $E$ of shape $(N, p)$ (`None`: a
        metric that is only a matrix): by default $E$ (or $M$) formed. The metric is
        linearised in this form once per step; with a dense $E$ and a known residual the
        loss gradient is $E^\\top r$ from it, without a backward pass."""
        del shape
        return DENSE

    @abc.abstractmethod
    def solve(
        self, metric: TangentMap | MetricMatrix, gradient: Float[Array, " p"]
    ) -> tuple[Float[Array, " p"], Stats, Bool[Array, ""]]:
        """Return `(h, stats, ok)`."""

    def curve(self, metric: TangentMap | MetricMatrix, gradient: Float[Array, " p"]):
        """The whole Levenberg--Marquardt curve $h(\\lambda) = (M+\\lambda I)^{-1}\\nabla_\\theta L$
        from one factorisation, as `(LMCurve, stats, ok)`; `None` (the default) if this
        solve cannot give it cheaply. Then a damped descent falls back to this solve's own
        direction, scaled ([`ngflow.ScaledDescent`][])."""
        del metric, gradient
        return None

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
    return jnp.linalg.norm(r) / jnp.maximum(
        jnp.linalg.norm(gradient), jnp.finfo(r.dtype).tiny
    )


DEFAULT_TANGENT_RCOND = 1e-7


def tangent_rcond(rcond, shape, dtype):
    """Default cutoff on singular values of $E$, relative to the largest: $10^{-7}$.

    It is $10^{-14}$ on the eigenvalues of $G = E^\\top E$: about where solves that form $G$
    lose every digit, and what `lstsq`/`pinv` on $G$ drop by default ($2\\varepsilon p$), so
    "the minimum-norm solution of $Gh=\\nabla L$" means what it means in the papers, but is
    computed from $E$. It is a regulariser as much as a tolerance. Measured: keeping
    singular values down to $\\varepsilon\\sigma_1$ (the default of `lstsq` on $E$) makes
    NGD stall at gradient descent's loss on the seed-000 least-squares problem and
    diverge on the ENGD Poisson problem; with $10^{-7}$ E-NGD reached rel. $L^2$
    $\\le 4\\cdot10^{-7}$ on 9 of 10 seeds, $3\\cdot10^{-8}$ on 8 of 10 but failing 2,
    $2\\cdot 10^{-7}$ failed 3 of 10.
    """
    del shape, dtype
    return DEFAULT_TANGENT_RCOND if rcond is None else rcond


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
