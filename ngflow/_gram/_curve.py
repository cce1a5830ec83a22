"""The Levenberg--Marquardt curve of one factorisation: every damped step at $O(p)$ each.

With an orthonormal basis $v_i$ that diagonalises the metric, $M = \\sum_i \\mu_i v_iv_i^\\top$
(from an SVD of $E$ or of its triangular factor, an eigendecomposition of $G$, of
$K = EE^\\top$ or of the Hessian), the damped natural gradient is

$$h(\\lambda) = (M + \\lambda I)^{-1}\\nabla_\\theta L = \\sum_i \\frac{a_i}{\\mu_i + \\lambda}\\,v_i,
\\qquad a_i = v_i^\\top\\nabla_\\theta L,$$

so once the factorisation is done every point of the curve costs one product with the
basis, and its norm and predicted reduction cost $O(k)$. $\\lambda\\to 0$ gives the
minimum-norm (Gauss--Newton) step, $\\lambda\\to\\infty$ the gradient direction
$\\nabla_\\theta L/\\lambda$ (projected on the span of the basis).
"""

import equinox as eqx
import jax
import jax.lax as lax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Bool, Float


class LMCurve(eqx.Module):
    """$h(\\lambda) = \\sum_i a_i/(\\mu_i + \\lambda_0 + \\lambda)\\,v_i$ on the kept components.

    **Fields:**

    - `shift`: $\\mu_i + \\lambda_0$, the denominators at $\\lambda = 0$ ($\\sigma_i^2$ of $E$,
        $|\\mu_i|$ for the Hessian; $\\lambda_0\\ge0$ is the solve's own damping floor).
    - `curvature`: $\\mu_i$ in the quadratic model $m(h) = L - \\nabla L^\\top h + \\frac12
        h^\\top M h$ whose decrease is the *predicted reduction* (for the Hessian the signed
        eigenvalues; else equal to $\\sigma_i^2$).
    - `coeffs`: $a_i = v_i^\\top\\nabla_\\theta L$.
    - `kept`: which components are kept (the others, below the cutoff, are dropped).
    - `basis`: the linear map $y\\mapsto\\sum_i y_iv_i$ (orthonormal columns $v_i$).

    Made by a Gram solve's `curve` (see [`ngflow.gram_curve`][]).

    ```python
    E = jax.random.normal(key, (40, 6))
    r = jax.random.normal(jax.random.key(1), (40,))
    curve, _ = ng.gram_curve(ng.Pinv(), E, E.T @ r, residual=r)
    lam = curve.damping_for_radius(0.1)  # λ with ‖h(λ)‖ = 0.1
    h = curve.direction(lam)
    curve.predicted(lam)  # ½‖r‖² − ½‖r − Eh‖², the Gauss–Newton model's decrease
    ```
    """

    shift: Float[Array, " k"]
    curvature: Float[Array, " k"]
    coeffs: Float[Array, " k"]
    kept: Bool[Array, " k"]
    basis: lx.AbstractLinearOperator

    def components(self, lam) -> Float[Array, " k"]:
        """$y_i(\\lambda) = a_i/(\\mu_i + \\lambda)$, the step in the basis."""
        denom = self.shift + lam
        safe = jnp.where(self.kept & (denom > 0), denom, 1.0)
        return jnp.where(self.kept & (denom > 0), self.coeffs / safe, 0.0)

    def norm(self, lam) -> Array:
        """$\\|h(\\lambda)\\|$."""
        return jnp.linalg.norm(self.components(lam))

    def predicted(self, lam) -> Array:
        """$\\nabla L^\\top h - \\frac12 h^\\top M h$: the decrease of the quadratic model."""
        y = self.components(lam)
        return jnp.sum(self.coeffs * y) - 0.5 * jnp.sum(self.curvature * y**2)

    def slope(self, lam) -> Array:
        """$\\nabla L^\\top h(\\lambda)$, the first-order decrease."""
        return jnp.sum(self.coeffs * self.components(lam))

    def direction(self, lam) -> Float[Array, " p"]:
        """$h(\\lambda)$ in parameters."""
        return self.basis.mv(self.components(lam))

    def damping_for_radius(self, radius, iterations: int = 60) -> Array:
        """The $\\lambda\\ge0$ with $\\|h(\\lambda)\\| = $ `radius` ($0$ if
        $\\|h(0)\\|\\le$ `radius`): Newton's method on $1/\\|h(\\lambda)\\| - 1/\\Delta$
        (Moré 1978; concave and increasing in $\\lambda$, so from $\\lambda = 0$ the
        iterates increase monotonically to the root). `radius` may be an array."""
        radius = jnp.asarray(radius, self.coeffs.dtype)
        tiny = jnp.finfo(self.coeffs.dtype).tiny
        a2 = jnp.where(self.kept, self.coeffs**2, 0.0)

        def newton(lam, r):
            denom = jnp.where(self.kept, self.shift + lam, 1.0)
            norm2 = jnp.sum(a2 / denom**2)
            norm = jnp.sqrt(norm2)
            # d‖h‖/dλ = −Σ a²/(μ+λ)³ / ‖h‖;  f = 1/‖h‖ − 1/r,  f' = −‖h‖'/‖h‖²
            dnorm = -jnp.sum(a2 / denom**3) / jnp.maximum(norm, tiny)
            f = 1.0 / jnp.maximum(norm, tiny) - 1.0 / r
            df = -dnorm / jnp.maximum(norm2, tiny)
            step = jnp.where(df > 0, f / jnp.maximum(df, tiny), 0.0)
            return jnp.maximum(lam - step, 0.0)

        def one(r):
            lam0 = jnp.zeros((), self.coeffs.dtype)
            lam = lax.fori_loop(0, iterations, lambda _, lam: newton(lam, r), lam0)
            return jnp.where(self.norm(0.0) <= r, 0.0, lam)

        return jnp.vectorize(one)(radius)

    @property
    def rank(self) -> Array:
        return jnp.sum(self.kept)

    @property
    def cond(self) -> Array:
        """$\\sqrt{\\max\\mu/\\min\\mu}$ over the kept components ($\\sigma_1/\\sigma_r$ of $E$)."""
        big = jnp.max(jnp.where(self.kept, self.shift, 0.0))
        small = jnp.min(jnp.where(self.kept, self.shift, jnp.inf))
        return jnp.sqrt(big / small)


