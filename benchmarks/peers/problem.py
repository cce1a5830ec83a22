"""The reference ENGD Poisson problem (Müller & Zeinhofer, ICML 2023), in plain JAX.

    -Δu = f on (0, 1)^2,  u = 0 on the boundary,
    f(x, y) = 2π² sin(πx) sin(πy),  exact solution u*(x, y) = sin(πx) sin(πy).

Everything is float64 (importing this module enables ``jax_enable_x64``).

Network: MLP [2, 32, 1], tanh, ``u(x) = W2 @ tanh(W1 @ x + b1) + b2`` (scalar), p = 129.
Flat parameter layout (``theta``, shape (129,), float64), in this order:

    theta[0:64]    W1, shape (32, 2), row-major: W1[i, j] = theta[2 * i + j]
    theta[64:96]   b1, shape (32,)
    theta[96:128]  W2, shape (1, 32)
    theta[128:129] b2, shape (1,)

This is also the order of ``jax.tree.leaves`` of an ``eqx.nn.Linear(2, 32)`` /
``eqx.nn.Linear(32, 1)`` pair (weight before bias, weights stored (out, in)), so
``jax.flatten_util.ravel_pytree`` of such a network gives the same vector.

Initialisation (:func:`init_params`): ``k1, k2, k3, k4 = jax.random.split(
jax.random.key(seed), 4)``; W1 = 0.1 * N(0, 1) from k1, b1 from k2, W2 from k3, b2 from
k4 (``jax.random.normal`` with the shapes above, float64). Note: the reference code
(``ngrad/models.py``) splits the key per layer and then into (weight, bias); the scale
0.1 for weights *and* biases is the same, the random numbers are not.

Points (exactly those of the reference's ``DeterministicIntegrator(Square(1.), 30)`` and
``DeterministicIntegrator(SquareBoundary(1.), 30)``):

- interior: the 28 x 28 grid of (i/29, j/29), i, j = 1..28 (784 points);
- boundary: k/29, k = 0..28 on each side, walked counter-clockwise from (0, 0), so every
  corner appears once (4 * 29 = 116 points).

Loss (no 1/2): ``mean_i (Δu(x_i) + f(x_i))² + 4 * mean_j u(b_j)²`` (the 4 is the
boundary length, the reference's ``measure()``).

Error: relative L² error ``||u - u*|| / ||u*||`` over the 100 x 100 grid
``linspace(0, 1, 100)²`` (10 000 points, equal weights).
"""

import jax


jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402


WIDTH = 32
NUM_PARAMS = 2 * WIDTH + WIDTH + WIDTH + 1  # 129
N_GRID = 29  # spacing 1/29 (the reference's N = 30 points per unit length)
BOUNDARY_WEIGHT = 4.0  # the reference's SquareBoundary(1.).measure()


# ---------------------------------------------------------------- network and init


def init_params(seed: int) -> jax.Array:
    """Flat float64 parameter vector of the [2, 32, 1] tanh MLP (layout: module doc)."""
    k1, k2, k3, k4 = jax.random.split(jax.random.key(seed), 4)
    f64 = jnp.float64
    W1 = 0.1 * jax.random.normal(k1, (WIDTH, 2), dtype=f64)
    b1 = 0.1 * jax.random.normal(k2, (WIDTH,), dtype=f64)
    W2 = 0.1 * jax.random.normal(k3, (1, WIDTH), dtype=f64)
    b2 = 0.1 * jax.random.normal(k4, (1,), dtype=f64)
    return jnp.concatenate([W1.ravel(), b1, W2.ravel(), b2])


def unflatten(theta):
    """(W1 (32, 2), b1 (32,), W2 (1, 32), b2 (1,)) from the flat vector."""
    W1 = theta[: 2 * WIDTH].reshape(WIDTH, 2)
    b1 = theta[2 * WIDTH : 3 * WIDTH]
    W2 = theta[3 * WIDTH : 4 * WIDTH].reshape(1, WIDTH)
    b2 = theta[4 * WIDTH :]
    return W1, b1, W2, b2


