"""Preconditioners for [`ngflow.CG`][]: $P^{-1}\\approx(G+\\mu I)^{-1}$ from one pass over
the rows of the tangent map $E$."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import lineax as lx
from jaxtyping import Array, Float


class Nystrom(eqx.Module):
    """Randomized Nyström preconditioner of rank $\\ell$ for [`ngflow.CG`][] (Frangella,
    Tropp & Udell 2023, *Randomized Nyström preconditioning*, SIAM J. Matrix Anal. Appl.).

    A sketch $Y = G\\Omega$ with an orthonormalised Gaussian $\\Omega\\in\\mathbb{R}^{p\\times\\ell}$
    gives the Nyström approximation $\\hat G = Y(\\Omega^\\top Y)^{+}Y^\\top = U\\hat\\Lambda U^\\top$
    (computed stably: shift $\\nu = \\sqrt p\\,\\varepsilon\\|Y\\|_F$, $Y_\\nu = Y+\\nu\\Omega$,
    $C = \\operatorname{chol}(\\Omega^\\top Y_\\nu)$, $B = Y_\\nu C^{-\\top} = U\\Sigma V^\\top$,
    $\\hat\\Lambda = \\max(0, \\Sigma^2-\\nu)$), and CG is preconditioned by

    $$P^{-1} = (\\hat\\lambda_\\ell+\\mu)\\,U(\\hat\\Lambda+\\mu I)^{-1}U^\\top + (I - UU^\\top),$$

    $\\mu$ the damping of the CG solve. The preconditioned system has condition number
    about $(\\hat\\lambda_\\ell + \\mu)/\\mu$: it converges in a few iterations once $\\ell$
    exceeds the number of eigenvalues of $G$ above $\\mu$. CG records this as
    `precond_min_eig` ($\\hat\\lambda_\\ell$; compare with `damping`).

    Cost per solve: the sketch ($\\ell$ products with $G$, accumulated as
    $\\sum_c E_c^\\top(E_c\\Omega)$ over chunks of points, about the cost of one Jacobian),
    a QR and a thin SVD of $p\\times\\ell$ matrices; $2p\\ell$ flops per CG iteration.
    Memory $2p\\ell$.

    **Arguments:**

    - `rank`: $\\ell\\ge1$ (capped at $p$). Default 100.
    - `seed`: seed of $\\Omega$ (the same sketch matrix at every step).

    ```python
    ng.CG(damping=1e-6, preconditioner=ng.Nystrom(rank=100), chunk=256)
    ```
    """

    rank: int = eqx.field(default=100, static=True)
    seed: int = eqx.field(default=0, static=True)

    def __check_init__(self):
        if (
            isinstance(self.rank, bool)
            or not isinstance(self.rank, int)
            or self.rank <= 0
        ):
            raise ValueError(
                f"Nystrom: `rank` must be a positive int, got {self.rank!r}."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"Nystrom: `seed` must be an int, got {self.seed!r}.")

    def omega(self, p: int, dtype) -> Float[Array, "p l"]:
        """The orthonormalised Gaussian test matrix $\\Omega$, $p\\times\\min(\\ell,p)$."""
        ell = min(self.rank, p)
        omega = jax.random.normal(jax.random.key(self.seed), (p, ell), dtype=dtype)
        return jnp.linalg.qr(omega)[0]

    def factor(self, sketch: Float[Array, "p l"], omega: Float[Array, "p l"]):
        """$(U, \\hat\\Lambda)$ of the Nyström approximation from $Y = G\\Omega$ (both
        zero, i.e. no preconditioning, if the factorisation is not finite)."""
        p = sketch.shape[0]
        nu = jnp.sqrt(p) * jnp.finfo(sketch.dtype).eps * jnp.linalg.norm(sketch)
        y = sketch + nu * omega
        core = omega.T @ y
        c = jnp.linalg.cholesky(0.5 * (core + core.T))
        b = jsl.solve_triangular(c, y.T, lower=True).T  # Y_ν C^{-T}
        u, s, _ = jnp.linalg.svd(b, full_matrices=False)
        lam = jnp.maximum(0.0, s**2 - nu)
        ok = jnp.all(jnp.isfinite(u)) & jnp.all(jnp.isfinite(lam))
        return jnp.where(ok, u, 0.0), jnp.where(ok, lam, 0.0)


def _dense(metric, chunk) -> bool:
    return chunk is None or metric.features is None


def gram_diagonal(metric, chunk: int | None) -> Float[Array, " p"]:
    """$\\operatorname{diag}(G) = \\sum_i E_{i\\cdot}^2$ of a tangent map, over chunks of
    `chunk` points (`None`: from the dense $E$)."""
    if _dense(metric, chunk):
        return jnp.sum(metric.matrix**2, axis=0)
    step = lambda acc, _, jac: (acc + jnp.sum(jac**2, axis=0), None)
    zero = jnp.zeros_like(metric.theta)
    return metric.scan_rows(chunk, step, zero)[0]


def gram_sketch(metric, omega, chunk: int | None, *, with_trace: bool = False):
    """$G\\Omega = \\sum_c E_c^\\top(E_c\\Omega)$ of a tangent map, over chunks of `chunk`
    points (`None`: from the dense $E$); with `with_trace`, also
    $\\operatorname{tr}G = \\|E\\|_F^2$ from the same pass."""
    if _dense(metric, chunk):
        e = metric.matrix
        out = e.T @ (e @ omega), jnp.sum(e**2)
    else:

        def step(acc, _, jac):
            return (acc[0] + jac.T @ (jac @ omega), acc[1] + jnp.sum(jac**2)), None

        zero = (jnp.zeros_like(omega), jnp.zeros((), omega.dtype))
        out = metric.scan_rows(chunk, step, zero)[0]
    return out if with_trace else out[0]


def nystrom_inverse(u, lam, mu) -> callable:
    """$v\\mapsto P^{-1}v$ for the Nyström factors $(U, \\hat\\Lambda)$ and damping $\\mu$,
    normalised as $P^{-1} = U(\\hat\\Lambda+\\mu I)^{-1}U^\\top + (\\hat\\lambda_\\ell+\\mu)^{-1}
    (I-UU^\\top)$ (the form of the `Nystrom` docstring divided by $\\hat\\lambda_\\ell+\\mu$:
    the same CG iterates, but a preconditioned spectrum of order one, so that
    `lineax.CG`'s absolute breakdown test does not fire on a system with small
    eigenvalues).

    With $\\mu = 0$ (undamped CG) the Nyström shift of the smallest kept eigenvalue is
    used instead, so that $P^{-1}$ stays positive definite; a direction with
    $\\hat\\lambda_i + \\mu = 0$ is left unscaled."""
    floor = jnp.where(mu > 0, mu, jnp.finfo(lam.dtype).eps * jnp.max(lam, initial=0.0))
    denom = lam + floor
    inv = jnp.where(denom > 0, 1.0 / jnp.where(denom > 0, denom, 1.0), 1.0)
    rest = inv[-1]  # 1 / (λ̂_ℓ + μ) on the complement of span U

    def apply(v):
        utv = u.T @ v
        return rest * v + u @ ((inv - rest) * utv)

    return apply


def diagonal_inverse(diag, mu) -> callable:
    """$v\\mapsto (\\operatorname{diag}(G)+\\mu)^{-1}v$ (zero entries left unscaled)."""
    d = diag + mu
    inv = jnp.where(d > 0, 1.0 / jnp.where(d > 0, d, 1.0), 1.0)
    return lambda v: inv * v


def scalar_inverse(operator, vector) -> callable:
    """$v\\mapsto v/s$ with $s = b^\\top Ab/b^\\top b$, the Rayleigh quotient of the
    operator at the right-hand side (one product). As a CG preconditioner it leaves the
    iterates unchanged but makes `lineax.CG`'s breakdown test ($p^\\top Ap \\le
    100\\,\\varepsilon n\\, r^\\top z$, absolute) relative to the scale of $A$: without it
    a system whose eigenvalues are all below ~$10^{-9}$ stops at once with NaN."""
    s = jnp.vdot(vector, operator.mv(vector)) / jnp.vdot(vector, vector)
    s = jnp.where(jnp.isfinite(s) & (s > 0), s, 1.0)
    return lambda v: v / s


def as_operator(apply, like) -> lx.AbstractLinearOperator:
    return lx.FunctionLinearOperator(
        apply, jax.eval_shape(lambda: like), lx.positive_semidefinite_tag
    )