def default_cutoff(shape, dtype) -> float:
    """Eigenvalues of a formed matrix ($G$, $K$, the Hessian) at most
    $\\varepsilon\\max(N, p)\\,\\mu_1$ are dropped: they are rounding."""
    return float(jnp.finfo(dtype).eps) * max(shape)


CURVE_RCOND = 1e-10
"""The default cutoff of the curve from an SVD of $E$: singular values at most
$10^{-10}\\sigma_1$ are dropped. The damping search, not this cutoff, keeps the steps
away from near-null directions; the cutoff only removes directions whose coefficients
$u_i^\\top r/\\sigma_i$ are decided by the rounding of $E$ (measured across the catalogue
in `benchmarks/suite.py`: see `ngflow.Pinv`)."""


def _kept(sigma, cutoff):
    return sigma > cutoff * jnp.max(sigma)


def svd_curve(matrix, gradient, cutoff, floor=0.0) -> LMCurve:
    """The curve from an SVD of $E$ (or of any $A$ with $A^\\top A = E^\\top E$, e.g. the
    triangular factor of a QR of a tall $E$): $\\mu_i = \\sigma_i^2$."""
    _, s, vt = jnp.linalg.svd(matrix, full_matrices=False)
    v = vt.T
    kept = _kept(s, cutoff)
    return LMCurve(
        shift=s**2 + floor,
        curvature=s**2,
        coeffs=v.T @ gradient,
        kept=kept,
        basis=lx.MatrixLinearOperator(v),
    )


