from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._metrics import TangentMap
from ._base import AbstractGramSolver
from ._cg import CG
from ._cholesky import Cholesky
from ._pinv import Pinv
from ._woodbury import Woodbury


class AutoGram(AbstractGramSolver):
    """Chooses a Gram solve from the shape of the metric (at trace time).

    - a matrix metric (Hessian): [`ngflow.Pinv`][] (it may be indefinite or singular);
    - a tangent map $E$ ($N\\times p$) that fits in memory ($Np\\le$ `dense_limit`):
      [`ngflow.Pinv`][], the minimum-norm least-squares solve on $E$ by an SVD (of the
      QR factor when $E$ is tall), for any shape or rank (on the ENGD Poisson problem it
      converged on 9 of 10 seeds, `QR`'s pivoted truncation on 6);
    - otherwise, if $N < p$ and $N^2\\le$ `dense_limit`: [`ngflow.Woodbury`][] (sample space);
    - otherwise, if $p^2\\le$ `dense_limit`: [`ngflow.Cholesky`][]`(1e-8, chunk=...)`, $G$
      accumulated over chunks of points so that $E$ is never held whole;
    - otherwise [`ngflow.CG`][] (matrix-free).

    Every step records `auto_choice`, the index into `AutoGram.CHOICES` of the solve taken
    (with the reason).

    **Arguments:**

    - `dense_limit`: the largest number of matrix entries to materialise
        (default $5\\cdot10^7$, 400 MB in float64).
    """

    CHOICES: ClassVar[tuple[str, ...]] = (
        "Pinv: dense E fits (N·p ≤ dense_limit)",
        "Woodbury: E too large, N < p and N² ≤ dense_limit (sample space)",
        "Cholesky(chunk): E too large, p² ≤ dense_limit (G accumulated over point chunks)",
        "CG: neither E, EEᵀ nor G fits (matrix-free)",
    )
    needs_tangent_map: ClassVar[bool] = False
    dense_limit: int = eqx.field(default=50_000_000, static=True)

    def _choice(self, metric) -> tuple[int, AbstractGramSolver]:
        if not isinstance(metric, TangentMap):
            return 0, Pinv()
        n, p = metric.shape
        if n * p <= self.dense_limit:
            return 0, Pinv()
        if n < p and n * n <= self.dense_limit:
            return 1, Woodbury()
        if p * p <= self.dense_limit:
            chunk = max(1, self.dense_limit // (8 * p))  # a chunk's rows: ≤ 1/8 of the limit
            return 2, Cholesky(1e-8, chunk=int(min(chunk, n)))
        return 3, CG()

    def select(self, metric) -> AbstractGramSolver:
        """The solve this would use for `metric`."""
        return self._choice(metric)[1]

    def uses_dense(self, metric):
        return self.select(metric).uses_dense(metric)

    def solve(self, metric, gradient):
        index, solver = self._choice(metric)
        h, stats, ok = solver.solve(metric, gradient)
        return h, {**stats, "auto_choice": jnp.asarray(index)}, ok
