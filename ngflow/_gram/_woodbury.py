from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from .._linearisation import DENSE, Form
from ._base import AbstractGramSolver, as_float, cholesky_cond, finite, normal_residual
from ._curve import default_cutoff, sample_curve, with_stats


class Woodbury(AbstractGramSolver):
    """The natural gradient in sample space: $h = E^\\top(EE^\\top + \\lambda I)^{-1}g$.

    With $\\nabla_\\theta L = E^\\top g$ (a known residual $g$, Gauss--Newton) the push-through
    identity makes this $(G+\\lambda I)^{-1}\\nabla_\\theta L$ exactly, but it costs
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
    - `chunk`: build $K$ from chunks of this many points and apply $E^\\top$ by a `vjp`
        ($E$ by a `jvp`), so the $N\\times p$ tangent map is never held: memory $N^2$ plus
        two chunks' rows. Only the blocks on and above the diagonal are computed; each
        chunk's Jacobian is recomputed for them, about $N/(2\\,$`chunk`$)$ times in all.
        Measured at $p$ = 100k, $N$ = 1024: $K$ in 10 s with `chunk=256` against 8 s
        for dense $E$ then $EE^\\top$ (default `None`: form $E$, then $K$).

    ```python
    ng.NaturalGradient(ng.Woodbury(1e-6, chunk=256))  # p = 100k, N = 4k: K, never E
    ```
    """

    needs_tangent_map: ClassVar[bool] = True
    damping: Float[Array, ""] = eqx.field(default=1e-10, converter=as_float)
    relative: bool = eqx.field(default=True, static=True)
    chunk: int | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        if self.chunk is not None and not (
            isinstance(self.chunk, int) and self.chunk > 0
        ):
            raise ValueError(
                f"Woodbury: `chunk` must be a positive int, got {self.chunk!r}."
            )

    def form(self, shape):
        return DENSE if self.chunk is None else Form("sample_gram", self.chunk)

    def _sample(self, metric):
        """`(K, E·, Eᵀ·)`: $K = EE^\\top$ (dense or from chunks) and how to apply $E$."""
        if metric.sample_gram is None:
            e = metric.matrix
            return e @ e.T, (lambda v: e @ v), (lambda w: e.T @ w)
        return metric.sample_gram, metric.matvec, metric.rmatvec

    def _damping(self, k, p):
        return self.damping * (jnp.trace(k) / p if self.relative else 1.0)

    def curve(self, metric, gradient):
        """The damped steps $E^\\top(K + (\\lambda_0+\\lambda)I)^{-1}r$ from an
        eigendecomposition of $K = EE^\\top$ ($O(N^3)$), this solve's damping $\\lambda_0$
        as the floor. Each step is then one product with $E^\\top$."""
        self.check(metric)
        n, p = metric.shape
        k, e_mv, e_rmv = self._sample(metric)
        curve = sample_curve(
            k,
            e_rmv,
            p,
            gradient,
            default_cutoff(k.shape, k.dtype),
            self._damping(k, p),
            residual=metric.residual,
            matvec=e_mv,
        )
        return with_stats(curve)

    def solve(self, metric, gradient):
        self.check(metric)
        n, p = metric.shape
        k, e_mv, e_rmv = self._sample(metric)
        lam = self._damping(k, p)
        op = lx.MatrixLinearOperator(
            k + lam * jnp.eye(n, dtype=k.dtype), lx.positive_semidefinite_tag
        )
        solver = lx.Cholesky()
        state = solver.init(op, {})
        solve = lambda b: lx.linear_solve(op, b, solver, state=state, throw=False)
        if metric.residual is not None:
            sol = solve(metric.residual)
        else:
            sol = solve(solve(e_mv(gradient)).value)
        h = e_rmv(sol.value)
        stats = {
            "damping": lam,
            "cond": cholesky_cond(state[0]),
            "solve_residual": normal_residual(metric, h, gradient),
        }
        return h, stats, (sol.result == lx.RESULTS.successful) & finite(h)
