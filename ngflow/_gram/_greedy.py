"""The orthogonal greedy algorithm (OGA, seed 000 §1.1) as a lineax solver and a Gram solve.

OGA approximates the natural gradient with $k$ tangent vectors chosen one at a time:
with $c_i = \\sqrt{G_{ii}} = \\|\\partial_i u\\|$, start from $I = \\emptyset$, $h = 0$ and
repeat $k$ times

1. $i = \\arg\\max_{i\\notin I} |(\\nabla_\\theta L - G h)_i| / c_i$ (the tangent vector that
   best approximates the current residual $r = \\nabla_u L - \\Pi_{H}\\nabla_u L$),
2. $I \\leftarrow I\\cup\\{i\\}$, solve $G_{[I,I]} h_I = (\\nabla_\\theta L)_I$, $h_{I^c} = 0$.

Then $E h = \\Pi_{H_k}\\nabla_u L$, the projection on the span of the chosen tangent vectors,
and $\\|r_k\\|^2 = (G h - 2\\nabla_\\theta L)^\\top h + \\|\\nabla_u L\\|^2$ is non-increasing.

Two forms, both under `jit` with a fixed $k$ (masks and `lax.fori_loop`) and an
incrementally updated factorisation, so that $k$ greedy steps cost one factorisation of
the chosen block, not $k$:

- on $G$: a Cholesky factor of $G_{[I,I]}$ grown by one row per step, $O(pk + k^2)$ per
  step after $G$ is formed;
- on $E$ (orthogonal matching pursuit on the columns of $E$): a QR factorisation of
  $E_{[:,I]}$ grown by one column per step with classical Gram--Schmidt applied twice,
  $O(Np)$ per step; $G$ is never formed and the conditioning is that of $E$. With a known
  residual $g$ ($\\nabla_\\theta L = E^\\top g$) it is least squares on the chosen columns;
  otherwise the semi-normal equations $R^\\top R h_I = (\\nabla_\\theta L)_I$.

A candidate whose new pivot is at most `rtol`$\\cdot c_i$ (it lies in the span of the
chosen ones) is skipped and never tried again, and tangent vectors with
$c_i\\le$ `rtol`$\\cdot\\max_j c_j$ are never candidates, so fewer than $k$ vectors may be
chosen; `rank` records how many were.
"""

from typing import Any, ClassVar

import equinox as eqx
import jax.lax as lax
import jax.numpy as jnp
import jax.scipy as jsp
import lineax as lx
import lineax.internal as lxi
from jaxtyping import Array, Float, Int

from .._linearisation import TangentMap
from ._base import AbstractGramSolver, DEFAULT_TANGENT_RCOND, finite, normal_residual


class GreedyResult(eqx.Module):
    """What `k` greedy steps produced."""

    h: Float[Array, " p"]
    chosen: Int[Array, " k"]  # indices in the order chosen; -1 where none was added
    rank: Int[Array, ""]
    projection: Float[Array, " k"]  # ‖Π_{H_j} ∇_u L‖² = (2∇L − G h_j)ᵀ h_j after step j
    residual: Float[
        Array, " k"
    ]  # ‖r_j‖² after step j: formula (G) or direct (E, known g)


def _negligible(c, rtol):
    """Tangent vectors of norm at most `rtol` times the largest (dead or saturated
    neurons): the score $|(\\nabla L - Gh)_i|/c_i$ is scale-free, so one of them could
    win on rounding noise and get a coefficient of order $1/c_i^2$."""
    return c <= rtol * jnp.max(c)


def _masked_argmax(score, excluded):
    score = jnp.where(excluded | ~jnp.isfinite(score), -jnp.inf, score)
    return jnp.argmax(score), jnp.max(score)


