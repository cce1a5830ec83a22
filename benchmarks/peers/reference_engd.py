"""The reference ENGD algorithm of Müller & Zeinhofer, in plain JAX.

Follows ``engd_poisson_2d.py`` and ``ngrad/{gram,utility}.py`` of
github.com/MariusZeinhofer/Natural-Gradient-PINNs-ICML23 (the ICML 2023 code):

- Gram matrix ``G = J_Ω^T J_Ω / N_Ω + 4 J_∂^T J_∂ / N_∂``, where the rows of J_Ω are
  ∂θ Δu(x_i) and the rows of J_∂ are ∂θ u(b_j) (``gram_factory`` with
  ``model_laplace`` / ``model_identity`` and the mean-times-measure integrator);
- natural gradient ``jnp.linalg.lstsq(G, grad L)[0]`` (``nat_grad_factory``), replaced by
  zeros if it is NaN, as the reference does;
- grid line search over ``0.5**k``, k = 0..30 (``grid_line_search_factory`` with
  ``jnp.linspace(0, 30, 31)``): all 31 losses evaluated with ``jax.vmap``, the step with
  the smallest loss taken (no sufficient-decrease test);
- one ``jax.jit``'d step, looped from Python.

Differences from the reference code (none changes the iteration):

- per-point Jacobian rows come from ``vmap(grad)`` of the per-point Laplacian
  (forward-over-forward), instead of the reference's per-point outer products built
  from ``hessian`` of ``grad`` (``model_laplace``): the same matrix, much cheaper;
- flat parameter vector instead of a list of (W, b) pairs; the NaN fallback is a
  ``jnp.where`` inside the jitted step instead of a Python ``if`` on a traced value;
- initialisation and points: see :mod:`benchmarks.peers.problem` (same points and
  loss; the initial random numbers differ from ``ngrad.models.init_params``).
"""

import time

import jax
import jax.numpy as jnp

from . import problem as P


NAME = "reference ENGD (plain JAX)"
STEPS = 0.5 ** jnp.linspace(0.0, 30.0, 31)


def natural_gradient(theta):
    g = jax.grad(P.loss)(theta)
    G = P.energy_gram(theta)
    nat = jnp.linalg.lstsq(G, g)[0]
    return jnp.where(jnp.isnan(nat[0]), jnp.zeros_like(nat), nat)


@jax.jit
def engd_step(theta):
    d = natural_gradient(theta)
    losses = jax.vmap(lambda s: P.loss(theta - s * d))(STEPS)
    k = jnp.argmin(losses)
    return theta - STEPS[k] * d, losses[k], STEPS[k]


def run(seed: int, iters: int, *, record_at=P.DEFAULT_RECORD_AT, time_budget_s=None):
    theta0 = P.init_params(seed)
    jax.block_until_ready(engd_step(theta0))  # compile (one trace, same shapes)

    thetas, times, iterations, steps = [theta0], [0.0], [0], []
    theta, loss_val = theta0, None
    start = time.perf_counter()
    for k in range(1, iters + 1):
        t0 = time.perf_counter()
        theta, loss_val, step = jax.block_until_ready(engd_step(theta))
        times.append(time.perf_counter() - t0)
        thetas.append(theta)
        iterations.append(k)
        steps.append(step)
        if time_budget_s is not None and time.perf_counter() - start > time_budget_s:
            break
    settings = dict(
        gram="J_int^T J_int / N_int + 4 J_bdry^T J_bdry / N_bdry (vmap(grad) rows)",
        solve="jnp.linalg.lstsq(G, grad), NaN -> 0",
        line_search="argmin of loss over 0.5**k, k=0..30 (jax.vmap)",
        loop="one jax.jit step, Python loop",
        iters=iters,
        time_budget_s=time_budget_s,
    )
    return P.summarize(
        NAME,
        settings,
        f"jax {jax.__version__}",
        iterations,
        thetas,
        times,
        record_at=record_at,
        extra=dict(step_sizes=[float(s) for s in steps]),
    )
