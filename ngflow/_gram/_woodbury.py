from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from ._base import AbstractGramSolver, as_float, cholesky_cond, finite, normal_residual


class Woodbury(AbstractGramSolver):
    """The natural gradient in sample space: $h = E^\\top(EE^\\top + \\lambda I)^{-1}g$.

    By the push-through identity this equals $(G+\\lambda I)^{-1}\\nabla_\\theta L$, but costs
    an $N\\times N$ Cholesky instead of a $p\\times p$ one: the choice when there are fewer
    rows $N$ than parameters $p$. Needs a factored metric.

    With a known residual $g$ (Gauss--Newton) that is the formula. Otherwise the
    functional gradient is first recovered in sample space as the least-squares solution
    of $E^\\top g = \\nabla_\\theta L$, $g = (K+\\lambda I)^{-1}E\\nabla_\\theta L$ with $K = EE^\\top$;
    with $\\lambda = 0$ and $E$ of full row rank this gives $G^+\\nabla_\\theta L$ exactly, but it
    solves with $K$ twice.

    Records `damping`, `cond` (lower bound on $\\kappa(K+\\lambda I)$) and `solve_residual`.

    **Arguments:**

    - `damping`: $\\lambda\\ge 0$.
    - `relative`: if `True` (default), $\\lambda$ is `damping` $\\cdot\\operatorname{tr}(G)/p$,
        the same $\\lambda$ as [`ngflow.Cholesky`][] with the same arguments; if `False`,
        $\\lambda$ is `damping`.
    """

    needs_tangent_map: ClassVar[bool] = True
    damping: Float[Array, ""] = eqx.field(default=1e-10, converter=as_float)
    relative: bool = eqx.field(default=True, static=True)

    def solve(self, metric, gradient):
        self.check(metric)
        e = metric.matrix
        n, p = e.shape
        k = e @ e.T
        lam = self.damping * (jnp.trace(k) / p if self.relative else 1.0)
        op = lx.MatrixLinearOperator(
            k + lam * jnp.eye(n, dtype=k.dtype), lx.positive_semidefinite_tag
        )
        solver = lx.Cholesky()
        state = solver.init(op, {})
        solve = lambda b: lx.linear_solve(op, b, solver, state=state, throw=False)
        if metric.residual is not None:
            sol = solve(metric.residual)
        else:
            sol = solve(solve(e @ gradient).value)
        h = e.T @ sol.value
        stats = {
            "damping": lam,
            "cond": cholesky_cond(state[0]),
            "solve_residual": normal_residual(metric, h, gradient),
        }
        return h, stats, (sol.result == lx.RESULTS.successful) & finite(h)
