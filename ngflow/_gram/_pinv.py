from typing import ClassVar

import jax.lax.linalg as jll
import jax.numpy as jnp
import lineax as lx

from .._linearisation import TangentMap
from ._base import AbstractGramSolver, finite, normal_residual, tangent_rcond
from ._curve import default_cutoff, eigh_curve, tangent_svd_curve, with_stats


class Pinv(AbstractGramSolver):
    """The minimum-norm natural gradient $h = G^+\\nabla_\\theta L$ by an SVD (seed 000).

    For a factored metric the SVD is of $E$ itself, $E = U\\Sigma V^\\top$ (for a tall $E$,
    $N\\ge 2p$, of the triangular factor of its QR decomposition, which has the same
    singular values): with a known residual $h = E^+ g$ (least squares on $E$), otherwise
    $h = V\\Sigma^{-2}V^\\top\\nabla_\\theta L$ — $G$ is never formed. For a matrix metric
    (Hessian) it is the pseudo-inverse of $M$.

    Records `rank`, `cond` ($\\sigma_1/\\sigma_r$ over the kept singular values) and
    `solve_residual`.

    **The Levenberg--Marquardt curve.** The same SVD gives every damped step
    $h(\\lambda) = V\\operatorname{diag}(\\sigma_i/(\\sigma_i^2+\\lambda))U^\\top r$ (`curve`), which
    the default [`ngflow.TrustRegion`][] searches (the SVD is of $R$ whenever $E$ is tall,
    $N\\ge p$). There the cutoff is $10^{-10}\\sigma_1$ unless `rcond` is given: the damping
    search, not the cutoff, keeps the steps away from near-null directions. Measured with
    the trust region on eight catalogue problems (`benchmarks/suite.py`, 3 seeds): a
    cutoff $\\varepsilon$ and $10^{-10}$ end within 3× of each other everywhere but the
    ENGD Poisson problem (median $2.9\\cdot10^{-10}$ vs $6.5\\cdot10^{-11}$; on 20 seeds 16/20
    vs 19/20 below $10^{-8}$); $10^{-8}$ reaches moderate tolerances 1.5–3× sooner but ends
    5–100× less accurate (heat $1.1\\cdot10^{-7}$ vs $5.9\\cdot10^{-9}$). For a matrix metric
    (the Hessian) the curve is from its eigendecomposition, damped on $|\\mu_i|$.

    **Arguments:**

    - `rcond`: singular values at most `rcond` $\\cdot\\sigma_1$ are dropped: of $E$ for a
        factored metric (so the cutoff on $G$ is $\\text{rcond}^2$), default $10^{-7}$ for
        the direction (`solve`) — about what `pinv`/`lstsq` on $G$ drop by default, see
        the note below — and $10^{-10}$ for the curve; of $M$ otherwise, default
        $2\\varepsilon p$.

    !!! note
        For the direction alone (a step-length search along it), the cutoff is a
        regulariser, not only a tolerance. Keeping singular values of $E$ down to
        $\\varepsilon\\sigma_1$ (the default of `lstsq` on $E$) gives directions with huge
        components along near-null tangent vectors; on the seed-000 least-squares problem
        NGD then stalls at the loss of gradient descent. On the curve the damping does
        that job.

    ```python
    ng.NaturalGradient(ng.Pinv(rcond=1e-7))  # h = G⁺∇L, singular values of E < 1e-7 σ₁ dropped
    ```
    """

    needs_tangent_map: ClassVar[bool] = False
    rcond: float | None = None

    def solve(self, metric, gradient):
        self.check(metric)
        residual = metric.residual if isinstance(metric, TangentMap) else None
        if isinstance(metric, TangentMap):
            rcond = tangent_rcond(self.rcond, metric.shape, gradient.dtype)
            n, p = metric.shape
            if n >= 2 * p:
                # Tall E = QR: the SVD of the p×p factor R is that of E, for a third
                # of the cost; least squares on E is least squares on R with Qᵀr.
                a, taus = jnp.linalg.qr(metric.matrix, mode="raw")
                a = a.T
                op = lx.MatrixLinearOperator(jnp.triu(a[:p]))
                if residual is not None:
                    residual = jll.ormqr(a, taus, residual[:, None], transpose=True)[
                        :p, 0
                    ]
            else:
                op = metric.operator
        else:
            rcond = self.rcond
            op = metric.operator
        solver = lx.SVD(rcond=rcond)
        state = solver.init(op, {})
        if residual is not None:
            sol = lx.linear_solve(op, residual, solver, state=state, throw=False)
        elif isinstance(metric, TangentMap):
            t_state, _ = solver.transpose(state, {})
            y = lx.linear_solve(op.T, gradient, solver, state=t_state, throw=False)
            sol = lx.linear_solve(op, y.value, solver, state=state, throw=False)
        else:
            sol = lx.linear_solve(op, gradient, solver, state=state, throw=False)
        h = sol.value
        rank = sol.stats["rank"]
        (_, s, _), _ = state
        s_min = jnp.min(jnp.where(jnp.arange(s.shape[0]) < rank, s, jnp.inf))
        stats = {
            "rank": rank,
            "cond": s[0] / s_min,
            "solve_residual": normal_residual(metric, h, gradient),
        }
        ok = (sol.result == lx.RESULTS.successful) & finite(h)
        return h, stats, ok

    def curve(self, metric, gradient):
        self.check(metric)
        if isinstance(metric, TangentMap):
            return tangent_svd_curve(metric, gradient, self.rcond)
        cutoff = default_cutoff(metric.shape, gradient.dtype)
        cutoff = cutoff if self.rcond is None else self.rcond
        return with_stats(eigh_curve(metric.matrix, gradient, cutoff, absolute=True))
