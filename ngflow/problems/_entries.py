"""The catalogue's least-squares and PDE problems (Burgers is in `_burgers.py`).

Every residual, target and exact solution is a module-level function: `ng.solve`
compiles once per problem structure and compares functions by identity, so two seeds
(or two sizes with the same shapes) of an entry share compiled code.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .._domains import Box
from .._losses import LeastSquares, Residual
from .._metrics import Energy, L2
from .._operators import derivative, gradient, laplacian, time_derivative
from .._problem import Problem
from ._benchmark import Benchmark, benchmark, check_seed, mlp, pick


PI = math.pi

# ---------------------------------------------------------------------------------------
# Least squares (seed 000 §2.1)


def _two_sines(x):
    """$g(x, y) = \\sin\\pi x\\sin\\pi y + \\sin\\frac{3\\pi x}2\\sin\\frac{3\\pi y}2$."""
    a, b = PI * x[0], PI * x[1]
    return jnp.sin(a) * jnp.sin(b) + jnp.sin(1.5 * a) * jnp.sin(1.5 * b)


def least_squares(
    *,
    seed: int = 0,
    quick: bool = False,
    num_points: int | None = None,
    eval_side: int | None = None,
) -> Benchmark:
    """Least squares with a shallow network (seed 000 §2.1, Figure 1).

    $\\min_\\theta \\frac12\\|u_\\theta - g\\|^2_{L^2(\\Omega)}$ on $\\Omega = [0, 1]^2$,
    Monte Carlo on uniform points, with
    $g(x, y) = \\sin(\\pi x)\\sin(\\pi y) + \\sin(\\tfrac32\\pi x)\\sin(\\tfrac32\\pi y)$;
    `ng.LeastSquares(g, points)` and the $L^2$ metric `ng.L2(points)` on the same points.
    The solution is $g$ (the loss at $g$ is 0).

    - Model: [2, 30, 1] tanh, `eqx.nn.MLP(..., key=jax.random.key(seed))` ($p = 121$).
    - Points: `jax.random.uniform(jax.random.key(0), (N, 2))`, the same for every seed;
        $N = 1000$ (quick: 200). With `seed=1` this is the problem of
        `paper_figures/least_squares_shallow.py` (its points key 0, model key 1).
    - Error: on the $50\\times 50$ grid of $[0, 1]^2$ (quick: $20\\times20$).
    - Budget: 500 steps, tolerance $10^{-4}$ (quick: 80 steps, $10^{-2}$).

    **Arguments:**

    - `seed`: the initialisation seed of the model.
    - `quick`: the small version.
    - `num_points`, `eval_side`: override $N$ and the side of the evaluation grid.

    ```python
    b = ng.problems.least_squares(quick=True)
    assert b.problem.loss(b.solution) == 0.0  # u = g fits exactly
    ```
    """
    check_seed(seed, quick, "least_squares")
    n = pick(num_points, quick, (200, 1000))
    side = pick(eval_side, quick, (20, 50))
    points = jax.random.uniform(jax.random.key(0), (n, 2))
    model = mlp(2, "scalar", 30, 1, seed)
    problem = Problem(model, LeastSquares(_two_sines, points), L2(points))
    return benchmark(
        name="least_squares",
        source="seed 000 §2.1 (least squares, shallow network, Figure 1)",
        problem=problem,
        solution=_two_sines,
        points=Box([0, 0], [1, 1]).grid(side),
        steps=80 if quick else 500,
        tol=1e-2 if quick else 1e-4,
        quick=quick,
        seed=seed,
    )


# ---------------------------------------------------------------------------------------
# Poisson on the unit square (ENGD; seed 000 §2.2)


def _sine_product(x):
    return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])


def _sine_product_source(x):  # −Δ(sin πx sin πy)
    return 2 * PI**2 * _sine_product(x)


def _poisson2d_interior(u, x):
    """$\\Delta u + f$ (the ENGD reference's sign; it is squared)."""
    return laplacian(u, x) + _sine_product_source(x)


def _seed000_source(x):
    """$f$ rounded as seed 000's figure computes it, $((2\\pi^2)\\sin\\pi x)\\sin\\pi y$:
    `paper_figures/poisson_oga.py` uses this entry and keeps its numbers."""
    return 2 * PI**2 * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])