def u(theta, x):
    """The network at one point x (shape (2,)); a scalar."""
    W1, b1, W2, b2 = unflatten(theta)
    return (W2 @ jnp.tanh(W1 @ x + b1) + b2)[0]


def laplacian(theta, x):
    """Δ_x u(theta, x) at one point, forward-over-forward (two JVPs per direction)."""

    def second(e):
        du = lambda y: jax.jvp(lambda z: u(theta, z), (y,), (e,))[1]
        return jax.jvp(du, (x,), (e,))[1]

    eye = jnp.eye(2, dtype=x.dtype)
    return second(eye[0]) + second(eye[1])


def u_star(x):
    return jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])


def f(x):
    return 2.0 * jnp.pi**2 * u_star(x)


# ---------------------------------------------------------------- points


def interior_points() -> jax.Array:
    g = np.arange(1, N_GRID) / N_GRID  # 1/29 .. 28/29
    X, Y = np.meshgrid(g, g, indexing="ij")
    return jnp.asarray(np.stack([X.ravel(), Y.ravel()], axis=1))  # (784, 2)


def boundary_points() -> jax.Array:
    t = np.arange(N_GRID) / N_GRID  # 0 .. 28/29
    zero, one = np.zeros(N_GRID), np.ones(N_GRID)
    sides = [
        (t, zero),  # bottom, left to right, starts at (0, 0)
        (one, t),  # right, bottom to top, starts at (1, 0)
        (1.0 - t, one),  # top, right to left, starts at (1, 1)
        (zero, 1.0 - t),  # left, top to bottom, starts at (0, 1)
    ]
    return jnp.asarray(np.concatenate([np.stack(s, axis=1) for s in sides]))  # (116, 2)


X_INT = interior_points()
X_BDRY = boundary_points()
N_INT = X_INT.shape[0]
N_BDRY = X_BDRY.shape[0]
F_INT = jax.vmap(f)(X_INT)


# ---------------------------------------------------------------- loss and residuals


def interior_residuals(theta):
    """(Δu + f)(x_i), shape (784,). Note -Δu = f, so this is minus the PDE residual."""
    return jax.vmap(lambda x: laplacian(theta, x))(X_INT) + F_INT


def boundary_values(theta):
    return jax.vmap(lambda x: u(theta, x))(X_BDRY)


def loss(theta):
    r_in = interior_residuals(theta)
    r_bd = boundary_values(theta)
    return jnp.mean(r_in**2) + BOUNDARY_WEIGHT * jnp.mean(r_bd**2)


def scaled_residual(theta):
    """r = [ (Δu+f)(x_i)/sqrt(N_Ω) ; 2 u(b_j)/sqrt(N_∂) ], so ||r||² = loss."""
    return jnp.concatenate(
        [
            interior_residuals(theta) / jnp.sqrt(N_INT),
            jnp.sqrt(BOUNDARY_WEIGHT) * boundary_values(theta) / jnp.sqrt(N_BDRY),
        ]
    )


def interior_jacobian(theta):
    """∂(Δu(x_i))/∂θ per point with vmap(grad): shape (784, 129)."""
    return jax.vmap(jax.grad(laplacian), in_axes=(None, 0))(theta, X_INT)


def boundary_jacobian(theta):
    """∂u(b_j)/∂θ per point with vmap(grad): shape (116, 129)."""
    return jax.vmap(jax.grad(u), in_axes=(None, 0))(theta, X_BDRY)


def scaled_jacobian(theta):
    """Jacobian of :func:`scaled_residual`, shape (900, 129), built per point."""
    return jnp.concatenate(
        [
            interior_jacobian(theta) / jnp.sqrt(N_INT),
            jnp.sqrt(BOUNDARY_WEIGHT) * boundary_jacobian(theta) / jnp.sqrt(N_BDRY),
        ]
    )


def energy_gram(theta):
    """G = J_Ω^T J_Ω / N_Ω + 4 J_∂^T J_∂ / N_∂ (the reference ENGD Gram matrix)."""
    J_in = interior_jacobian(theta)
    J_bd = boundary_jacobian(theta)
    return J_in.T @ J_in / N_INT + BOUNDARY_WEIGHT * (J_bd.T @ J_bd) / N_BDRY


