import equinox as eqx
import jax.numpy as jnp

from .._metrics import MetricMatrix, TangentMap
from ._base import AbstractGramSolver


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
    h, stats, ok = solver.solve(metric, gradient)
    return h, {**stats, "successful": ok}