def _seed000_interior(u, x):
    return laplacian(u, x) + _seed000_source(x)


def _zero_dirichlet(u, x):
    return u(x)


_ENGD_WIDTH = 32


def _engd_init(seed: int) -> eqx.nn.MLP:
    """The [2, 32, 1] tanh MLP initialised exactly as `init_params(seed)` of
    benchmarks/peers/problem.py: `k1..k4 = split(key(seed), 4)`, then W1, b1, W2, b2
    are `0.1 * normal(k_i)` of shapes (32, 2), (32,), (1, 32), (1,)."""
    k1, k2, k3, k4 = jax.random.split(jax.random.key(seed), 4)
    w = _ENGD_WIDTH
    new = (
        0.1 * jax.random.normal(k1, (w, 2), dtype=jnp.float64),
        0.1 * jax.random.normal(k2, (w,), dtype=jnp.float64),
        0.1 * jax.random.normal(k3, (1, w), dtype=jnp.float64),
        0.1 * jax.random.normal(k4, (1,), dtype=jnp.float64),
    )
    model = mlp(2, "scalar", w, 1, 0)  # its random values are all replaced
    return eqx.tree_at(
        lambda m: (
            m.layers[0].weight,
            m.layers[0].bias,
            m.layers[1].weight,
            m.layers[1].bias,
        ),
        model,
        new,
    )


def _poisson_square(model, n, boundary_weight, interior_residual=_poisson2d_interior):
    square = Box([0, 0], [1, 1])
    interior = Residual(interior_residual, square.interior_grid(n))
    boundary = Residual(
        _zero_dirichlet, square.boundary_grid(n + 1), weight=boundary_weight
    )
    return Problem(model, interior + boundary, Energy()), square.grid(100)


def poisson2d(*, seed: int = 0, quick: bool = False, n: int | None = None) -> Benchmark:
    """The ENGD Poisson problem (Müller & Zeinhofer 2023), exactly as
    benchmarks/peers/problem.py.

    $-\\Delta u = 2\\pi^2\\sin(\\pi x)\\sin(\\pi y)$ on $\\Omega = (0, 1)^2$, $u = 0$ on
    $\\partial\\Omega$; exact $u^*(x, y) = \\sin(\\pi x)\\sin(\\pi y)$. Loss (no
    $\\frac12$) $\\frac1{N_\\Omega}\\sum_i (\\Delta u + f)(x_i)^2 + 4\\cdot
    \\frac1{N_\\partial}\\sum_j u(b_j)^2$, energy metric `ng.Energy()`.

    - Model: [2, 32, 1] tanh ($p = 129$), initialised as the peers' `init_params(seed)`:
        `k1, k2, k3, k4 = jax.random.split(jax.random.key(seed), 4)`, then
        $W_1, b_1, W_2, b_2$ are $0.1\\,\\mathcal N(0, 1)$ from `k1`..`k4`; so
        `ravel_pytree` of the model is the peers' parameter vector.
    - Points: the $28\\times28$ interior grid of spacing $1/29$
        (`interior_grid(28)`) and the 116 boundary points of `boundary_grid(29)`,
        boundary weight 4 (quick: $14\\times 14$ and 60).
    - Error: the $100\\times100$ grid `linspace(0, 1, 100)²`.
    - Budget: 300 steps, tolerance $10^{-6}$ (quick: 100 steps, $10^{-4}$).

    **Arguments:**

    - `seed`: the initialisation seed.
    - `quick`: the small version.
    - `n`: override the interior grid side ($n\\times n$ points, $4(n+1)$ boundary).

    ```python
    b = ng.problems.poisson2d(seed=3, quick=True)
    assert ng.num_parameters(b.problem.model) == 129
    ```
    """
    check_seed(seed, quick, "poisson2d")
    n = pick(n, quick, (14, 28))
    problem, grid = _poisson_square(_engd_init(seed), n, 4.0)
    return benchmark(
        name="poisson2d",
        source=(
            "seed 000 §2.2; Müller & Zeinhofer 2023 (ENGD); benchmarks/peers/problem.py"
        ),
        problem=problem,
        solution=_sine_product,
        points=grid,
        steps=100 if quick else 300,
        tol=1e-4 if quick else 1e-6,
        quick=quick,
        seed=seed,
    )


