"""PyPI ``randngd`` (Bioli, Marcati, Sangalli): ``NGDFull`` on the Poisson problem.

Wiring (all randngd's own code; see its README "Using randngd"):

- metric: ``randngd.metrics.gauss_newton([(r_int, X_int, 1/N_Ω), (r_bdry, X_∂, 4/N_∂)],
  theta, representation="full")``, i.e. ``G = J_Ω^T J_Ω / N_Ω + 4 J_∂^T J_∂ / N_∂``
  with ``r_int(θ, x) = Δu(x) + f(x)`` and ``r_bdry(θ, b) = u(b)``: exactly the reference
  ENGD Gram matrix (randngd builds the rows with per-point ``jacrev``, vmapped);
- preconditioner: ``randngd.NGDFull(metric, damping=...)``, which solves
  ``(G + μ I) d = ∇f`` by Cholesky;
- solver: ``randngd.ngd_solver(precond)``, i.e. randngd's
  ``PreconditionedGradientDescent`` with its default Armijo backtracking (factor 0.5,
  slope 0.1, first trial step 1, no minimum step);
- objective: randngd's convention ``f = Σ_t w_t/2 Σ_i r_t²``, i.e. ``f = loss / 2`` (so
  that ``G⁻¹∇f`` is the Gauss-Newton step and step 1 is natural).

Two configurations:

- ``"lm"``: ``damping=randngd.LevenbergMarquardt()`` (defaults: μ_init 1, μ ∈ [1e-10,
  1e10], η = 0.25, α = "accepted");
- ``"default"``: no ``damping`` argument, i.e. ``EigenvalueDamping()`` (μ = max(10 ε
  λ_max(G), (f/100)²), λ_max by 4 power iterations).

Driving: the Optimistix-style ``solver.init`` / ``solver.step`` are called directly
(``optx.minimise`` would hide the iterates). One *iteration* here is one accepted step,
i.e. one assembly + Cholesky solve of the Gram system; a jitted ``advance`` runs
``solver.step`` in a ``lax.while_loop`` until the number of accepted steps grows (the
Armijo trials in between only evaluate the loss). The first ``solver.step`` only
"accepts" the initial point and builds its direction: it is timed and counted in the
cumulative time (``time_to_1e-7_s``), not as an iteration. A search that has not accepted
a point after ``max_trials`` trials ends the run (``stalled=True``).
"""

import time
from importlib.metadata import version as _version

import jax
import jax.numpy as jnp

from . import problem as P


def _residual_int(theta, x):
    return jnp.reshape(P.laplacian(theta, x) + P.f(x), (1,))


def _residual_bdry(theta, x):
    return jnp.reshape(P.u(theta, x), (1,))


def make_solver(config: str):
    import randngd

    theta_sample = P.init_params(0)
    metric = randngd.metrics.gauss_newton(
        [
            (_residual_int, P.X_INT, 1.0 / P.N_INT),
            (_residual_bdry, P.X_BDRY, P.BOUNDARY_WEIGHT / P.N_BDRY),
        ],
        theta_sample,
        representation="full",
    )
    if config == "lm":
        damping = randngd.LevenbergMarquardt()
        precond = randngd.NGDFull(metric, damping=damping, key=0)
    elif config == "default":
        damping = None
        precond = randngd.NGDFull(metric, key=0)
    else:
        raise ValueError(config)
    solver = randngd.ngd_solver(precond)
    return solver, precond.damping


def _fn(theta, args):
    return 0.5 * P.loss(theta), None


def run(
    seed: int,
    iters: int,
    *,
    record_at=P.DEFAULT_RECORD_AT,
    time_budget_s=None,
    config: str = "lm",
    max_trials: int = 60,
):
    solver, damping = make_solver(config)
    opts, tags = {}, frozenset()
    f_struct = jax.ShapeDtypeStruct((), jnp.float64)

    @jax.jit
    def init(theta):
        return solver.init(_fn, theta, None, opts, f_struct, None, tags)

    @jax.jit
    def advance(theta, state):
        start_acc = state.num_accepted_steps

        def cond(c):
            _, s, n = c
            return (s.num_accepted_steps == start_acc) & (n < max_trials)

        def body(c):
            y, s, n = c
            y, s, _ = solver.step(_fn, y, None, opts, s, tags)
            return y, s, n + 1

        y, s, n = jax.lax.while_loop(cond, body, (theta, state, 0))
        return y, s, n

    theta0 = P.init_params(seed)
    # Compile and warm up (same shapes), then start over from theta0.
    y, s = theta0, init(theta0)
    for _ in range(2):
        y, s, _ = jax.block_until_ready(advance(y, s))

    t0 = time.perf_counter()
    state = jax.block_until_ready(init(theta0))
    y, state, _ = jax.block_until_ready(advance(theta0, state))  # accepts theta0
    setup = time.perf_counter() - t0

    thetas, times, iterations, trials, mus = [theta0], [setup], [0], [], []
    stalled = False
    start = time.perf_counter()
    for k in range(1, iters + 1):
        t0 = time.perf_counter()
        y, state, n = jax.block_until_ready(advance(y, state))
        dt = time.perf_counter() - t0
        if int(n) >= max_trials and int(state.num_accepted_steps) == k:
            stalled = True
            break
        thetas.append(y)
        times.append(dt)
        iterations.append(k)
        trials.append(int(n))
        mus.append(float(state.preconditioner_state.mu))
        if time_budget_s is not None and time.perf_counter() - start > time_budget_s:
            break
    settings = dict(
        config=config,
        preconditioner="randngd.NGDFull (dense G, Cholesky of G + mu I)",
        damping=repr(damping),
        metric="randngd.metrics.gauss_newton(representation='full'), weights 1/N_int, 4/N_bdry",
        solver="randngd.ngd_solver: BacktrackingArmijo(decrease_factor=0.5, slope=0.1, step_init=1, min_stepsize=None)",
        objective="loss / 2",
        iteration="one accepted step (one Gram assembly + Cholesky solve)",
        max_trials_per_iteration=max_trials,
        iters=iters,
        time_budget_s=time_budget_s,
    )
    name = "randngd NGDFull + " + (
        "LevenbergMarquardt" if config == "lm" else "default damping"
    )
    # Times: times[0] is setup (init + the first step accepting theta0), counted in the
    # cumulative time but not in the per-iteration statistics.
    out = P.summarize(
        name,
        settings,
        f"randngd {_version('randngd')}",
        iterations,
        thetas,
        times,
        record_at=record_at,
        extra=dict(
            trials_per_iteration=trials,
            mu_history=mus,
            stalled=stalled,
            setup_s=setup,
        ),
    )
    return out


def run_lm(seed, iters, **kw):
    return run(seed, iters, config="lm", **kw)


def run_default(seed, iters, **kw):
    return run(seed, iters, config="default", **kw)