def oga_gram(
    gram: Float[Array, "p p"], gradient: Float[Array, " p"], k: int, rtol, constant=None
) -> GreedyResult:
    """OGA on the Gram matrix $G$ with $\\nabla_\\theta L$ (seed 000 §1.1).

    `constant` is $C = \\|\\nabla_u L\\|^2$ if known; the recorded residual is then
    $(G h - 2\\nabla_\\theta L)^\\top h + C$ (else NaN).
    """
    p = gram.shape[0]
    dtype = gram.dtype
    c = jnp.sqrt(jnp.clip(jnp.diagonal(gram), 0.0))
    slots = jnp.arange(k)
    tiny = jnp.finfo(dtype).tiny
    dead = _negligible(c, rtol)

    def body(j, carry):
        factor, chosen, coef, excluded, m, proj, res = carry
        h_part = gram[:, jnp.maximum(chosen, 0)] @ coef  # G h, O(pk)
        score = jnp.abs(gradient - h_part) / jnp.where(c > tiny, c, jnp.inf)
        i, best = _masked_argmax(score, excluded | dead)
        # New row of the Cholesky factor of G[I, I]: L l = G[I, i], d² = G_ii − l·l.
        column = jnp.where(slots < m, gram[jnp.maximum(chosen, 0), i], 0.0)
        row = jsp.linalg.solve_triangular(factor, column, lower=True)
        d2 = gram[i, i] - row @ row
        ok = (best > 0) & (d2 > (rtol * c[i]) ** 2)
        new_row = (
            jnp.where(slots < m, row, 0.0).at[m].set(jnp.sqrt(jnp.maximum(d2, tiny)))
        )
        factor = jnp.where(
            ok, factor.at[m].set(jnp.where(slots <= m, new_row, 0.0)), factor
        )
        chosen = jnp.where(ok, chosen.at[m].set(i), chosen)
        excluded = excluded.at[i].set(True)
        m = m + ok
        # G[I, I] h_I = ∇L_I with the grown factor (padded with identity rows).
        g_sel = jnp.where(slots < m, gradient[jnp.maximum(chosen, 0)], 0.0)
        y = jsp.linalg.solve_triangular(factor, g_sel, lower=True)
        coef = jnp.where(
            slots < m, jsp.linalg.solve_triangular(factor.T, y, lower=False), 0.0
        )
        h = jnp.zeros(p, dtype).at[jnp.maximum(chosen, 0)].add(coef)
        gh = gram[:, jnp.maximum(chosen, 0)] @ coef
        proj = proj.at[j].set(-(gh - 2 * gradient) @ h)
        res = res.at[j].set(
            (gh - 2 * gradient) @ h + constant if constant is not None else jnp.nan
        )
        return factor, chosen, coef, excluded, m, proj, res

    init = (
        jnp.eye(k, dtype=dtype),
        jnp.full(k, -1),
        jnp.zeros(k, dtype),
        jnp.zeros(p, bool),
        jnp.array(0),
        jnp.zeros(k, dtype),
        jnp.zeros(k, dtype),
    )
    _, chosen, coef, _, m, proj, res = lax.fori_loop(0, k, body, init)
    h = jnp.zeros(p, dtype).at[jnp.maximum(chosen, 0)].add(coef)
    return GreedyResult(h, chosen, m, proj, res)


