from typing import ClassVar

import lineax as lx

from ._base import AbstractGramSolver, finite, normal_residual, tangent_rcond
from ._cod import CompleteOrthogonalDecomposition
from ._curve import tangent_svd_curve


class QR(AbstractGramSolver):
    """Rank-revealing QR least squares on the tangent map $E$; $G$ is never formed.

    A column-pivoted QR of $E$ (completed to an orthogonal decomposition when $E$ is
    rank deficient, as LAPACK's `gelsy`) gives the minimum-norm solution: with a known
    residual $h = E^+ g$, the accuracy of least squares on $E$ ($\\kappa(E)$, not
    $\\kappa(E)^2$); otherwise $h = E^+(E^\\top)^+\\nabla_\\theta L = G^+\\nabla_\\theta L$ by two
    triangular solves with the same factorisation.

    Needs a factored metric. Records `rank`, `cond` (from the pivoted diagonal of $R$)
    and `solve_residual`.

    **Arguments:**

    - `rcond`: pivots $|R_{ii}|\\le$ `rcond` $\\cdot|R_{11}|$ count as dependent columns.
        Default $10^{-7}$, as [`ngflow.Pinv`][] (see there why).

    ```python
    ng.NaturalGradient(ng.QR())  # least squares on E: error ∝ κ(E), not κ(E)²
    ```
    """

    needs_tangent_map: ClassVar[bool] = True
    rcond: float | None = None

    def solve(self, metric, gradient):
        self.check(metric)
        rcond = tangent_rcond(self.rcond, metric.shape, gradient.dtype)
        solver = CompleteOrthogonalDecomposition(rcond)
        op = metric.operator
        state = solver.init(op, {})
        if metric.residual is not None:
            sol = lx.linear_solve(op, metric.residual, solver, state=state, throw=False)
        else:
            t_state, _ = solver.transpose(state, {})
            y = lx.linear_solve(op.T, gradient, solver, state=t_state, throw=False)
            sol = lx.linear_solve(op, y.value, solver, state=state, throw=False)
        h = sol.value
        stats = {
            "rank": sol.stats["rank"],
            "cond": sol.stats["cond"],
            "solve_residual": normal_residual(metric, h, gradient),
        }
        ok = (sol.result == lx.RESULTS.successful) & finite(h)
        return h, stats, ok

    def curve(self, metric, gradient):
        """The damped steps from an SVD of $R$ of an unpivoted QR of $E$ (as [`ngflow.Pinv`][])."""
        self.check(metric)
        return tangent_svd_curve(metric, gradient, self.rcond)
