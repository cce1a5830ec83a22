from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from .._linearisation import DENSE, MATRIX_FREE, TangentMap
from ._base import AbstractGramSolver, as_float, finite
from ._precondition import (
    as_operator,
    diagonal_inverse,
    gram_diagonal,
    gram_sketch,
    Nystrom,
    nystrom_inverse,
    scalar_inverse,
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

    Measured on the Poisson 2D PINN of `benchmarks/scaling.py` ($N = 1\\,024$ points,
    energy metric), iterations to relative residual $10^{-6}$ (cap 500) with
    $\\lambda = 10^{-6}$ / $10^{-8}\\cdot\\operatorname{tr}(G)/p$, at the initial parameters
    and after 20 NGD steps:

    | $p$ | plain | diagonal | Nyström $\\ell=50$ | Nyström $\\ell=100$ |
    |---|---|---|---|---|
    | 1 051 | 73–>500 | 422–>500 | 1–37 | 1–3 |
    | 10 095 | 110–>500 | all >500 | 2–75 | 2–8 |

    Building the rank-100 preconditioner (chunked sketch, QR, SVD) costs about 12–18
    matrix-free CG iterations (45 ms vs. 3.3 ms per iteration at $p = 1\\,051$; 0.45 s
    vs. 25 ms at $p = 10\\,095$); Jacobi does not help on this problem. In NGD
    (`LogGrid`, $\\lambda = 10^{-6}$, 50 steps, $p = 1\\,051$) Nyström-100 reached loss
    $1.6\\cdot10^{-8}$ at 58 ms/step against $6\\cdot10^{-5}$ at 325 ms/step for 50 plain
    matrix-free iterations and $6.9\\cdot10^{-7}$ for `Cholesky(1e-6)`. A converged damped
    solve is a worse *one-step* direction than a truncated plain CG in the first steps
    (truncated CG regularises); the preconditioned run catches up after about 20 steps.
    The default `rtol` ($10^{-10}$, checked per component by `lineax.CG`) is rarely
    reached even with a good preconditioner: use e.g. `rtol=1e-6` with one.

    **Arguments:**

    - `rtol`, `atol`: stopping tolerances of `lineax.CG`.
    - `max_steps`: iteration cap. Default $\\min(p, 100)$: on the rank-deficient Gram
        systems of neural networks `rtol` is rarely reached, and a truncated CG is
        itself a regulariser (measured on a 501-parameter MLP: 50 iterations cost
        21 ms per step and made more progress in 20 steps than 501 iterations at
        200 ms).
    - `damping`: $\\lambda\\ge0$.
    - `relative`: if `True`, $\\lambda$ is `damping` $\\cdot\\operatorname{tr}(G)/p$ as in
        [`ngflow.Cholesky`][] (scale-free; $\\operatorname{tr}(G) = \\|E\\|_F^2$ comes with
        the preconditioner's pass over the rows of $E$, or costs one such pass without
        one); if `False` (default), $\\lambda$ is `damping`.
    - `preconditioner`: `None` (default), `"diagonal"` or an [`ngflow.Nystrom`][]
        (needs `damping` > 0).
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
    relative: bool = eqx.field(default=False, static=True)

    def __check_init__(self):
        pre = self.preconditioner
        if not (
            pre is None
            or isinstance(pre, Nystrom)
            or (isinstance(pre, str) and pre in PRECONDITIONERS)
        ):
            raise ValueError(
                f"CG: `preconditioner` must be None, 'diagonal' or ng.Nystrom(rank), got "
                f"{pre!r}."
            )
        if pre is not None and not isinstance(self.damping, jax.core.Tracer):
            if not float(self.damping) > 0:
                raise ValueError(
                    "CG: a preconditioner needs `damping` > 0 (measured: Nyström with "
                    "damping 0 broke down to NaN at the first step on the Poisson PINN)."
                )
        chunk = self.chunk
        if chunk is not None and not (
            isinstance(chunk, int) and not isinstance(chunk, bool) and chunk > 0
        ):
            raise ValueError(f"CG: `chunk` must be a positive int, got {chunk!r}.")

    def form(self, shape):
        # E is formed only to build a preconditioner (or the trace) from it.
        dense = self.preconditioner is not None or self.relative
        factored = shape is not None
        return DENSE if dense and self.chunk is None and factored else MATRIX_FREE

    def _preconditioner(self, metric, gradient):
        """`(P⁻¹ as a lineax operator or None, λ, extra stats)`."""
        pre = self.preconditioner
        if not isinstance(metric, TangentMap):
            if self.relative:
                raise TypeError(
                    "CG(relative=True) needs a factored metric (its trace comes from the "
                    "rows of E); with a matrix metric (Hessian) give an absolute damping."
                )
            return None, self.damping, {}
        scale = lambda trace: self.damping * trace / gradient.shape[0]
        if pre is None:
            if not self.relative:
                return None, self.damping, {}
            return None, scale(jnp.sum(gram_diagonal(metric, self.chunk))), {}
        if pre == "diagonal":
            diag = gram_diagonal(metric, self.chunk)
            lam = scale(jnp.sum(diag)) if self.relative else self.damping
            return as_operator(diagonal_inverse(diag, lam), gradient), lam, {}
        omega = pre.omega(gradient.shape[0], gradient.dtype)
        sketch, trace = gram_sketch(metric, omega, self.chunk, with_trace=True)
        lam = scale(trace) if self.relative else self.damping
        u, eig = pre.factor(sketch, omega)
        stats = {"precond_rank": jnp.asarray(eig.shape[0]), "precond_min_eig": eig[-1]}
        return as_operator(nystrom_inverse(u, eig, lam), gradient), lam, stats

    def solve(self, metric, gradient):
        self.check(metric)
        precond, lam, extra = self._preconditioner(metric, gradient)
        op = metric.operator
        gram = op.T @ op if isinstance(metric, TangentMap) else op
        damped = gram + lam * lx.IdentityLinearOperator(gram.in_structure())
        damped = lx.TaggedLinearOperator(damped, lx.positive_semidefinite_tag)
        p = gradient.shape[0]
        max_steps = min(p, 100) if self.max_steps is None else self.max_steps
        solver = lx.CG(
            rtol=self.rtol, atol=self.atol, max_steps=max_steps, norm=_nan_safe_max_norm
        )
        if precond is None:  # the scale only: see `scalar_inverse`
            precond = as_operator(scalar_inverse(damped, gradient), gradient)
        options = {"preconditioner": precond}
        sol = lx.linear_solve(damped, gradient, solver, options=options, throw=False)
        h = sol.value
        r = gram.mv(h) - gradient
        stats = {
            "cg_steps": sol.stats["num_steps"],
            "damping": lam,
            "solve_residual": jnp.linalg.norm(r)
            / jnp.maximum(jnp.linalg.norm(gradient), jnp.finfo(h.dtype).tiny),
            **extra,
        }
        usable = (sol.result == lx.RESULTS.successful) | (
            sol.result == lx.RESULTS.max_steps_reached
        )
        return h, stats, usable & finite(h)