def oga_tangent(
    tangent: Float[Array, "N p"],
    gradient: Float[Array, " p"],
    k: int,
    rtol,
    residual: Float[Array, " N"] | None = None,
) -> GreedyResult:
    """OGA on the columns of $E$ (orthogonal matching pursuit), $G$ never formed.

    With `residual` $g$ ($\\nabla_\\theta L = E^\\top g$) the coefficients are least squares
    on the chosen columns and the recorded residual is $\\|g - E h\\|^2$ computed directly;
    without, they solve the semi-normal equations $R^\\top R h_I = (\\nabla_\\theta L)_I$.
    """
    n, p = tangent.shape
    dtype = tangent.dtype
    rows = tangent.T  # (p, N): column i of E is a contiguous row here
    c = jnp.linalg.norm(rows, axis=1)
    slots = jnp.arange(k)
    tiny = jnp.finfo(dtype).tiny
    dead = _negligible(c, rtol)

    def body(j, carry):
        qt, r, chosen, excluded, m, eh, proj, res = carry
        if residual is None:
            current = gradient - rows @ eh  # ∇L − G h
        else:
            current = rows @ (
                residual - eh
            )  # Eᵀ(g − E h), the same in exact arithmetic
        score = jnp.abs(current) / jnp.where(c > tiny, c, jnp.inf)
        i, best = _masked_argmax(score, excluded | dead)
        a = rows[i]
        # Classical Gram-Schmidt, twice, against the chosen columns (the rows of Qᵀ
        # beyond m are zero and contribute nothing).
        r1 = qt @ a
        v = a - r1 @ qt
        r2 = qt @ v
        v = v - r2 @ qt
        rho = jnp.linalg.norm(v)
        ok = (best > 0) & (rho > rtol * c[i])
        new_col = jnp.where(slots < m, r1 + r2, 0.0).at[m].set(rho)
        qt = jnp.where(ok, qt.at[m].set(v / jnp.maximum(rho, tiny)), qt)
        r = jnp.where(ok, r.at[:, m].set(new_col), r)
        chosen = jnp.where(ok, chosen.at[m].set(i), chosen)
        excluded = excluded.at[i].set(True)
        m = m + ok
        if residual is None:
            g_sel = jnp.where(slots < m, gradient[jnp.maximum(chosen, 0)], 0.0)
            y = jsp.linalg.solve_triangular(r, g_sel, trans="T", lower=False)
            # E h = Q R h_I = Q y.
        else:
            y = jnp.where(slots < m, qt @ residual, 0.0)
        eh = y @ qt
        proj = proj.at[j].set(
            2 * gradient @ _coefficients(r, y, chosen, m, p) - eh @ eh
        )
        if residual is None:
            res = res.at[j].set(jnp.nan)
        else:
            res = res.at[j].set(jnp.sum((residual - eh) ** 2))
        return qt, r, chosen, excluded, m, eh, proj, res

    init = (
        jnp.zeros((k, n), dtype),
        jnp.eye(k, dtype=dtype),
        jnp.full(k, -1),
        jnp.zeros(p, bool),
        jnp.array(0),
        jnp.zeros(n, dtype),
        jnp.zeros(k, dtype),
        jnp.zeros(k, dtype),
    )
    qt, r, chosen, _, m, _, proj, res = lax.fori_loop(0, k, body, init)
    if residual is None:
        g_sel = jnp.where(slots < m, gradient[jnp.maximum(chosen, 0)], 0.0)
        y = jsp.linalg.solve_triangular(r, g_sel, trans="T", lower=False)
    else:
        y = jnp.where(slots < m, qt @ residual, 0.0)
    h = _coefficients(r, y, chosen, m, p)
    return GreedyResult(h, chosen, m, proj, res)


def _coefficients(r, y, chosen, m, p):
    """$h$ with $h_I = R^{-1} y$ on the chosen indices, zero elsewhere."""
    slots = jnp.arange(r.shape[0])
    coef = jnp.where(slots < m, jsp.linalg.solve_triangular(r, y, lower=False), 0.0)
    return jnp.zeros(p, r.dtype).at[jnp.maximum(chosen, 0)].add(coef)


class OrthogonalGreedy(lx.AbstractLinearSolver):
    """`k` steps of the orthogonal greedy algorithm as a lineax solver.

    - `gram=True`: the operator is a symmetric positive semi-definite $G$ ($p\\times p$)
      and the vector $\\nabla_\\theta L$: OGA on $G$.
    - `gram=False`: the operator is $E$ ($N\\times p$) and the vector $g\\in\\mathbb{R}^N$:
      $\\min\\|E h - g\\|$ over $h$ supported on $k$ greedily chosen columns (orthogonal
      matching pursuit, the same selection as OGA on $G = E^\\top E$ with
      $\\nabla_\\theta L = E^\\top g$).

    `stats`: `rank` (vectors chosen), `chosen` (their indices, −1 for unused slots),
    `greedy_projection` and `greedy_residual` per greedy step.

    ```python
    import lineax as lx
    E = jax.random.normal(key, (20, 6))
    G, grad = E.T @ E, E.T @ jnp.ones(20)
    sol = lx.linear_solve(lx.MatrixLinearOperator(G), grad, ng.OrthogonalGreedy(3))
    assert sol.stats["rank"] == 3  # three columns chosen
    ```
    """

    k: int = eqx.field(static=True)
    gram: bool = eqx.field(default=True, static=True)
    rtol: float = DEFAULT_TANGENT_RCOND

    def __check_init__(self):
        if not isinstance(self.k, int) or self.k < 1:
            raise ValueError(
                f"OrthogonalGreedy: `k` must be a positive int, got {self.k!r}."
            )

    def init(self, operator: lx.AbstractLinearOperator, options: dict[str, Any]):
        del options
        matrix = operator.as_matrix()
        if self.gram and matrix.shape[0] != matrix.shape[1]:
            raise ValueError(
                f"OrthogonalGreedy(gram=True) needs a square Gram operator, got "
                f"{matrix.shape}; pass gram=False for a tangent map E."
            )
        return matrix, lxi.pack_structures(operator)

    def compute(self, state, vector, options):
        del options
        matrix, packed = state
        b = lxi.ravel_vector(vector, packed)
        k = min(self.k, matrix.shape[1])
        if self.gram:
            out = oga_gram(matrix, b, k, self.rtol)
        else:
            out = oga_tangent(matrix, matrix.T @ b, k, self.rtol, residual=b)
        x = lxi.unravel_solution(out.h, packed)
        ok = finite(out.h)
        result = lx.RESULTS.where(ok, lx.RESULTS.successful, lx.RESULTS.singular)
        stats = {
            "rank": out.rank,
            "chosen": out.chosen,
            "greedy_projection": out.projection,
            "greedy_residual": out.residual,
        }
        return x, result, stats

    def transpose(self, state, options):
        raise NotImplementedError(
            "OrthogonalGreedy has no transpose: it is not linear."
        )

    def conj(self, state, options):
        return state, options

    def assume_full_rank(self):
        return False


