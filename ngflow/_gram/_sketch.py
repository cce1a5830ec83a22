from typing import ClassVar

import equinox as eqx
import jax
import jax.lax as lax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from .._linearisation import MATRIX_FREE, TangentMap
from ._base import AbstractGramSolver, as_float, finite, normal_residual
from ._curve import CURVE_RCOND, svd_curve, tall_factor, with_stats


def _step_key(seed, metric, gradient):
    """A key that is a function of the iterate: the seed folded with the leading bits of
    the loss (or of $\\sum\\nabla L$ if the loss is unknown): its sign, exponent and the
    top 20 bits of its mantissa in float64 (15 in float32). A new subspace every accepted
    step, the same on every process and in every rerun, no state to carry; and a loss
    that differs only in its last digits (the points summed in another order, on other
    devices) draws the same subspace."""
    value = metric.loss if metric.loss is not None else jnp.sum(gradient)
    value = jnp.asarray(value)
    if value.dtype == jnp.float64:
        word = (lax.bitcast_convert_type(value, jnp.uint64) >> 32).astype(jnp.uint32)
    else:
        word = lax.bitcast_convert_type(value.astype(jnp.float32), jnp.uint32) >> 8
    return jax.random.fold_in(jax.random.key(seed), word)


class Sketch(AbstractGramSolver):
    """Natural gradient in a random subspace of the parameters: the least-squares step on
    a sketch $EQ$ ($N\\times k$) of the tangent map, for many points and parameters.

    Each step draws a Gaussian $\\Omega\\in\\mathbb{R}^{p\\times(k-1)}$, takes an orthonormal
    basis $Q$ of $[\\nabla_\\theta L,\\ \\Omega]$ (the gradient is always in the subspace, so
    heavy damping gives the gradient step), forms $EQ$ ($k$ products with $E$, or chunks of
    rows of $E$ times $Q$) and its SVD $EQ = U\\Sigma V^\\top$. The Levenberg--Marquardt curve
    in the subspace,

    $$h(\\lambda) = QV(\\Sigma^2 + \\lambda I)^{-1}V^\\top Q^\\top\\nabla_\\theta L,$$

    is exact for the Gauss--Newton model restricted to $\\operatorname{span}Q$ (so
    [`ngflow.TrustRegion`][]'s ratio means what it means for a full solve) and costs
    $O(Npk)$ flops and $Nk + pk$ memory per step, against $N^2p$ for $K = EE^\\top$ or
    $Np^2$ for $G$. The step is a random-subspace Gauss--Newton step (Gower, Kovalev,
    Lieder & Richtárik 2019; Cartis, Fowkes & Shao 2022): many cheap steps instead of few
    exact ones; where $E$ fits, [`ngflow.Pinv`][] or [`ngflow.Woodbury`][] take the exact
    step.

    The curvature in the subspace is estimated from `rows` points drawn without
    replacement each step (a row-sampling sketch $S$, rows scaled by
    $\\sqrt{N/\\text{rows}}$ so that $(SEQ)^\\top SEQ$ is an unbiased estimate of
    $Q^\\top GQ$; `Features.subsample`), the gradient $Q^\\top\\nabla_\\theta L$ from all
    points. Measured on Poisson 2D (10 095 parameters, 4 096 points, 30 s, 2 cores):
    $k = 64$ on 1 024 rows reached rel. $L^2$ $4.6\\cdot10^{-5}$ in 209 steps, on all rows
    $9\\cdot10^{-5}$ in 103; the exact `Woodbury` step took 7.6 s.

    The subspace is a function of the iterate (the seed folded with the leading bits of
    the loss): runs are reproducible, every process of a multi-process run draws the
    same one, and a rejected step (the same iterate) is retried on a smaller radius of
    the same subspace.

    Records `rank` and `cond` of $EQ$ (kept components).

    **Arguments:**

    - `size`: $k$, the dimension of the subspace (default 64).
    - `rows`: how many points' rows estimate the curvature (default 1024; `None`: all).
        A tangent map given as a dense matrix (`ng.gram_solve`) uses all its rows.
    - `chunk`: form $EQ$ from chunks of `chunk` points' rows of $E$ (each computed by
        reverse mode, then multiplied by $Q$; default 256); `None`: $k$ Jacobian-vector
        products (forward mode), `batch` at a time. Measured at 10k parameters × 4k
        points, $k = 64$: 0.33 s per step from chunks, 1.8 s by `jvp`s.
    - `batch`: how many of the $k$ products are evaluated at once with `chunk=None`
        (memory: `batch` tangents of every intermediate; default 8).
    - `rcond`: singular values of $EQ$ below `rcond`$\\cdot\\sigma_1$ are dropped (default
        $10^{-10}$, as [`ngflow.Pinv`][]'s curve).
    - `seed`: the seed of the subspaces.

    ```python
    method = ng.NaturalGradient(ng.Sketch(16, rows=16))  # 16 directions, 16 of the 32 points
    sol = ng.solve(problem, method, steps=3)  # the trust region on the subspace's LM curve
    assert sol.final_loss < sol.losses[0] and sol.stats["rank"].shape == (3,)
    ```
    """

    needs_tangent_map: ClassVar[bool] = True
    size: int = eqx.field(default=64, static=True)
    rows: int | None = eqx.field(default=1024, static=True, kw_only=True)
    chunk: int | None = eqx.field(default=256, static=True, kw_only=True)
    batch: int = eqx.field(default=8, static=True, kw_only=True)
    rcond: Float[Array, ""] | None = eqx.field(
        default=None, converter=as_float, kw_only=True
    )
    seed: int = eqx.field(default=0, static=True, kw_only=True)

    def __check_init__(self):
        if self.rows is not None and not (isinstance(self.rows, int) and self.rows > 0):
            raise ValueError(
                f"Sketch: `rows` must be a positive int, got {self.rows!r}."
            )
        for name in ("size", "batch"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value > 0):
                raise ValueError(
                    f"Sketch: `{name}` must be a positive int, got {value!r}."
                )
        if self.chunk is not None and not (
            isinstance(self.chunk, int) and self.chunk > 0
        ):
            raise ValueError(
                f"Sketch: `chunk` must be a positive int, got {self.chunk!r}."
            )

    def form(self, shape):
        del shape
        return MATRIX_FREE

    def basis(self, key, gradient) -> Float[Array, "p k"]:
        """$Q$: an orthonormal basis of $[\\nabla L, \\Omega]$ ($k\\le p$ columns)."""
        p = gradient.shape[0]
        k = min(self.size, p)
        omega = jax.random.normal(key, (p, k - 1), gradient.dtype)
        g = gradient / jnp.maximum(
            jnp.linalg.norm(gradient), jnp.finfo(gradient.dtype).tiny
        )
        q, _ = jnp.linalg.qr(jnp.concatenate([g[:, None], omega], axis=1))
        return q

    def sketch(self, metric: TangentMap, q: Float[Array, "p k"], key) -> Array:
        """$EQ$ (or $SEQ$ on `rows` sampled points): from the dense $E$ (all rows), from
        chunks of rows, or by `jvp`s."""
        if metric.dense:
            return metric.matrix @ q
        features = metric.features
        if self.rows is not None:
            features = features.subsample(key, self.rows)
        if self.chunk is not None:
            step = lambda c, _, jac: (c, jac @ q)
            return features.scan_rows(
                metric.model_at, metric.theta, self.chunk, step, None
            )[1]
        value_at = lambda t: features.value(metric.model_at(t))
        product = lambda v: jax.jvp(value_at, (metric.theta,), (v,))[1]
        columns = lax.map(product, q.T, batch_size=min(self.batch, q.shape[1]))
        return columns.T

    def curve(self, metric, gradient):
        self.check(metric)
        key = _step_key(self.seed, metric, gradient)
        q = self.basis(key, gradient)
        eq = self.sketch(metric, q, jax.random.fold_in(key, 1))
        cutoff = CURVE_RCOND if self.rcond is None else self.rcond
        # the curve in coordinates of Q, then its basis V mapped to parameters: QV
        curve = svd_curve(tall_factor(eq), q.T @ gradient, cutoff)
        basis = lx.MatrixLinearOperator(q @ curve.basis.as_matrix())
        curve = eqx.tree_at(lambda c: c.basis, curve, basis)
        return with_stats(curve)

    def solve(self, metric, gradient):
        curve, stats, ok = self.curve(metric, gradient)
        h = curve.direction(0.0)
        stats = {**stats, "solve_residual": normal_residual(metric, h, gradient)}
        return h, stats, ok & finite(h)
