from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from .._metrics import TangentMap
from ._base import AbstractGramSolver, as_float, finite
from ._precondition import (
    as_operator,
    diagonal_inverse,
    gram_diagonal,
    gram_sketch,
    Nystrom,
    nystrom_inverse,
)


PRECONDITIONERS = ("diagonal",)


def _nan_safe_max_norm(x):
    """`lineax.CG`'s max norm of the scaled residual and step, with $0/0$ (a component of
    $\\nabla_\\theta L$ or of $h$ that is exactly 0, e.g. a dead unit) counted as 0: the
    plain max norm is then NaN, which `lineax.CG` takes for convergence after one step."""
    x = jnp.abs(x)
    return jnp.max(jnp.where(jnp.isnan(x), 0.0, x))


class CG(AbstractGramSolver):
    """Matrix-free conjugate gradients on $(G + \\lambda I)h = \\nabla_\\theta L$.

    For a factored metric $G v = E^\\top(E v)$ with $E$ applied by a `jvp` and $E^\\top$ by
    a `vjp` of the feature map: neither $E$ nor $G$ is ever formed, so memory is that of a
    few gradients. For the Hessian, Hessian-vector products. Started from $h=0$, the
    iterates stay in the range of $G$, so on a singular consistent system CG tends to the
    minimum-norm solution.

    Records `cg_steps`, `damping` and `solve_residual` (undamped, matrix-free). Reaching
    `max_steps` is not a failure (every CG iterate is a descent direction); NaN is.

    **Preconditioning** (factored metrics only; with a metric that is only a matrix,
    e.g. the Hessian, `preconditioner` is ignored). CG is run on
    $P^{-1}(G+\\lambda I)h = P^{-1}\\nabla_\\theta L$ with

    - `"diagonal"` (Jacobi): $P = \\operatorname{diag}(G) + \\lambda I$,
        $\\operatorname{diag}(G)_j = \\sum_i E_{ij}^2$;
    - [`ngflow.Nystrom`][]`(rank)`: the randomized Nyström preconditioner built from
        $Y = G\\Omega$, $\\Omega$ $p\\times\\ell$; records `precond_rank` ($\\ell$) and
        `precond_min_eig` ($\\hat\\lambda_\\ell$: when it is not well below $\\lambda$,
        raise `rank`).

    Both are built in one pass over the rows of $E$: per chunk $E_c$ of `chunk` points,
    $\\sum_c E_c\\odot E_c$ or $\\sum_c E_c^\\top(E_c\\Omega)$ (so $E$ is never held whole);
    with `chunk=None` $E$ is formed once, the preconditioner and every CG product use it
    and the loss gradient is taken as $E^\\top r$ from it (fastest while $Np$ fits).

    Measured on the Poisson 2D PINN (`benchmarks/scaling.py`, N = 1 024 points, energy
    metric, $\\lambda = 10^{-6}\\operatorname{tr}(G)/p$ and $10^{-8}\\operatorname{tr}(G)/p$,
    relative residual $10^{-6}$ within 500 iterations; at the initial parameters and
    after 20 NGD steps): plain CG needs 73 to over 500 iterations, Jacobi does not help
    (it is worse: 422 to over 500), Nyström with $\\ell = 100$ needs 2 to 5 at
    $p = 1\\,021$ (build 40 ms, 30 ms of it the chunked sketch, vs. 3.5 ms per
    matrix-free iteration); at $p \\approx 10^4$ see the table in the report of issue 8.
    A converged damped solve is not the best one-step direction from a random
    initialisation (truncated CG regularises): preconditioning makes `rtol` reachable,
    it does not by itself make NGD faster.

    **Arguments:**

    - `rtol`, `atol`: stopping tolerances of `lineax.CG`.
    - `max_steps`: iteration cap. Default $\\min(p, 100)$: on the rank-deficient Gram
        systems of neural networks `rtol` is rarely reached, and a truncated CG is
        itself a regulariser (measured on a 501-parameter MLP: 50 iterations cost
        21 ms per step and made more progress in 20 steps than 501 iterations at
        200 ms).
    - `damping`: absolute $\\lambda\\ge0$.
    - `preconditioner`: `None` (default), `"diagonal"` or an [`ngflow.Nystrom`][].
    - `chunk`: build the preconditioner over chunks of this many points, never holding
        $E$ ($N\\times p$); CG products are then `jvp`/`vjp`s. Default `None`: form $E$.

    ```python
    ng.NaturalGradient(ng.CG(damping=1e-6, preconditioner=ng.Nystrom(100), chunk=256))
    ```
    """

    needs_tangent_map: ClassVar[bool] = False
    rtol: Float[Array, ""] = eqx.field(default=1e-10, converter=as_float)
    atol: Float[Array, ""] = eqx.field(default=0.0, converter=as_float)
    max_steps: int | None = eqx.field(default=None, static=True)
    damping: Float[Array, ""] = eqx.field(default=0.0, converter=as_float)
    preconditioner: str | Nystrom | None = eqx.field(default=None, static=True)
    chunk: int | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        pre = self.preconditioner
        if not (pre is None or isinstance(pre, Nystrom) or (isinstance(pre, str) and pre in PRECONDITIONERS)):
            raise ValueError(
                f"CG: `preconditioner` must be None, 'diagonal' or ng.Nystrom(rank), got "
                f"{pre!r}."
            )
        chunk = self.chunk
        if chunk is not None and not (
            isinstance(chunk, int) and not isinstance(chunk, bool) and chunk > 0
        ):
            raise ValueError(f"CG: `chunk` must be a positive int, got {chunk!r}.")

    def uses_dense(self, metric):
        return (
            self.preconditioner is not None
            and self.chunk is None
            and isinstance(metric, TangentMap)
        )

    def _preconditioner(self, metric, gradient):
        """`(P⁻¹ as a lineax operator, extra stats)`, or `(None, {})`."""
        pre = self.preconditioner
        if pre is None or not isinstance(metric, TangentMap):
            return None, {}
        if pre == "diagonal":
            diag = gram_diagonal(metric, self.chunk)
            return as_operator(diagonal_inverse(diag, self.damping), gradient), {}
        omega = pre.omega(gradient.shape[0], gradient.dtype)
        sketch = gram_sketch(metric, omega, self.chunk)
        u, lam = pre.factor(sketch, omega)
        stats = {"precond_rank": jnp.asarray(lam.shape[0]), "precond_min_eig": lam[-1]}
        return as_operator(nystrom_inverse(u, lam, self.damping), gradient), stats

    def solve(self, metric, gradient):
        self.check(metric)
        precond, extra = self._preconditioner(metric, gradient)
        op = metric.matrix_free()
        gram = op.T @ op if isinstance(metric, TangentMap) else op
        damped = gram + self.damping * lx.IdentityLinearOperator(gram.in_structure())
        damped = lx.TaggedLinearOperator(damped, lx.positive_semidefinite_tag)
        p = gradient.shape[0]
        max_steps = min(p, 100) if self.max_steps is None else self.max_steps
        if precond is None:  # unchanged (see `_nan_safe_max_norm`)
            solver = lx.CG(rtol=self.rtol, atol=self.atol, max_steps=max_steps)
        else:
            solver = lx.CG(
                rtol=self.rtol, atol=self.atol, max_steps=max_steps, norm=_nan_safe_max_norm
            )
        options = {} if precond is None else {"preconditioner": precond}
        sol = lx.linear_solve(damped, gradient, solver, options=options, throw=False)
        h = sol.value
        r = gram.mv(h) - gradient
        stats = {
            "cg_steps": sol.stats["num_steps"],
            "damping": self.damping,
            "solve_residual": jnp.linalg.norm(r)
            / jnp.maximum(jnp.linalg.norm(gradient), jnp.finfo(h.dtype).tiny),
            **extra,
        }
        usable = (sol.result == lx.RESULTS.successful) | (
            sol.result == lx.RESULTS.max_steps_reached
        )
        return h, stats, usable & finite(h)
