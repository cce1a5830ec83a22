"""Viscous Burgers' equation with its Cole–Hopf reference solution."""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._domains import Box
from .._losses import Residual
from .._metrics import Energy
from .._operators import derivative, laplacian
from .._problem import Problem
from ._benchmark import Benchmark, benchmark, check_seed, mlp, pick


PI = math.pi
VISCOSITY = 0.01 / PI
QUADRATURE_NODES = 200


class ColeHopf(eqx.Module):
    """The Cole–Hopf solution of viscous Burgers' equation with $u(0, x) = -\\sin\\pi x$.

    $u_t + u u_x = \\nu u_{xx}$ on $\\mathbb R$ (here used on $x\\in[-1, 1]$, where
    $u(t, \\pm1) = 0$ by symmetry). With $\\eta = \\sqrt{4\\nu t}\\,s$,

    $$u(t, x) = -\\frac{\\int \\sin\\pi(x - \\eta)\\, e^{-\\cos(\\pi(x-\\eta))/(2\\pi\\nu)}
    e^{-s^2}\\,ds}{\\int e^{-\\cos(\\pi(x-\\eta))/(2\\pi\\nu)} e^{-s^2}\\,ds},$$

    both integrals by Gauss–Hermite quadrature (`numpy.polynomial.hermite.hermgauss`),
    summed in log space: the factors $e^{-\\cos/(2\\pi\\nu)}$ reach $e^{\\pm 50}$ for
    $\\nu = 0.01/\\pi$. Written in `jax.numpy`: differentiable (forward and reverse mode),
    vmappable. Called on one point $z = (t, x)$.

    **Arguments:**

    - `nu`: the viscosity $\\nu$.
    - `num_nodes`: the number of Gauss–Hermite nodes (at most ~300, numpy's limit).

    ```python
    u = ng.problems.ColeHopf()
    assert jnp.isclose(u(jnp.array([0.0, 0.5])), -1.0)  # −sin(π/2) at t = 0
    ux = ng.derivative(u, jnp.array([1.6037 / jnp.pi, 0.0]), 1)  # ≈ −152.005 (Basdevant)
    ```
    """

    nu: Float[Array, ""]
    nodes: Float[Array, " n"]
    log_weights: Float[Array, " n"]

    def __init__(self, nu: float = VISCOSITY, num_nodes: int = QUADRATURE_NODES):
        nodes, weights = np.polynomial.hermite.hermgauss(num_nodes)
        if not np.all(np.isfinite(weights) & (weights > 0)):
            raise ValueError(
                f"ColeHopf: numpy's Gauss–Hermite rule failed for {num_nodes} nodes; "
                "use fewer (at most ~300)."
            )
        self.nu = jnp.asarray(nu, dtype=float)
        self.nodes = jnp.asarray(nodes)
        self.log_weights = jnp.asarray(np.log(weights))

    def __call__(self, z):
        t, x = z[0], z[1]
        # max(t, tiny): finite derivatives at t = 0 (where u = −sin πx exactly)
        scale = jnp.sqrt(4 * self.nu * jnp.maximum(t, 1e-300))
        y = x - scale * self.nodes
        exponent = self.log_weights - jnp.cos(PI * y) / (2 * PI * self.nu)
        exponent = exponent - jax.lax.stop_gradient(jnp.max(exponent))
        weight = jnp.exp(exponent)
        return -jnp.sum(jnp.sin(PI * y) * weight) / jnp.sum(weight)


class _OnGrid(eqx.Module):
    """A function tabulated on a rectangular grid, read at the grid's own points (the
    error monitor evaluates it every step: a lookup instead of the quadrature)."""

    lower: Float[Array, " d"]
    spacing: Float[Array, " d"]
    values: Array

    def __call__(self, z):
        index = jnp.round((z - self.lower) / self.spacing).astype(int)
        return self.values[tuple(index)]


@functools.lru_cache(maxsize=4)
def _reference_table(nt: int, nx: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, nt)
    x = np.linspace(-1.0, 1.0, nx)
    grid = np.stack(np.meshgrid(t, x, indexing="ij"), -1).reshape(-1, 2)
    values = eqx.filter_jit(jax.vmap(ColeHopf()))(jnp.asarray(grid))
    return np.asarray(values).reshape(nt, nx)


def _burgers(u, z):
    value, u_x = jax.jvp(u, (z,), (jnp.array([0.0, 1.0], dtype=z.dtype),))
    return derivative(u, z, 0) + value * u_x - VISCOSITY * laplacian(u, z, axes=(1,))