def poisson2d_seed000(
    *,
    seed: int = 0,
    quick: bool = False,
    n: int | None = None,
    width: int | None = None,
) -> Benchmark:
    """Seed 000's Poisson problem (§2.2), as examples/poisson2d.py and
    paper_figures/poisson_oga.py.

    $-\\Delta u = 2\\pi^2\\sin(\\pi x)\\sin(\\pi y)$ on $(0, 1)^2$, $u = 0$ on the
    boundary; exact $u^* = \\sin(\\pi x)\\sin(\\pi y)$. Loss
    $\\frac1{N_\\Omega}\\sum_i (\\Delta u + f)(x_i)^2 + 100\\cdot
    \\frac1{N_\\partial}\\sum_j u(b_j)^2$, `ng.Energy()`.

    - Model: [2, 20, 20, 1] tanh, `eqx.nn.MLP(..., key=jax.random.key(seed))` ($p = 501$).
    - Points: `interior_grid(28)` (784) and `boundary_grid(29)` (116), boundary weight
        100 (quick: $14\\times14$ and 60).
    - Error: the $100\\times100$ grid of $[0, 1]^2$.
    - Budget: 200 steps, tolerance $10^{-6}$ (quick: 100 steps, $10^{-5}$).

    **Arguments:**

    - `seed`: the initialisation seed.
    - `quick`: the small version.
    - `n`: override the interior grid side ($n\\times n$ points, $4(n+1)$ boundary).
    - `width`: override the hidden width $w$, model [2, $w$, $w$, 1]
        ($p = w^2 + 5w + 1$; benchmarks/scaling.py takes 30, 98, 315).

    ```python
    b = ng.problems.poisson2d_seed000(quick=True)
    assert b.points.shape == (10_000, 2)
    assert ng.problems.poisson2d_seed000(n=30, width=30).num_parameters == 1051
    ```
    """
    check_seed(seed, quick, "poisson2d_seed000")
    n = pick(n, quick, (14, 28))
    width = pick(width, quick, (20, 20))
    model = mlp(2, "scalar", width, 2, seed)
    problem, grid = _poisson_square(model, n, 100.0, _seed000_interior)
    return benchmark(
        name="poisson2d_seed000",
        source=(
            "seed 000 §2.2 (E-NGD on Poisson, Figure 3); paper_figures/poisson_oga.py, "
            "examples/poisson2d.py"
        ),
        problem=problem,
        solution=_sine_product,
        points=grid,
        steps=100 if quick else 200,
        tol=1e-5 if quick else 1e-6,
        quick=quick,
        seed=seed,
    )


# ---------------------------------------------------------------------------------------
# Poisson in d dimensions, resampled points


def _sum_of_sines(x):
    return jnp.sum(jnp.sin(PI * x))


def _poisson_interior(u, x):  # Δu + f with f = −Δu* = π² Σ sin(πxᵢ)
    return laplacian(u, x) + PI**2 * jnp.sum(jnp.sin(PI * x))


def _poisson_boundary(u, x):
    return u(x) - _sum_of_sines(x)


# dim: width, then (quick, full) interior points, boundary points, steps, tolerance
_POISSON_SIZES = {
    5: (64, (400, 2000), (100, 250), (100, 300), (1e-3, 1e-4)),
    10: (64, (300, 800), (100, 200), (100, 300), (1e-1, 1e-2)),
}


