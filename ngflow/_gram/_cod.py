"""A rank-revealing least-squares solver for lineax: the complete orthogonal decomposition.

lineax's `QR` has no column pivoting, so on a rank-deficient operator it returns huge or
NaN solutions. This solver is LAPACK's `xGELSY` written with JAX primitives:

1. column-pivoted QR, $A[:, \\pi] = QR$, with $|R_{11}|\\ge|R_{22}|\\ge\\dots$; the numerical
   rank $r$ is the number of $|R_{ii}| > \\text{rcond}\\,|R_{11}|$;
2. if $A$ has full column rank, $A = Q R \\Pi^\\top$ and we are done; otherwise the
   trapezoid $R_{1:r,:}$ is reduced by a second QR of its transpose, so that
   $A = Q U W^\\top$ with $U$ ($r\\times r$ block) triangular and $Q$, $W$ orthonormal.

Then $A^+ b = W U^{-1} Q^\\top b$, the minimum-norm least-squares solution, computed
with the conditioning of $A$ (never of $A^\\top A$). Shapes stay static under `jit`: the
rank only masks entries.
"""

from typing import Any

import equinox.internal as eqxi
import jax.lax as lax
import jax.numpy as jnp
import jax.scipy as jsp
import lineax as lx
import lineax.internal as lxi


def _resolve_rcond(rcond, m, n, dtype):
    if rcond is None:
        return 2 * jnp.finfo(dtype).eps * max(m, n)
    return jnp.asarray(rcond, dtype)


class CompleteOrthogonalDecomposition(lx.AbstractLinearSolver):
    """Minimum-norm least squares for any (rectangular, rank-deficient) operator.

    Equivalent to `scipy.linalg.lstsq(..., lapack_driver="gelsy")`.

    **Arguments:**

    - `rcond`: columns whose pivoted $|R_{ii}|$ is at most `rcond` times $|R_{11}|$ are
        treated as dependent. Default: $2\\,\\varepsilon\\max(m, n)$.

    It returns $x = A^+ b = W U^{-1} Q^\\top b$ from the complete orthogonal
    decomposition $A = Q U W^\\top$ ($Q$, $W$ orthonormal columns, $U$ triangular).

    ```python
    import lineax as lx
    A = jnp.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])  # rank 1
    cod = ng.CompleteOrthogonalDecomposition()
    x = lx.linear_solve(lx.MatrixLinearOperator(A), jnp.array([2.0, 2.0, 0.0]), cod).value
    assert jnp.allclose(x, 1.0)  # (1, 1): the minimum-norm solution of x₁ + x₂ = 2
    ```
    """

    rcond: float | None = None

    def init(self, operator: lx.AbstractLinearOperator, options: dict[str, Any]):
        del options
        a = operator.as_matrix()
        m, n = a.shape
        k = min(m, n)
        q, r, perm = jsp.linalg.qr(a, mode="economic", pivoting=True)
        diag = jnp.abs(jnp.diagonal(r))
        tol = _resolve_rcond(self.rcond, m, n, a.dtype) * diag[0]
        rank = jnp.sum(diag > tol)
        # P = I[:, perm] is the permutation with A P = A[:, perm]; P Z = Z[inverse].
        inverse = jnp.argsort(perm)

        def full_rank(_):
            # n <= m and rank == n: A = Q R P^T.
            return q, r, jnp.eye(n, dtype=a.dtype)[inverse], jnp.ones(k, bool)

        def deficient(_):
            r1 = jnp.where(jnp.arange(k)[:, None] < rank, r, 0)
            z, t = jnp.linalg.qr(r1.T)  # (n, k), (k, k); t[:, rank:] == 0 exactly
            w = z[inverse]  # A = Q t^T (P z)^T
            # Reverse index order so that the triangular factor is upper triangular.
            u = t.T[::-1, ::-1]
            active = jnp.arange(k)[::-1] < rank
            return q[:, ::-1], u, w[:, ::-1], active

        if n <= m:
            factors = lax.cond(rank == n, full_rank, deficient, None)
        else:
            factors = deficient(None)
        cond = diag[0] / jnp.min(jnp.where(jnp.arange(k) < rank, diag, jnp.inf))
        return (
            factors,
            rank,
            cond,
            eqxi.Static(False),
            lxi.pack_structures(operator),
        )

    def compute(self, state, vector, options):
        del options
        (q, u, w, active), rank, cond, transpose, packed = state
        b = lxi.ravel_vector(vector, packed)
        # Inactive rows and columns of U are exactly zero: put ones on their diagonal.
        inactive_diag = jnp.eye(u.shape[0], dtype=bool) & ~active[:, None]
        u_safe = jnp.where(inactive_diag, 1, u)
        if transpose.value:
            # (A^T)^+ b = Q U^{-T} W^T b
            c = jnp.where(active, w.T @ b, 0)
            y = jsp.linalg.solve_triangular(u_safe, c, trans="T", lower=False)
            x = q @ jnp.where(active, y, 0)
        else:
            # A^+ b = W U^{-1} Q^T b
            c = jnp.where(active, q.T @ b, 0)
            y = jsp.linalg.solve_triangular(u_safe, c, lower=False)
            x = w @ jnp.where(active, y, 0)
        x = lxi.unravel_solution(x, packed)
        return x, lx.RESULTS.successful, {"rank": rank, "cond": cond}

    def transpose(self, state, options):
        factors, rank, cond, transpose, packed = state
        return (
            factors,
            rank,
            cond,
            eqxi.Static(not transpose.value),
            lxi.transpose_packed_structures(packed),
        ), options

    def conj(self, state, options):
        return state, options

    def assume_full_rank(self):
        return False
