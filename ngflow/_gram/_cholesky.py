from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from .._linearisation import DENSE, Form, TangentMap
from ._base import (
    AbstractGramSolver,
    as_float,
    cholesky_cond,
    dense_metric,
    finite,
)
from ._curve import default_cutoff, eigh_curve, with_stats


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
    - `chunk`: form $G = \\sum_c E_c^\\top E_c$ over chunks of this many points
        (`lax.scan`), never holding the $N\\times p$ tangent map: memory $p^2$ plus one
        chunk's rows instead of $Np$ (default `None`: form $E$, then $G$).

    ```python
    ng.NaturalGradient(ng.Cholesky(1e-6, chunk=1024))  # large N: G, never E
    ```
    """

    needs_tangent_map: ClassVar[bool] = False
    damping: Float[Array, ""] = eqx.field(default=1e-10, converter=as_float)
    relative: bool = eqx.field(default=True, static=True)
    chunk: int | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        if not isinstance(self.damping, jnp.ndarray) or self.damping.shape != ():
            raise ValueError("Cholesky: `damping` must be a scalar.")
        if self.chunk is not None and not (
            isinstance(self.chunk, int) and self.chunk > 0
        ):
            raise ValueError(
                f"Cholesky: `chunk` must be a positive int, got {self.chunk!r}."
            )

    def form(self, shape):
        return (
            DENSE if self.chunk is None or shape is None else Form("gram", self.chunk)
        )

    def _gram(self, metric):
        if isinstance(metric, TangentMap) and metric.gram is not None:
            return metric.gram
        return dense_metric(metric)

    def _damping(self, g):
        return self.damping * (jnp.trace(g) / g.shape[0] if self.relative else 1.0)

    def curve(self, metric, gradient):
        """The damped steps $(G + (\\lambda_0+\\lambda) I)^{-1}\\nabla_\\theta L$ from an
        eigendecomposition of $G$ ($O(p^3)$, about 25 Cholesky factorisations), with
        this solve's damping $\\lambda_0$ as the floor; for the Hessian, damped on
        $|\\mu_i|$."""
        self.check(metric)
        g = self._gram(metric)
        cutoff = default_cutoff(g.shape, g.dtype)
        matrix = not isinstance(metric, TangentMap)
        curve = eigh_curve(g, gradient, cutoff, self._damping(g), absolute=matrix)
        return with_stats(curve)

    def solve(self, metric, gradient):
        self.check(metric)
        g = self._gram(metric)
        p = g.shape[0]
        lam = self._damping(g)
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
            "solve_residual": jnp.linalg.norm(g @ h - gradient)
            / jnp.maximum(jnp.linalg.norm(gradient), jnp.finfo(h.dtype).tiny),
        }
        return h, stats, ok