def poisson(
    *,
    dim: int = 5,
    seed: int = 0,
    quick: bool = False,
    width: int | None = None,
    num_interior: int | None = None,
    num_boundary: int | None = None,
    num_eval: int | None = None,
) -> Benchmark:
    """Poisson in $d$ dimensions on points redrawn at every step.

    $-\\Delta u = \\pi^2\\sum_i\\sin(\\pi x_i)$ on $(0, 1)^d$, $u = u^*$ on the boundary,
    exact $u^*(x) = \\sum_{i=1}^d\\sin(\\pi x_i)$. Loss
    $\\frac1{N_\\Omega}\\sum (\\Delta u + f)^2 + \\frac1{N_\\partial}\\sum (u - u^*)^2$ on
    uniform interior and boundary points redrawn every step (`box.sampler(n, every=1)`,
    `box.boundary_sampler(n, every=1)`; solve with `key=b.key`), `ng.Energy()`. As
    examples/poisson5d.py, with fewer points (so $Np \\lesssim 10^6$).

    - Model: [$d$, 64, 1] tanh, key `seed` ($p = 64(d + 2) + 1$: 449 for $d = 5$, 769 for
        $d = 10$).
    - Points per step: $d = 5$: 2000 interior + 250 boundary (quick 400 + 100);
        $d = 10$: 800 + 200 (quick 300 + 100).
    - Error: on 10 000 fixed uniform points of the cube (`key(12345)`; quick 2000).
    - Budget: 300 steps, tolerance $10^{-4}$ ($d = 5$) or $10^{-2}$ ($d = 10$); quick
        100 steps and 10× the tolerance. Other $d$ take the $d = 10$ sizes.

    **Arguments:**

    - `dim`: $d$.
    - `seed`: the initialisation seed (the points' key is `b.key`, from the seed).
    - `quick`: the small version.
    - `width`, `num_interior`, `num_boundary`, `num_eval`: override the sizes.

    ```python
    b = ng.problems.poisson(dim=3, quick=True)
    assert b.points.shape == (2000, 3) and b.name == "poisson3d"
    ```
    """
    check_seed(seed, quick, "poisson")
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(
            f"ng.problems.poisson: `dim` must be a positive int, got {dim!r}."
        )
    w, n_in, n_bd, steps, tol = _POISSON_SIZES.get(dim, _POISSON_SIZES[10])
    width = pick(width, quick, (w, w))
    n_in = pick(num_interior, quick, n_in)
    n_bd = pick(num_boundary, quick, n_bd)
    n_eval = pick(num_eval, quick, (2000, 10_000))
    cube = Box([0.0] * dim, [1.0] * dim)
    loss = Residual(_poisson_interior, cube.sampler(n_in, every=1)) + Residual(
        _poisson_boundary, cube.boundary_sampler(n_bd, every=1)
    )
    problem = Problem(mlp(dim, "scalar", width, 1, seed), loss, Energy())
    return benchmark(
        name=f"poisson{dim}d",
        source="examples/poisson5d.py (resampled PINN points)",
        problem=problem,
        solution=_sum_of_sines,
        points=cube.sample(jax.random.key(12345), n_eval),
        steps=steps[0] if quick else steps[1],
        tol=tol[0] if quick else tol[1],
        quick=quick,
        seed=seed,
    )


def poisson5d(*, seed: int = 0, quick: bool = False, **size_options) -> Benchmark:
    """[`ngflow.problems.poisson`][] with $d = 5$.

    $-\\Delta u = \\pi^2\\sum_i\\sin(\\pi x_i)$ on $(0, 1)^5$, $u^* = \\sum_i \\sin(\\pi x_i)$;
    [5, 64, 1] tanh ($p = 449$), 2000 interior + 250 boundary points redrawn every step
    (quick 400 + 100), 300 steps, tolerance $10^{-4}$ (quick 100 steps, $10^{-3}$).

    **Arguments:** as [`ngflow.problems.poisson`][] (`width`, `num_interior`,
    `num_boundary`, `num_eval`).

    ```python
    b = ng.problems.poisson5d(quick=True)
    assert b.points.shape[1] == 5
    ```
    """
    return poisson(dim=5, seed=seed, quick=quick, **size_options)


