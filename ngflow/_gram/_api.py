import equinox as eqx
import jax.numpy as jnp

from .._linearisation import MetricMatrix, TangentMap
from ._base import AbstractGramSolver


def _metric_and_gradient(matrix, gradient, residual, factored):
    if factored:
        metric = TangentMap.from_matrix(matrix, residual)
    else:
        if residual is not None:
            raise ValueError(
                "gram_solve: `residual` needs the tangent map (factored=True)."
            )
        metric = MetricMatrix.from_matrix(matrix)
    gradient = jnp.asarray(gradient)
    p = metric.shape[1]
    if gradient.shape != (p,):
        raise ValueError(
            f"gram_solve: `gradient` has shape {gradient.shape}, expected ({p},) for a "
            f"metric with {p} parameters."
        )
    return metric, gradient


@eqx.filter_jit
def gram_solve(
    solver: AbstractGramSolver,
    matrix,
    gradient,
    *,
    residual=None,
    factored: bool = True,
):
    """Solve $M h = \\nabla_\\theta L$ with a Gram solve, outside of [`ngflow.solve`][].

    **Arguments:**

    - `solver`: any Gram solve, e.g. `ng.QR()`.
    - `matrix`: the tangent map $E$, shape `(N, p)`, so that $M = E^\\top E$; or, with
        `factored=False`, the metric $M$ itself, shape `(p, p)`.
    - `gradient`: $\\nabla_\\theta L$, shape `(p,)`.
    - `residual`: optional $g$ with $\\nabla_\\theta L = E^\\top g$, shape `(N,)`; solves that
        work on $E$ then solve the least-squares problem $\\min_h\\|Eh - g\\|$.
    - `factored`: whether `matrix` is $E$ (default) or $M$.

    **Returns:** `(h, stats)`; `stats["successful"]` says whether the solve succeeded.

    ```python
    E = jax.random.normal(key, (50, 10))
    g = jax.random.normal(jax.random.key(1), (50,))
    h, stats = ng.gram_solve(ng.QR(), E, E.T @ g)  # h = G⁺Eᵀg = E⁺g (E has full rank)
    ```
    """
    metric, gradient = _metric_and_gradient(matrix, gradient, residual, factored)
    h, stats, ok = solver.solve(metric, gradient)
    return h, {**stats, "successful": ok}


@eqx.filter_jit
def gram_curve(
    solver: AbstractGramSolver,
    matrix,
    gradient,
    *,
    residual=None,
    factored: bool = True,
):
    """The Levenberg--Marquardt curve of a Gram solve, outside of [`ngflow.solve`][].

    The arguments are those of [`ngflow.gram_solve`][]. Returns `(curve, stats)` with
    `curve` an [`ngflow.LMCurve`][] ($h(\\lambda) = (M + \\lambda I)^{-1}\\nabla_\\theta L$
    for every $\\lambda\\ge0$ from one factorisation) and `stats["successful"]`; raises
    `TypeError` for a solve that has no curve ([`ngflow.CG`][], [`ngflow.Greedy`][]).

    ```python
    E = jax.random.normal(key, (50, 10))
    g = jax.random.normal(jax.random.key(1), (50,))
    curve, stats = ng.gram_curve(ng.Pinv(), E, E.T @ g, residual=g)
    h = curve.direction(1e-3)  # (EᵀE + 10⁻³I)⁻¹Eᵀg
    lam = curve.damping_for_radius(0.5)  # ‖h(λ)‖ = 0.5
    ```
    """
    metric, gradient = _metric_and_gradient(matrix, gradient, residual, factored)
    out = solver.curve(metric, gradient)
    if out is None:
        raise TypeError(
            f"gram_curve: {type(solver).__name__} has no Levenberg–Marquardt curve (it "
            "gives one direction); Pinv, QR, Cholesky, Woodbury and AutoGram do."
        )
    curve, stats, ok = out
    return curve, {**stats, "successful": ok}
