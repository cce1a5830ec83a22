"""The toy manifolds of seed 003: linear and quadratic models in a user basis."""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._params import Frozen


def _as_theta(theta, p, who):
    if theta is None:
        return jnp.zeros(p)
    theta = jnp.asarray(theta)
    if theta.shape != (p,):
        raise ValueError(f"{who}: `theta` has shape {theta.shape}, expected ({p},).")
    if not jnp.issubdtype(theta.dtype, jnp.floating):
        theta = theta.astype(float)
    return theta


class LinearModel(eqx.Module):
    """$v_\\theta(x) = \\theta^\\top B\\,\\Phi(x)$: a linear manifold in the basis $\\Phi$ (seed 003).

    Its tangent vectors are $\\partial_i v = (B\\Phi)_i$, constant in $\\theta$; with an
    orthonormal $\\Phi$ the $L^2$ Gram matrix is $BB^\\top$.

    **Arguments:**

    - `basis`: $\\Phi$, a function `x -> (m,)` array.
    - `B`: the `(p, m)` mixing matrix (data, not parameters).
    - `theta`: the initial parameters, shape `(p,)` (default zeros).

    ```python
    basis = lambda x: jnp.stack([jnp.ones_like(x), jnp.sin(2 * jnp.pi * x), jnp.cos(2 * jnp.pi * x)])
    toy = ng.LinearModel(basis, jnp.eye(3))  # v_θ = θᵀBΦ, θ = 0, p = 3
    x = jnp.linspace(0, 1, 20)
    problem = ng.Problem(toy, ng.LeastSquares(jnp.sin(2 * jnp.pi * x), x), ng.L2(x))
    ```
    """

    theta: Float[Array, " p"]
    B: Frozen
    basis: Callable = eqx.field(static=True)

    def __init__(self, basis, B, theta=None):
        B = jnp.asarray(B, dtype=float)
        if B.ndim != 2:
            raise ValueError(
                f"LinearModel: `B` must be a (p, m) matrix, got {B.shape}."
            )
        self.basis = basis
        self.B = Frozen(B)
        self.theta = _as_theta(theta, B.shape[0], "LinearModel")

    def __call__(self, x):
        return self.theta @ (self.B.value @ self.basis(x))


class QuadraticModel(eqx.Module):
    """$v_\\theta(x) = (\\theta^\\top B + \\frac12\\theta^\\top Q\\theta)\\,\\Phi(x)$: a curved manifold (seed 003).

    $(\\theta^\\top Q\\theta)_k = \\sum_{ij}\\theta_i Q_{ijk}\\theta_j$; the tangent vectors
    $\\partial_i v = (B_i + (Q\\theta)_i)\\Phi$ move with $\\theta$.

    **Arguments:**

    - `basis`: $\\Phi$, a function `x -> (m,)` array.
    - `B`: shape `(p, m)`.
    - `Q`: shape `(p, p, m)`.
    - `theta`: the initial parameters, shape `(p,)` (default zeros).

    ```python
    basis = lambda x: jnp.stack([jnp.sin(jnp.pi * x), jnp.sin(2 * jnp.pi * x)])
    Q = jnp.zeros((2, 2, 2)).at[0, 0, 1].set(1.0)  # θ₀² feeds the second mode
    toy = ng.QuadraticModel(basis, jnp.eye(2), Q, theta=jnp.array([1.0, 0.0]))
    assert jnp.isclose(toy(0.25), jnp.sin(jnp.pi / 4) + 0.5)  # (1, ½)·Φ(¼)
    ```
    """

    theta: Float[Array, " p"]
    B: Frozen
    Q: Frozen
    basis: Callable = eqx.field(static=True)

    def __init__(self, basis, B, Q, theta=None):
        B = jnp.asarray(B, dtype=float)
        Q = jnp.asarray(Q, dtype=float)
        if B.ndim != 2:
            raise ValueError(f"QuadraticModel: `B` must be (p, m), got {B.shape}.")
        p, m = B.shape
        if Q.shape != (p, p, m):
            raise ValueError(
                f"QuadraticModel: `Q` has shape {Q.shape}, expected {(p, p, m)} for `B` "
                f"of shape {B.shape}."
            )
        self.basis = basis
        self.B = Frozen(B)
        self.Q = Frozen(Q)
        self.theta = _as_theta(theta, p, "QuadraticModel")

    def __call__(self, x):
        t = self.theta
        coeffs = t @ self.B.value + 0.5 * jnp.einsum("i,ijk,j->k", t, self.Q.value, t)
        return coeffs @ self.basis(x)