def poisson10d(*, seed: int = 0, quick: bool = False, **size_options) -> Benchmark:
    """[`ngflow.problems.poisson`][] with $d = 10$.

    $-\\Delta u = \\pi^2\\sum_i\\sin(\\pi x_i)$ on $(0, 1)^{10}$,
    $u^* = \\sum_i \\sin(\\pi x_i)$; [10, 64, 1] tanh ($p = 769$), 800 interior + 200
    boundary points redrawn every step (quick 300 + 100), 300 steps, tolerance
    $10^{-2}$ (quick 100 steps, $10^{-1}$).

    **Arguments:** as [`ngflow.problems.poisson`][].

    ```python
    b = ng.problems.poisson10d(quick=True)
    assert b.points.shape[1] == 10
    ```
    """
    return poisson(dim=10, seed=seed, quick=quick, **size_options)


# ---------------------------------------------------------------------------------------
# Heat and wave, 1+1D space-time (coordinate 0 is time)


def _heat_solution(z):
    return jnp.exp(-(PI**2) * z[0] / 4) * jnp.sin(PI * z[1])


def _heat(u, z):
    return time_derivative(u, z) - 0.25 * laplacian(u, z, axes=(1,))


def _sine_initial(u, z):
    return u(z) - jnp.sin(PI * z[1])


def _space_time_points(n):
    """Interior grid, the t = 0 edge and the two sides x = 0, 1 of [0, 1]² (t, x)."""
    domain = Box([0, 0], [1, 1])
    edge = domain.boundary_grid(n + 1)
    at_t0 = edge[edge[:, 0] == 0]
    sides = edge[(edge[:, 1] == 0) | (edge[:, 1] == 1)]
    return domain, domain.interior_grid(n), at_t0, sides


def heat(*, seed: int = 0, quick: bool = False, n: int | None = None) -> Benchmark:
    """The heat equation, a space-time PINN (examples/heat.py).

    $u_t = \\frac14 u_{xx}$ for $(t, x)\\in(0, 1)^2$, $u(0, x) = \\sin(\\pi x)$,
    $u(t, 0) = u(t, 1) = 0$; exact $u^* = e^{-\\pi^2 t/4}\\sin(\\pi x)$. The point is
    $(t, x)$. Loss: mean PDE residual² on the interior grid + $100\\times$ the mean
    squared initial misfit + $100\\times$ the mean squared side values, `ng.Energy()`.

    - Model: [2, 20, 20, 1] tanh, key `seed` ($p = 501$).
    - Points: `interior_grid(28)` (784), from `boundary_grid(29)` the 30 points at
        $t = 0$ and the 60 at $x\\in\\{0, 1\\}$ (quick: $14\\times14$, 16, 32).
    - Error: the $100\\times100$ grid of $[0, 1]^2$.
    - Budget: 300 steps, tolerance $10^{-5}$ (quick: 100 steps, $10^{-4}$).

    **Arguments:**

    - `seed`: the initialisation seed.
    - `quick`: the small version.
    - `n`: override the interior grid side.

    ```python
    b = ng.problems.heat(quick=True)
    z = jnp.array([0.0, 0.5])
    assert jnp.isclose(b.solution(z), 1.0)  # u*(0, x) = sin(πx)
    ```
    """
    check_seed(seed, quick, "heat")
    n = pick(n, quick, (14, 28))
    domain, interior, at_t0, sides = _space_time_points(n)
    loss = (
        Residual(_heat, interior)
        + Residual(_sine_initial, at_t0, weight=100.0)
        + Residual(_zero_dirichlet, sides, weight=100.0)
    )
    problem = Problem(mlp(2, "scalar", 20, 2, seed), loss, Energy())
    return benchmark(
        name="heat",
        source="examples/heat.py (space-time PINN)",
        problem=problem,
        solution=_heat_solution,
        points=domain.grid(100),
        steps=100 if quick else 300,
        tol=1e-4 if quick else 1e-5,
        quick=quick,
        seed=seed,
    )


