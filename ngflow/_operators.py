"""Differential operators on a model function, at one point.

Each takes the function `u` (any callable on one point, e.g. the model) and the point
`x` (shape `(d,)`, or `()` in one dimension) and uses forward mode (`jax.jvp`), so that
inside a residual they cost a few forward passes per point. Vectorise over points with
`jax.vmap` — never differentiate a whole batch of points with `jax.jacfwd` at once.

```python
def poisson(u, x):
    return -ng.laplacian(u, x) - f(x)

def heat(u, x):  # x = (t, x1)
    return ng.time_derivative(u, x) - 0.25 * ng.laplacian(u, x, axes=(1,))
```
"""

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def _unit(x, i):
    if x.ndim == 0:
        if i != 0:
            raise ValueError(f"axis {i} out of range for a scalar point")
        return jnp.ones_like(x)
    return jnp.zeros_like(x).at[i].set(1)


def _point(x):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(float)
    if x.ndim > 1:
        raise ValueError(f"a point must have shape (d,) or (), got {x.shape}")
    return x


def directional(u: Callable, x, v) -> Array:
    """$\\nabla u(x)\\cdot v$, one forward pass.

    ```python
    u = lambda x: x[0] ** 2 * x[1]
    assert jnp.isclose(ng.directional(u, jnp.array([1.0, 3.0]), jnp.array([1.0, 1.0])), 7.0)  # 6 + 1
    ```
    """
    return jax.jvp(u, (_point(x),), (jnp.asarray(v, dtype=jnp.asarray(x).dtype),))[1]


def derivative(u: Callable, x, i: int = 0) -> Array:
    """$\\partial u/\\partial x_i$ at `x`.

    ```python
    u = lambda x: x[0] ** 2 * x[1]
    assert jnp.isclose(ng.derivative(u, jnp.array([1.0, 3.0]), 0), 6.0)  # 2x₀x₁
    ng.Residual(lambda u, x: ng.derivative(u, x, 1) - 1.0, points)  # ∂u/∂x₁ = 1
    ```
    """
    x = _point(x)
    return jax.jvp(u, (x,), (_unit(x, i),))[1]


def time_derivative(u: Callable, x, axis: int = 0) -> Array:
    """$\\partial_t u$, with time the coordinate `axis` of the point (default the first).

    ```python
    heat = ng.Residual(lambda u, x: ng.time_derivative(u, x) - 0.25 * ng.laplacian(u, x, axes=[1]),
                       points)  # u_t = ¼u_xx with x = (t, x)
    ```
    """
    return derivative(u, x, axis)


def second_derivative(u: Callable, x, i: int, j: int) -> Array:
    """$\\partial^2 u/\\partial x_i\\partial x_j$ at `x` (forward over forward).

    ```python
    u = lambda x: x[0] ** 2 * x[1]
    assert jnp.isclose(ng.second_derivative(u, jnp.array([1.0, 3.0]), 0, 1), 2.0)  # 2x₀
    ```
    """
    x = _point(x)
    return jax.jvp(lambda y: derivative(u, y, j), (x,), (_unit(x, i),))[1]


def gradient(u: Callable, x) -> Float[Array, "... d"]:
    """$\\nabla_x u$ at `x` (shape `(d,)`, or `()` in one dimension); forward mode.

    ```python
    u = lambda x: x[0] ** 2 * x[1]
    assert jnp.allclose(ng.gradient(u, jnp.array([1.0, 3.0])), jnp.array([6.0, 1.0]))  # (2x₀x₁, x₀²)
    ```
    """
    return jax.jacfwd(u)(_point(x))


def hessian(u: Callable, x) -> Float[Array, "d d"]:
    """$\\nabla_x^2 u$ at `x`; forward over forward.

    ```python
    u = lambda x: x[0] ** 2 * x[1]
    assert jnp.allclose(ng.hessian(u, jnp.array([1.0, 3.0])), jnp.array([[6.0, 2.0], [2.0, 0.0]]))
    ```
    """
    return jax.jacfwd(jax.jacfwd(u))(_point(x))


def laplacian(u: Callable, x, axes: Sequence[int] | None = None) -> Array:
    """$\\Delta u = \\sum_i \\partial^2 u/\\partial x_i^2$ at `x`, over `axes` (default all).

    Each term is one forward-over-forward pass along $e_i$ (no Hessian is formed).

    ```python
    u = lambda x: x[0] ** 2 * x[1]
    assert jnp.isclose(ng.laplacian(u, jnp.array([1.0, 3.0])), 6.0)  # 2x₁ + 0
    interior = ng.Residual(lambda u, x: ng.laplacian(u, x) + f(x), points)  # −Δu = f
    ```
    """
    x = _point(x)
    d = 1 if x.ndim == 0 else x.shape[0]
    axes = tuple(range(d)) if axes is None else tuple(axes)
    if not axes:
        raise ValueError("laplacian: `axes` is empty")

    def second(i):
        e = _unit(x, i)
        return jax.jvp(lambda y: jax.jvp(u, (y,), (e,))[1], (x,), (e,))[1]

    return sum(second(i) for i in axes)


def divergence(v: Callable, x) -> Array:
    """$\\nabla\\cdot v = \\sum_i \\partial v_i/\\partial x_i$ for a vector field `v(x) -> (d,)`.

    ```python
    v = lambda x: jnp.stack([x[0] ** 2, x[0] * x[1]])
    assert jnp.isclose(ng.divergence(v, jnp.array([1.0, 3.0])), 3.0)  # 2x₀ + x₀
    flux = ng.Residual(lambda u, x: ng.divergence(lambda y: ng.gradient(u, y), x) + f(x), points)
    ```
    """
    x = _point(x)
    d = 1 if x.ndim == 0 else x.shape[0]
    return sum(jnp.ravel(derivative(v, x, i))[i] for i in range(d))