def _burgers_initial(u, z):
    return u(z) + jnp.sin(PI * z[1])


def _zero_dirichlet(u, z):
    return u(z)


def burgers(
    *,
    seed: int = 0,
    quick: bool = False,
    num_interior: int | None = None,
    num_initial: int | None = None,
    num_boundary: int | None = None,
    eval_shape: tuple[int, int] | None = None,
) -> Benchmark:
    """Viscous Burgers' equation in 1+1D, with a shock-like layer at $x = 0$.

    $u_t + u u_x = \\nu u_{xx}$ for $t\\in(0, 1)$, $x\\in(-1, 1)$, $\\nu = 0.01/\\pi$;
    $u(0, x) = -\\sin\\pi x$, $u(t, \\pm1) = 0$. The point is $(t, x)$. Reference: the
    Cole–Hopf formula by Gauss–Hermite quadrature with 200 nodes,
    [`ngflow.problems.ColeHopf`][] (its slope $|u_x(t, 0)|$ peaks at 152.00516 at
    $t = 1.6037/\\pi$, Basdevant et al. 1986). Loss: mean PDE residual² on uniform
    interior points + $10\\times$ the mean squared initial misfit + $10\\times$ the mean
    squared boundary values, `ng.Energy()`. The interior points are redrawn at every
    step (`box.sampler(n, every=1)`; solve with `key=b.key`): with as many fixed points
    as fit the cost of a step ($N\\approx 1.5p$), natural gradient drives the loss
    towards 0 on a wrong solution, one that interpolates the residual at the points.

    - Model: [2, 20, 20, 20, 1] tanh, key `seed` ($p = 921$).
    - Points: 1200 uniform interior points per step, 100 initial points
        `linspace(-1, 1)` at $t = 0$, 50 times `linspace(0, 1)` on each side
        $x = \\pm1$ (quick: 300, 40, 2 × 20).
    - Error: the $100\\times256$ grid `linspace(0, 1, 100)` × `linspace(-1, 1, 256)`
        (quick $25\\times64$); the monitor reads the reference tabulated on it.
    - Budget: 500 steps, tolerance $10^{-2}$ (quick: 100 steps, $0.5$).

    **Arguments:**

    - `seed`: the initialisation seed (the interior points' key is `b.key`).
    - `quick`: the small version.
    - `num_interior`, `num_initial`, `num_boundary` (per side), `eval_shape` (`(nt, nx)`):
        override the sizes.

    ```python
    b = ng.problems.burgers(quick=True)
    assert b.points.shape == (25 * 64, 2)
    assert jnp.isclose(b.solution(jnp.array([0.0, -0.5])), 1.0)  # −sin(−π/2)
    ```
    """
    check_seed(seed, quick, "burgers")
    n_in = pick(num_interior, quick, (300, 1200))
    n_init = pick(num_initial, quick, (40, 100))
    n_side = pick(num_boundary, quick, (20, 50))
    nt, nx = pick(eval_shape, quick, ((25, 64), (100, 256)))
    domain = Box([0.0, -1.0], [1.0, 1.0])
    x0 = jnp.linspace(-1.0, 1.0, n_init)
    initial = jnp.stack([jnp.zeros_like(x0), x0], -1)
    ts = jnp.linspace(0.0, 1.0, n_side)
    sides = jnp.concatenate(
        [jnp.stack([ts, jnp.full_like(ts, s)], -1) for s in (-1.0, 1.0)]
    )
    loss = (
        Residual(_burgers, domain.sampler(n_in, every=1))
        + Residual(_burgers_initial, initial, weight=10.0)
        + Residual(_zero_dirichlet, sides, weight=10.0)
    )
    problem = Problem(mlp(2, "scalar", 20, 3, seed), loss, Energy())
    grid = np.stack(
        np.meshgrid(np.linspace(0, 1, nt), np.linspace(-1, 1, nx), indexing="ij"), -1
    ).reshape(-1, 2)
    table = _OnGrid(
        jnp.array([0.0, -1.0]),
        jnp.array([1.0 / (nt - 1), 2.0 / (nx - 1)]),
        jnp.asarray(_reference_table(nt, nx)),
    )
    return benchmark(
        name="burgers",
        source=(
            "Raissi, Perdikaris & Karniadakis 2019 (PINNs), §3.1; reference by "
            "Cole–Hopf as Basdevant et al. 1986"
        ),
        problem=problem,
        solution=ColeHopf(),
        points=grid,
        reference=table,
        steps=100 if quick else 500,
        tol=0.5 if quick else 1e-2,
        quick=quick,
        seed=seed,
    )