WAVE_SPEED = 1.0


def _wave_solution(z):
    t, x = z[0], z[1]
    c = WAVE_SPEED
    return jnp.sin(PI * x) * jnp.cos(c * PI * t) + 0.5 * jnp.sin(3 * PI * x) * jnp.cos(
        3 * c * PI * t
    )


def _wave(u, z):
    return laplacian(u, z, axes=(0,)) - WAVE_SPEED**2 * laplacian(u, z, axes=(1,))


def _wave_initial(u, z):
    x = z[1]
    return u(z) - (jnp.sin(PI * x) + 0.5 * jnp.sin(3 * PI * x))


def _wave_initial_velocity(u, z):
    return time_derivative(u, z)


def wave(*, seed: int = 0, quick: bool = False, n: int | None = None) -> Benchmark:
    """The wave equation, a space-time PINN.

    $u_{tt} = c^2 u_{xx}$ for $(t, x)\\in(0, 1)^2$ with $c = 1$, $u(t, 0) = u(t, 1) = 0$,
    $u(0, x) = \\sin(\\pi x) + \\frac12\\sin(3\\pi x)$, $u_t(0, x) = 0$; exact
    $u^* = \\sin(\\pi x)\\cos(c\\pi t) + \\frac12\\sin(3\\pi x)\\cos(3c\\pi t)$. The point
    is $(t, x)$. Loss: mean PDE residual² on the interior grid + $100\\times$ the mean
    squares of the initial value misfit, of $u_t$ at $t = 0$ and of the side values,
    `ng.Energy()`. With $c = 1$ the fast mode makes 1.5 periods in $[0, 1]$, which a
    [2, 20, 20, 1] net resolves; $c = 2$ (3 periods) would need a larger net and grid.

    - Model: [2, 20, 20, 1] tanh, key `seed` ($p = 501$).
    - Points: `interior_grid(28)` (784), the 30 points of `boundary_grid(29)` at $t = 0$
        (for both initial conditions) and the 60 at $x\\in\\{0, 1\\}$ (quick:
        $14\\times14$, 16, 32).
    - Error: the $100\\times100$ grid of $[0, 1]^2$.
    - Budget: 300 steps, tolerance $10^{-4}$ (quick: 100 steps, $10^{-2}$).

    **Arguments:**

    - `seed`: the initialisation seed.
    - `quick`: the small version.
    - `n`: override the interior grid side.

    ```python
    b = ng.problems.wave(quick=True)
    z = jnp.array([1.0, 0.5])
    assert jnp.isclose(b.solution(z), -0.5)  # sin(π/2) cos(π) + ½ sin(3π/2) cos(3π)
    ```
    """
    check_seed(seed, quick, "wave")
    n = pick(n, quick, (14, 28))
    domain, interior, at_t0, sides = _space_time_points(n)
    loss = (
        Residual(_wave, interior)
        + Residual(_wave_initial, at_t0, weight=100.0)
        + Residual(_wave_initial_velocity, at_t0, weight=100.0)
        + Residual(_zero_dirichlet, sides, weight=100.0)
    )
    problem = Problem(mlp(2, "scalar", 20, 2, seed), loss, Energy())
    return benchmark(
        name="wave",
        source="1+1D wave equation; cf. Wang, Yu & Perdikaris 2022 (who take c = 2 and modes 1, 4)",
        problem=problem,
        solution=_wave_solution,
        points=domain.grid(100),
        steps=100 if quick else 300,
        tol=1e-2 if quick else 1e-4,
        quick=quick,
        seed=seed,
    )


# ---------------------------------------------------------------------------------------
# Convection-diffusion with a boundary layer (seed 003)

