from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from ._base import (
    AbstractGramSolver,
    as_float,
    cholesky_cond,
    dense_metric,
    finite,
    normal_residual,
)


class Cholesky(AbstractGramSolver):
    """Cholesky on the damped Gram matrix: $h = (G + \\lambda I)^{-1}\\nabla_\\theta L$.

    The cheapest dense solve ($G = E^\\top E$ formed, $O(Np^2 + p^3)$). Forming $G$ squares
    the condition number of $E$, so accuracy stalls near $\\sqrt{\\varepsilon}$ relative to
    the least-squares solve on $E$ (`QR`, `Pinv`).

    Records `damping` ($\\lambda$), `cond` (a lower bound on $\\kappa(G+\\lambda I)$ from the
    factor's diagonal) and `solve_residual` ($\\|Gh-\\nabla L\\|/\\|\\nabla L\\|$, undamped $G$).

    **Arguments:**

    - `damping`: $\\lambda \\ge 0$.
    - `relative`: if `True` (default), $\\lambda$ is `damping` times the mean eigenvalue
        $\\operatorname{tr}(G)/p$; if `False`, $\\lambda$ is `damping` itself.
    """

    needs_tangent_map: ClassVar[bool] = False
    damping: Float[Array, ""] = eqx.field(default=1e-10, converter=as_float)
    relative: bool = eqx.field(default=True, static=True)

    def __check_init__(self):
        if not isinstance(self.damping, jnp.ndarray) or self.damping.shape != ():
            raise ValueError("Cholesky: `damping` must be a scalar.")

    def solve(self, metric, gradient):
        self.check(metric)
        g = dense_metric(metric)
        p = g.shape[0]
        scale = jnp.trace(g) / p if self.relative else 1.0
        lam = self.damping * scale
        op = lx.MatrixLinearOperator(
            g + lam * jnp.eye(p, dtype=g.dtype), lx.positive_semidefinite_tag
        )
        solver = lx.Cholesky()
        state = solver.init(op, {})
        sol = lx.linear_solve(op, gradient, solver, state=state, throw=False)
        h = sol.value
        ok = (sol.result == lx.RESULTS.successful) & finite(h)
        stats = {
            "damping": lam,
            "cond": cholesky_cond(state[0]),
            "solve_residual": normal_residual(metric, h, gradient),
        }
        return h, stats, ok