def tall_factor(matrix):
    """$R$ of $E = QR$ when $E$ is tall ($N\\ge p$): the same singular values and right
    singular vectors as $E$. Measured (one core, float64, p = 500): QR then the SVD of
    $R$ 54–56 ms against 58–78 ms for the SVD of $E$ at $N$ = 600–1000, equal at
    $N = p$. Else $E$ itself."""
    n, p = matrix.shape
    if n >= p:
        return jnp.linalg.qr(matrix, mode="r")
    return matrix


def eigh_curve(matrix, gradient, cutoff, floor=0.0, *, absolute=False) -> LMCurve:
    """The curve from an eigendecomposition of a symmetric $p\\times p$ metric.

    For $G = E^\\top E$ negative round-off eigenvalues are clipped to 0. With
    `absolute=True` (the Hessian) the shifts are $|\\mu_i|$ and the model keeps the
    signed $\\mu_i$, so every damped step is a descent direction and its predicted
    reduction is that of the true quadratic model."""
    mu, v = jnp.linalg.eigh(matrix)
    size = jnp.abs(mu) if absolute else jnp.clip(mu, 0.0)
    # Eigenvalues of a formed matrix are accurate to about ε‖M‖: the cutoff is on μ.
    kept = _kept(size, cutoff)
    return LMCurve(
        shift=size + floor,
        curvature=mu if absolute else size,
        coeffs=v.T @ gradient,
        kept=kept,
        basis=lx.MatrixLinearOperator(v),
    )


class _SampleBasis(eqx.Module):
    """$y\\mapsto E^\\top U (y / \\sigma)$: the right singular vectors of $E$ from the
    eigenvectors $U$ of $K = EE^\\top$, applied without forming them."""

    rmatvec: object
    u: Float[Array, "N N"]
    inv_sigma: Float[Array, " N"]

    def __call__(self, y):
        return self.rmatvec(self.u @ (y * self.inv_sigma))


def sample_curve(
    k, rmatvec, p, gradient, cutoff, floor=0.0, *, residual=None, matvec=None
):
    """The curve from an eigendecomposition of $K = EE^\\top$ ($N\\times N$, wide $E$).

    $K = U\\Lambda U^\\top$ gives $E = U\\Sigma V^\\top$ with $V = E^\\top U\\Sigma^{-1}$, so
    $a = V^\\top\\nabla L = \\Sigma^{-1}U^\\top E\\nabla L$, or $\\Sigma U^\\top r$ when
    $\\nabla L = E^\\top r$ is known; the basis is applied as $E^\\top U(y/\\sigma)$."""
    lam, u = jnp.linalg.eigh(k)
    lam = jnp.clip(lam, 0.0)
    sigma = jnp.sqrt(lam)
    kept = _kept(lam, cutoff)  # K is formed: its eigenvalues are accurate to ε‖K‖
    inv_sigma = jnp.where(kept, 1.0 / jnp.where(kept, sigma, 1.0), 0.0)
    if residual is not None:
        coeffs = sigma * (u.T @ residual)
    else:
        coeffs = inv_sigma * (u.T @ matvec(gradient))
    n = k.shape[0]
    basis = lx.FunctionLinearOperator(
        _SampleBasis(rmatvec, u, inv_sigma),
        jax.ShapeDtypeStruct((n,), gradient.dtype),
    )
    del p
    return LMCurve(
        shift=lam + floor, curvature=lam, coeffs=coeffs, kept=kept, basis=basis
    )


def with_stats(curve: LMCurve, **extra):
    """`(curve, stats, ok)`: records `rank` and `cond` of the kept components; `ok` is
    whether the factorisation is finite."""
    ok = (
        jnp.all(jnp.isfinite(curve.shift))
        & jnp.all(jnp.isfinite(curve.coeffs))
        & jnp.all(jnp.isfinite(curve.curvature))
    )
    return curve, {"rank": curve.rank, "cond": curve.cond, **extra}, ok


def tangent_svd_curve(metric, gradient, rcond):
    """The curve of a tangent map from the SVD of $E$, or of $R$ for a tall $E = QR$."""
    cutoff = CURVE_RCOND if rcond is None else rcond
    return with_stats(svd_curve(tall_factor(metric.matrix), gradient, cutoff))