EPSILON = 0.05


def _convection_diffusion_solution(x):
    x = x[0]
    e = EPSILON
    return x - (jnp.exp((x - 1) / e) - jnp.exp(-1 / e)) / (1 - jnp.exp(-1 / e))


def _convection_diffusion(u, x):
    return -EPSILON * laplacian(u, x) + derivative(u, x) - 1


def convection_diffusion(
    *,
    seed: int = 0,
    quick: bool = False,
    num_points: int | None = None,
    num_eval: int | None = None,
) -> Benchmark:
    """1D convection–diffusion with a boundary layer on minibatches (seed 003;
    examples/convection_diffusion.py).

    $-\\varepsilon u'' + u' = 1$ on $(0, 1)$, $u(0) = u(1) = 0$, $\\varepsilon = 0.05$;
    exact $u^*(x) = x - \\frac{e^{(x-1)/\\varepsilon} - e^{-1/\\varepsilon}}
    {1 - e^{-1/\\varepsilon}}$ (a layer of width $\\sim\\varepsilon$ at $x = 1$). Loss:
    mean PDE residual² over uniform points redrawn every step
    (`ng.Box(0, 1).sampler(200, every=1)`; solve with `key=b.key`) + the mean of
    $u(0)^2, u(1)^2$; `ng.Energy()`. Points have shape `(1,)`.

    - Model: [1, 20, 20, 1] tanh, key `seed` ($p = 481$).
    - Points: 200 per step + 2 (quick: 100 + 2).
    - Error: 2001 equispaced points of $[0, 1]$ (quick: 501).
    - Budget: 400 steps, tolerance $10^{-4}$ (quick: 200 steps, $10^{-3}$). The
        minimum-norm solve with a step-length search stalls here (the tanh features of
        a 1D net are nearly collinear); the default's damping search does not.

    **Arguments:**

    - `seed`: the initialisation seed (the minibatches' key is `b.key`).
    - `quick`: the small version.
    - `num_points`, `num_eval`: override the minibatch size and the evaluation points.

    ```python
    b = ng.problems.convection_diffusion(quick=True)
    assert jnp.isclose(b.solution(jnp.array([1.0])), 0.0)
    ```
    """
    check_seed(seed, quick, "convection_diffusion")
    m = pick(num_points, quick, (100, 200))
    n_eval = pick(num_eval, quick, (501, 2001))
    line = Box(0, 1)
    loss = Residual(_convection_diffusion, line.sampler(m, every=1)) + Residual(
        _zero_dirichlet, jnp.array([[0.0], [1.0]])
    )
    problem = Problem(mlp(1, "scalar", 20, 2, seed), loss, Energy())
    return benchmark(
        name="convection_diffusion",
        source="seed 003 (PINN on minibatches); examples/convection_diffusion.py",
        problem=problem,
        solution=_convection_diffusion_solution,
        points=line.grid(n_eval),
        steps=200 if quick else 400,
        tol=1e-3 if quick else 1e-4,
        quick=quick,
        seed=seed,
    )


# ---------------------------------------------------------------------------------------
# Kovasznay flow: steady incompressible Navier-Stokes, vector output (u, v, p)

REYNOLDS = 40.0
_LAMBDA = REYNOLDS / 2 - math.sqrt(REYNOLDS**2 / 4 + 4 * PI**2)


def _kovasznay_solution(x):
    """$(u, v, p)$ of Kovasznay's flow at one point."""
    lam = _LAMBDA
    e = jnp.exp(lam * x[0])
    a = 2 * PI * x[1]
    return jnp.stack(
        [
            1 - e * jnp.cos(a),
            lam / (2 * PI) * e * jnp.sin(a),
            0.5 * (1 - jnp.exp(2 * lam * x[0])),
        ]
    )