class Greedy(AbstractGramSolver):
    """The natural gradient from `k` greedily chosen tangent vectors (OGA, seed 000 §1.1).

    $h$ solves $G_{[I,I]} h_I = (\\nabla_\\theta L)_I$, $h_{I^c} = 0$, for the index set $I$
    that the orthogonal greedy algorithm picks: each step adds
    $\\arg\\max_{i\\notin I}|(\\nabla_\\theta L - Gh)_i|/\\sqrt{G_{ii}}$. So $Eh$ is the best
    approximation of $\\nabla_u L$ from $k$ tangent vectors chosen one at a time; with
    $k = p$ (and $G$ nonsingular) it is the full natural gradient. Usable wherever any
    Gram solve is: `ng.NaturalGradient(ng.Greedy(10))`.

    For a factored metric it works on the columns of $E$ (`tangent=True`, default; $G$ is
    never formed, the conditioning is that of $E$); with `tangent=False`, or a matrix
    metric, on $G$. Either way the factorisation of the chosen block grows by one row
    or column per greedy step. Vectors that are (numerically) in the span of the chosen
    ones are skipped.

    Records `rank` (vectors chosen), `greedy_projection`
    ($\\|\\Pi_{H_j}\\nabla_u L\\|^2 = (2\\nabla_\\theta L - Gh_j)^\\top h_j$ after greedy step
    $j = 1..k$, an array of length $k$), `greedy_residual` ($\\|r_j\\|^2 =
    (Gh_j - 2\\nabla_\\theta L)^\\top h_j + \\|\\nabla_u L\\|^2$ when the loss's residual
    $\\nabla_u L$ is known, i.e. with [`ngflow.GaussNewton`][]; NaN otherwise) and
    `solve_residual`.

    **Arguments:**

    - `k`: the number of greedy steps (a Python int; more than $p$ is clipped to $p$).
    - `tangent`: work on $E$ rather than $G$ when the metric is factored.
    - `rtol`: a candidate whose new pivot is at most `rtol`$\\,\\sqrt{G_{ii}}$ is skipped
        (default $10^{-7}$, the cutoff of [`ngflow.Pinv`][]: a smaller pivot would
        amplify the coefficients by its inverse; on $G$ the pivot is only known to
        about $\\sqrt{\\varepsilon}\\approx 1.5\\cdot10^{-8}$ relative).

    ```python
    ng.NaturalGradient(ng.Greedy(10))  # h from 10 tangent vectors chosen one at a time
    ```
    """

    needs_tangent_map: ClassVar[bool] = False
    k: int = eqx.field(static=True)
    tangent: bool = eqx.field(default=True, static=True)
    rtol: float = DEFAULT_TANGENT_RCOND

    def __check_init__(self):
        if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < 1:
            raise ValueError(f"Greedy: `k` must be a positive int, got {self.k!r}.")

    def solve(self, metric, gradient):
        self.check(metric)
        p = gradient.shape[0]
        k = min(self.k, p)
        if isinstance(metric, TangentMap) and self.tangent:
            out = oga_tangent(metric.matrix, gradient, k, self.rtol, metric.residual)
        else:
            if isinstance(metric, TangentMap):
                e = metric.matrix
                gram = e.T @ e
                r = metric.residual
                constant = None if r is None else r @ r
            else:
                gram, constant = metric.matrix, None
            out = oga_gram(gram, gradient, k, self.rtol, constant)
        h = out.h
        stats = {
            "rank": out.rank,
            "greedy_projection": out.projection,
            "greedy_residual": out.residual,
            "solve_residual": normal_residual(metric, h, gradient),
        }
        return h, stats, finite(h)