# ---------------------------------------------------------------- error


_g = np.linspace(0.0, 1.0, 100)
_EX, _EY = np.meshgrid(_g, _g, indexing="ij")
X_EVAL = jnp.asarray(np.stack([_EX.ravel(), _EY.ravel()], axis=1))  # (10000, 2)
U_STAR_EVAL = jax.vmap(u_star)(X_EVAL)


def _rel_l2(theta):
    diff = jax.vmap(lambda x: u(theta, x))(X_EVAL) - U_STAR_EVAL
    return jnp.sqrt(jnp.sum(diff**2) / jnp.sum(U_STAR_EVAL**2))


rel_l2_error = jax.jit(_rel_l2)
_rel_l2_many = jax.jit(jax.vmap(_rel_l2))


def rel_l2_errors(thetas, chunk: int = 256) -> np.ndarray:
    """Relative L² errors of a stack of parameter vectors, shape (K, 129) -> (K,)."""
    thetas = jnp.asarray(thetas)
    out = []
    for s in range(0, thetas.shape[0], chunk):
        block = thetas[s : s + chunk]
        pad = chunk - block.shape[0]  # fixed shape: one compilation
        if pad:
            block = jnp.concatenate([block, jnp.repeat(block[-1:], pad, axis=0)])
        out.append(np.asarray(_rel_l2_many(block))[: chunk - pad])
    return np.concatenate(out) if out else np.zeros((0,))


# ---------------------------------------------------------------- helpers for runners


DEFAULT_RECORD_AT = (0, 50, 100, 200)
TARGET_ERROR = 1e-7


def summarize(
    name,
    settings,
    version,
    iterations,
    thetas,
    step_times,
    *,
    record_at=DEFAULT_RECORD_AT,
    final_loss=None,
    extra=None,
):
    """Build the common result dict of a runner.

    ``iterations[k]`` is the iteration number of ``thetas[k]`` (iteration 0 = the
    initial parameters); ``step_times[k]`` is the wall time in seconds spent producing
    ``thetas[k]`` from the previous one (0 for iteration 0), measured after compilation
    and excluding error evaluation. The errors are evaluated here, outside any timing.
    """
    iterations = [int(i) for i in iterations]
    errs = rel_l2_errors(jnp.stack([jnp.asarray(t) for t in thetas]))
    cum = np.cumsum(np.asarray(step_times, dtype=float))
    by_iter = dict(zip(iterations, errs.tolist(), strict=True))
    errors = {int(k): by_iter[int(k)] for k in record_at if int(k) in by_iter}

    def first_hit(tol):
        hit = np.nonzero(errs <= tol)[0]
        if not hit.size:
            return None, None
        return float(cum[hit[0]]), iterations[hit[0]]

    time_to, iters_to = first_hit(TARGET_ERROR)
    time_to_6, iters_to_6 = first_hit(1e-6)
    per_step = np.asarray(step_times[1:], dtype=float)
    if final_loss is None:
        final_loss = float(jax.jit(loss)(jnp.asarray(thetas[-1])))
    out = dict(
        name=name,
        version=version,
        settings=settings,
        errors=errors,
        error_history=errs.tolist(),
        history_iterations=iterations,
        final_error=float(errs[-1]),
        final_loss=float(final_loss),
        iterations_done=iterations[-1],
        ms_per_iter_median=float(np.median(per_step) * 1e3) if per_step.size else None,
        ms_per_iter_min=float(np.min(per_step) * 1e3) if per_step.size else None,
        ms_per_iter_mean=float(np.mean(per_step) * 1e3) if per_step.size else None,
        total_time_s=float(cum[-1]),
        **{
            "time_to_1e-7_s": time_to,
            "iters_to_1e-7": iters_to,
            "time_to_1e-6_s": time_to_6,
            "iters_to_1e-6": iters_to_6,
        },
    )
    if extra:
        out.update(extra)
    return out


def timed(fn, *args):
    """(result, seconds) of fn(*args), blocking until the result is ready."""
    import time

    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - t0