def _navier_stokes(u, x):
    """Momentum $(\\mathbf u\\cdot\\nabla)\\mathbf u + \\nabla p - \\Delta\\mathbf u/Re$ (2)
    and continuity $\\nabla\\cdot\\mathbf u$ (1) for the model's $(u, v, p)$."""
    value = u(x)
    jac = gradient(u, x)  # (3, 2): ∂(u, v, p)/∂(x, y)
    lap = laplacian(u, x)  # (3,)
    velocity = value[:2]
    momentum = jac[:2] @ velocity + jac[2] - lap[:2] / REYNOLDS
    continuity = jac[0, 0] + jac[1, 1]
    return jnp.concatenate([momentum, continuity[None]])


def _kovasznay_velocity(u, x):
    return u(x)[:2] - _kovasznay_solution(x)[:2]


def _kovasznay_pressure(u, x):
    return u(x)[2] - _kovasznay_solution(x)[2]


def kovasznay(*, seed: int = 0, quick: bool = False, n: int | None = None) -> Benchmark:
    """Kovasznay flow: steady incompressible Navier–Stokes in 2D, vector output.

    $(\\mathbf u\\cdot\\nabla)\\mathbf u + \\nabla p - \\frac1{Re}\\Delta\\mathbf u = 0$,
    $\\nabla\\cdot\\mathbf u = 0$ on $\\Omega = (-\\frac12, 1)\\times(-\\frac12, \\frac32)$,
    $Re = 40$; exact (Kovasznay 1948), with $\\lambda = \\frac{Re}2 - \\sqrt{Re^2/4 +
    4\\pi^2}$: $u = 1 - e^{\\lambda x}\\cos 2\\pi y$,
    $v = \\frac\\lambda{2\\pi}e^{\\lambda x}\\sin 2\\pi y$,
    $p = \\frac12(1 - e^{2\\lambda x})$. The model returns $(u, v, p)$, shape `(3,)`.
    Loss: the mean of the squared momentum and continuity residuals (3 per point) on the
    interior grid + the mean squared misfit of $(u, v)$ on the whole boundary (Dirichlet)
    + the mean squared misfit of $p$ on the outlet $x = 1$ (which fixes the pressure's
    constant, as DeepXDE's example), weights 1; `ng.Energy()`.

    - Model: `eqx.nn.MLP(2, 3, 20, 2, tanh, key=jax.random.key(seed))` ($p = 543$).
    - Points: `interior_grid(24)` (576 points, 1728 residuals), `boundary_grid(24)` (96
        points, 192 residuals), its 25 points on $x = 1$ (quick: $10\\times 10$, 40, 11).
    - Error: relative $L^2$ over all three components $(u, v, p)$ on the $100\\times100$
        grid of $\\Omega$.
    - Budget: 300 steps, tolerance $10^{-5}$ (quick: 100 steps, $10^{-2}$).

    **Arguments:**

    - `seed`: the initialisation seed.
    - `quick`: the small version.
    - `n`: override the interior grid side (also the boundary intervals per side).

    ```python
    b = ng.problems.kovasznay(quick=True)
    assert b.solution(b.points[0]).shape == (3,) == b.problem.model(b.points[0]).shape
    ```
    """
    check_seed(seed, quick, "kovasznay")
    n = pick(n, quick, (10, 24))
    domain = Box([-0.5, -0.5], [1.0, 1.5])
    edge = domain.boundary_grid(n)
    outlet = edge[edge[:, 0] == 1.0]
    loss = (
        Residual(_navier_stokes, domain.interior_grid(n))
        + Residual(_kovasznay_velocity, edge)
        + Residual(_kovasznay_pressure, outlet)
    )
    problem = Problem(mlp(2, 3, 20, 2, seed), loss, Energy())
    return benchmark(
        name="kovasznay",
        source="Kovasznay 1948; as the Kovasznay example of DeepXDE (Lu et al. 2021)",
        problem=problem,
        solution=_kovasznay_solution,
        points=domain.grid(100),
        steps=100 if quick else 300,
        tol=1e-2 if quick else 1e-5,
        quick=quick,
        seed=seed,
    )
