"""First-order and quasi-Newton baselines from ``optax`` on ``problem.loss``.

- ``run_adam``: ``optax.adam(1e-3)`` (optax defaults otherwise: b1 0.9, b2 0.999,
  eps 1e-8);
- ``run_lbfgs``: ``optax.lbfgs()`` with its defaults (memory 10,
  ``scale_by_zoom_linesearch(max_linesearch_steps=20)``), driven as the optax docs
  show: ``optax.value_and_grad_from_state(loss)`` and
  ``opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)``.

Both run one ``jax.jit``'d update per Python iteration. With ``time_budget_s`` they run
until that many seconds of (post-compilation) wall time are spent, ``iters`` being
ignored unless ``max_iters`` is given; without it they run ``iters`` iterations.
Parameters are kept every iteration up to 1 000, every 10th up to 10 000 and every 100th
after that (plus the last and every ``record_at`` iteration) and evaluated afterwards.
"""

import time
from importlib.metadata import version as _version

import jax
import optax

from . import problem as P


def _keep(k: int, record_at) -> bool:
    if k in record_at:
        return True
    if k <= 1000:
        return True
    if k <= 10000:
        return k % 10 == 0
    return k % 100 == 0


def _drive(
    name, step, state0, seed, iters, record_at, time_budget_s, max_iters, settings
):
    theta0 = P.init_params(seed)
    y, s = theta0, state0(theta0)
    for _ in range(2):  # compile and warm up
        y, s, _ = jax.block_until_ready(step(y, s))

    state = jax.block_until_ready(state0(theta0))
    y = theta0
    thetas, times, iterations = [theta0], [0.0], [0]
    pending = 0.0  # time of iterations whose parameters are not kept
    limit = max_iters if max_iters is not None else (None if time_budget_s else iters)
    record_at = set(int(r) for r in record_at)
    start = time.perf_counter()
    k, value = 0, None
    while True:
        if limit is not None and k >= limit:
            break
        if time_budget_s is not None and time.perf_counter() - start >= time_budget_s:
            break
        t0 = time.perf_counter()
        y, state, value = jax.block_until_ready(step(y, state))
        dt = time.perf_counter() - t0
        k += 1
        pending += dt
        if _keep(k, record_at):
            thetas.append(y)
            times.append(pending)
            iterations.append(k)
            pending = 0.0
    if iterations[-1] != k:
        thetas.append(y)
        times.append(pending)
        iterations.append(k)
    # Per-iteration median: the kept entries are single iterations up to k = 1000.
    single = [
        t
        for t, i, j in zip(times[1:], iterations[1:], iterations[:-1], strict=True)
        if i - j == 1
    ]
    out = P.summarize(
        name,
        dict(settings, iters=iters, time_budget_s=time_budget_s, max_iters=max_iters),
        f"optax {_version('optax')}",
        iterations,
        thetas,
        times,
        record_at=sorted(record_at),
    )
    if single:
        import numpy as np

        out["ms_per_iter_median"] = float(np.median(single) * 1e3)
    out["ms_per_iter_mean"] = out["total_time_s"] / max(k, 1) * 1e3
    return out


def run_adam(
    seed: int,
    iters: int,
    *,
    record_at=P.DEFAULT_RECORD_AT,
    time_budget_s=None,
    max_iters=None,
    learning_rate: float = 1e-3,
):
    opt = optax.adam(learning_rate)

    @jax.jit
    def step(theta, state):
        value, grad = jax.value_and_grad(P.loss)(theta)
        updates, state = opt.update(grad, state, theta)
        return optax.apply_updates(theta, updates), state, value

    settings = dict(optimizer=f"optax.adam(learning_rate={learning_rate})")
    return _drive(
        "optax Adam",
        step,
        jax.jit(opt.init),
        seed,
        iters,
        record_at,
        time_budget_s,
        max_iters,
        settings,
    )


def run_lbfgs(
    seed: int,
    iters: int,
    *,
    record_at=P.DEFAULT_RECORD_AT,
    time_budget_s=None,
    max_iters=None,
):
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(P.loss)

    @jax.jit
    def step(theta, state):
        value, grad = value_and_grad(theta, state=state)
        updates, state = opt.update(
            grad, state, theta, value=value, grad=grad, value_fn=P.loss
        )
        return optax.apply_updates(theta, updates), state, value

    settings = dict(
        optimizer="optax.lbfgs() defaults (memory_size=10, scale_by_zoom_linesearch(max_linesearch_steps=20))"
    )
    return _drive(
        "optax L-BFGS",
        step,
        jax.jit(opt.init),
        seed,
        iters,
        record_at,
        time_budget_s,
        max_iters,
        settings,
    )


def run(seed: int, iters: int, *, record_at=P.DEFAULT_RECORD_AT, time_budget_s=None):
    """L-BFGS (the stronger of the two); see :func:`run_adam` for Adam."""
    return run_lbfgs(seed, iters, record_at=record_at, time_budget_s=time_budget_s)
