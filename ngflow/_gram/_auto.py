from typing import ClassVar

import equinox as eqx

from .._metrics import TangentMap
from ._base import AbstractGramSolver
from ._cg import CG
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
    - otherwise [`ngflow.CG`][] (matrix-free).

    **Arguments:**

    - `dense_limit`: the largest number of matrix entries to materialise
        (default $5\\cdot10^7$, 400 MB in float64).
    """

    needs_tangent_map: ClassVar[bool] = False
    dense_limit: int = eqx.field(default=50_000_000, static=True)

    def select(self, metric) -> AbstractGramSolver:
        """The solve this would use for `metric`."""
        if not isinstance(metric, TangentMap):
            return Pinv()
        n, p = metric.shape
        if n * p <= self.dense_limit:
            return Pinv()
        if n < p and n * n <= self.dense_limit:
            return Woodbury()
        return CG()

    def uses_dense(self, metric):
        return self.select(metric).uses_dense(metric)

    def solve(self, metric, gradient):
        return self.select(metric).solve(metric, gradient)
