from collections.abc import Callable

import equinox as eqx
import jax
import jax.lax as lax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
from jaxtyping import PyTree

from . import _progress
from ._domains import has_samplers, resample
from ._flows import AbstractFlow, FlowSolution, solve_flow
from ._loop import check_monitors, observe, report_end, Timer
from ._methods import AbstractMethod
from ._params import FlatModel
from ._problem import Problem
from ._results import RESULTS
from ._solution import Solution


def _fill(shape_dtype):
    dtype = shape_dtype.dtype
    if jnp.issubdtype(dtype, jnp.inexact):
        return jnp.full(shape_dtype.shape, jnp.nan, dtype)
    if jnp.issubdtype(dtype, jnp.bool_):
        return jnp.zeros(shape_dtype.shape, dtype)
    return jnp.full(shape_dtype.shape, -1, dtype)


def _loop(problem, method, monitors, steps, meter, save_params, handle, key):
    """One discrete run as a `lax.scan` (traced inside `jit`, and `vmap` for ensembles)."""
    flat = FlatModel(problem.model)
    theta0 = flat.theta0
    sampled = has_samplers(problem)

    def problem_at(k):
        return resample(problem, key, k) if sampled else problem

    state0 = method.init(problem_at(0), flat, theta0)

    def do_step(theta, state, k):
        theta_next, state_next, info = method.update(problem_at(k), flat, theta, state)
        record = {
            "loss": info.loss,
            "grad_norm": info.grad_norm,
            "step_size": info.step_size,
            "stats": info.stats,
            "monitors": observe(monitors, flat.model_at(theta)),
            "params": theta if save_params else None,
        }
        return theta_next, state_next, info.result, record

    record_shape = eqx.filter_eval_shape(do_step, theta0, state0, 0)[3]

    def skip(theta, state, k):
        return theta, state, RESULTS.successful, jtu.tree_map(_fill, record_shape)

    every = max(1, steps // 200)

    def body(carry, k):
        theta, state, result, taken = carry
        go = result == RESULTS.successful
        theta, state, step_result, record = lax.cond(go, do_step, skip, theta, state, k)
        result = RESULTS.where(go, step_result, result)
        taken = taken + (go & (step_result == RESULTS.successful))
        # the condition is on k only, so an ensemble's members agree
        _progress.report(meter, handle, k, record["loss"], every, steps)
        return (theta, state, result, taken), record

    init = (theta0, state0, RESULTS.successful, jnp.array(0))
    (theta, _, result, taken), records = lax.scan(body, init, jnp.arange(steps))

    ok = result == RESULTS.successful
    model = flat.model_at(theta)
    final_loss = jnp.where(ok, problem_at(steps).loss(model), jnp.nan)
    final_monitors = jtu.tree_map(
        lambda v: jnp.where(ok, v, jnp.nan), observe(monitors, model)
    )
    losses = jnp.concatenate([records["loss"], final_loss[None]])
    monitor_series = {
        name: jnp.concatenate([records["monitors"][name], final_monitors[name][None]])
        for name in monitors
    }
    params = None
    if save_params:
        last = jnp.where(ok, theta, jnp.nan)
        params = jnp.concatenate([records["params"], last[None]])
    return dict(
        model=model,
        losses=losses,
        grad_norms=records["grad_norm"],
        step_sizes=records["step_size"],
        monitors=monitor_series,
        stats=records["stats"],
        params=params,
        result=result,
        num_steps=taken,
    )


_run = eqx.filter_jit(_loop)


@eqx.filter_jit
def _run_over(
    problem,
    method,
    over,
    keys,
    monitors,
    steps,
    meter,
    save_params,
    handle,
    vmap,
    keys_batched,
):
    """An ensemble: `_loop` over the members of `over` and/or a batch of keys, as one
    `vmap` or (`vmap=False`) one after another in one program (`lax.map`)."""
    over_dyn, over_static = eqx.partition(over, eqx.is_array)
    statics = []

    def one(x_dyn, key):
        x = eqx.combine(x_dyn, over_static)
        p = problem if isinstance(problem, Problem) else problem(x)
        m = method if isinstance(method, AbstractMethod) else method(x)
        _check_member(p, m)
        out = _loop(p, m, monitors, steps, meter, save_params, handle, key)
        dyn, static = eqx.partition(out, eqx.is_array)
        statics.append(static)
        return dyn

    if vmap:
        dyn = jax.vmap(one, in_axes=(0, 0 if keys_batched else None))(over_dyn, keys)
    elif keys_batched:
        dyn = lax.map(lambda a: one(*a), (over_dyn, keys))
    else:
        dyn = lax.map(lambda x: one(x, keys), over_dyn)
    return eqx.combine(dyn, statics[0])


def _check_member(problem, method):
    if not isinstance(problem, Problem):
        raise TypeError(
            "solve: `problem` must be an ng.Problem (with `over=`: or a function of one "
            f"member returning one), got {type(problem).__name__}."
        )
    if not isinstance(method, AbstractMethod):
        raise TypeError(f"solve: {_not_a_method(method)}")


def _batch_of(over, key) -> int | None:
    """The ensemble size given by `over` and/or a batch of keys (`None`: one run)."""
    sizes = {}
    if over is not None:
        leaves = [a for a in jtu.tree_leaves(over) if eqx.is_array_like(a)]
        if not leaves or any(jnp.ndim(a) == 0 for a in leaves):
            raise ValueError(
                "solve: `over` must be a pytree of arrays with a leading batch axis (one "
                "entry per member), e.g. jnp.array([0.1, 0.2]) or jax.random.split(key, 8)."
            )
        sizes["over"] = {int(jnp.shape(a)[0]) for a in leaves}
    if key is not None and _is_key_batch(key):
        sizes["key"] = {int(key.shape[0])}
    found = set().union(*sizes.values()) if sizes else set()
    if len(found) > 1:
        raise ValueError(
            f"solve: the batch axes of `over` and `key` differ: {sizes}; every leaf of "
            "`over` and a batch of keys must have the same leading size."
        )
    return found.pop() if found else None


def _is_key_batch(key) -> bool:
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key.ndim == 1
    return key.ndim == 2  # raw uint32 keys, shape (B, 2)


def solve(
    problem: "Problem | Callable[[PyTree], Problem]",
    method: "AbstractMethod | AbstractFlow | Callable[[PyTree], AbstractMethod]",
    *,
    steps: int | None = None,
    over: PyTree | None = None,
    vmap: bool | None = None,
    monitors: dict[str, Callable] | None = None,
    throw: bool = True,
    progress: bool | None = None,
    save_params: bool = False,
    key=None,
    **flow_options,
) -> "Solution | FlowSolution":
    """Run a discrete method on a problem for a number of steps, entirely under `jit`.

    The loop is a `lax.scan` compiled once per problem structure (shapes, dtypes, static
    options, and the Python functions inside: residuals, targets, monitors); calling
    again with new array values (data, initial parameters, step sizes, damping) reuses
    the compiled code. Functions are compared by identity, so define them once (at
    module level, not as a fresh `lambda` per problem) when solving many problems.

    ```python
    sol = ng.solve(problem, ng.NaturalGradient(ng.QR(), ng.LogGrid()), steps=3,
                   monitors={"error": ng.RelativeL2Error(target, points)})
    sol.losses, sol.monitors["error"], sol.stats["rank"], sol.model
    ```

    **Arguments:**

    - `problem`: an [`ngflow.Problem`][] (with `over`: or a function of one member
        returning one).
    - `method`: a discrete method, e.g. [`ngflow.NaturalGradient`][],
        [`ngflow.GradientDescent`][], [`ngflow.Newton`][], [`ngflow.Optax`][] (with
        `over`: or a function of one member returning one); or a flow (below).
    - `steps`: the number of steps.
    - `over`: run an **ensemble**: a pytree of arrays with a leading axis, one entry
        per member (initial models stacked by `eqx.filter_vmap`, keys from
        `jax.random.split`, an array of step sizes or β). The members run in one
        program, compiled once (see `vmap`), and the result is one Solution with a
        leading member axis (`Solution.select`, `.median`, `.quantile`).
    - `vmap`: how an ensemble's members run: `True`, one `vmap` of the loop (one program
        for all members: the way to fill an accelerator); `False`, one after another
        inside one compiled program (`lax.map`). Default: `vmap` on an accelerator,
        one after another on CPU, where XLA already uses every core inside each
        operation (measured in `benchmarks/ensembles.py`: vmap was no faster than a
        loop of solves there), a vmapped search evaluates both sides of every branch,
        and jaxlib's batched LAPACK calls inside a loop can deadlock XLA's CPU thread
        pool (seen with `HeavyBall` ensembles on 2 cores).
    - `monitors`: `{name: fn(model) -> scalar}` evaluated at every iterate, e.g.
        [`ngflow.RelativeL2Error`][]. Plain functions are compiled by identity: a new
        `lambda` (or closure) per call recompiles the solve, so build the dict once and
        reuse it; Equinox modules (such as `RelativeL2Error`) with new array values do not
        recompile.
    - `throw`: if `True` (default), raise [`ngflow.SolveError`][] (holding the partial
        solution) when the solve fails: NaN/Inf loss or gradient, or a failed metric
        solve (in an ensemble: any member). If `False`, check `Solution.result`. A step
        rule that finds no decrease (a stall, `RESULTS.search_failed`) stops the loop
        with a warning, never raises.
    - `progress`: show a progress bar of the steps and the loss (`None`: only when
        standard error is a terminal), or a meter ([`ngflow.TqdmProgressMeter`][],
        [`ngflow.NoProgressMeter`][], your own [`ngflow.AbstractProgressMeter`][]),
        threaded through the compiled loop. To group the bars of many solves under
        one, see [`ngflow.progress_group`][].
    - `save_params`: keep the flat parameters of every iterate in `Solution.params`.
    - `key`: a `jax.random.key` for the points of sampled losses (those given a sampler
        such as `box.sampler(n)` instead of points); step $k$ uses
        `fold_in(key, k // every)`. Default `jax.random.key(0)`. A batch of keys
        (`jax.random.split(key, n)`) runs an ensemble of `n` members by itself.

    ```python
    def gd(s):  # define member functions once, at module level: they compile by identity
        return ng.GradientDescent(ng.Constant(s))

    sols = ng.solve(problem, gd, steps=5, over=jnp.array([0.1, 0.2, 0.3]))
    assert sols.batch_size == 3 and sols.losses.shape == (3, 6)
    sols.median("losses"), sols.select(2).final_loss
    ```

    **Returns:** an [`ngflow.Solution`][].

    **Flows.** With a continuous-time method ([`ngflow.GradientFlow`][],
    [`ngflow.NaturalGradientFlow`][], [`ngflow.HeavyBallFlow`][],
    [`ngflow.NaturalHeavyBallFlow`][]) the ODE is integrated by diffrax and the result is
    an [`ngflow.FlowSolution`][]. Instead of `steps` pass `t1` and optionally `t0` (0),
    `saveat` (times at which to record, default 101 equispaced) and `loss_tol` (stop
    when the loss falls below it: a diffrax event), with `monitors`, `throw`,
    `progress` as above (the flow's bar is diffrax's `TqdmProgressMeter`, in percent of
    $[t_0, t_1]$). The integrator's own options (`solver`, `stepsize_controller`,
    `dt0`, `max_steps`) belong to the flow: `ng.NaturalGradientFlow(solver=...)`.

    ```python
    sol = ng.solve(problem, ng.NaturalGradientFlow(), t1=1.0, loss_tol=1e-10)
    sol.ts, sol.losses, sol.t_final
    ```
    """
    if isinstance(method, AbstractFlow):
        if steps is not None or save_params or key is not None or over is not None:
            raise ValueError(
                "solve: a flow is integrated up to `t1=...`; `steps`, `save_params`, "
                "`key` and `over` are for discrete methods (a flow always records its "
                "parameters)."
            )
        return solve_flow(
            problem,
            method,
            monitors=monitors,
            throw=throw,
            progress=progress,
            **flow_options,
        )
    if flow_options:
        raise TypeError(
            f"solve: unexpected argument(s) {', '.join(sorted(flow_options))}; t1, t0, "
            "saveat and loss_tol are for flows."
        )
    if steps is None:
        raise ValueError("solve: `steps=` is required for a discrete method.")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(
            f"solve: `steps` must be a non-negative integer, got {steps!r}."
        )
    steps = int(steps)
    key = jax.random.key(0) if key is None else key
    batch = _batch_of(over, key)
    if batch is None:
        _check_member(problem, method)
        model = problem.model
    else:
        first = jtu.tree_map(lambda a: a[0] if eqx.is_array_like(a) else a, over)
        member = problem if isinstance(problem, Problem) else problem(first)
        _check_member(
            member, method if isinstance(method, AbstractMethod) else method(first)
        )
        model = member.model
    monitors = check_monitors(monitors, model)
    meter = _progress.meter(progress if steps > 0 else False)
    label = type(method).__name__ if batch is None else f"ensemble of {batch}"
    handle = meter.open(steps, label)
    solution = None
    try:
        with Timer() as timer:
            options = (monitors, steps, meter, bool(save_params), jnp.asarray(handle))
            if batch is None:
                out = _run(problem, method, *options, key)
            else:
                if vmap is None:
                    vmap = jax.default_backend() != "cpu"
                out = _run_over(
                    problem, method, over, key, *options, bool(vmap), _is_key_batch(key)
                )
            out = jax.block_until_ready(out)
        solution = Solution(
            **out, wall_time=timer.wall_time, compile_time=timer.compile_time
        )
    finally:
        final = None if solution is None else jnp.nanmedian(solution.final_loss)
        meter.close(handle, final)

    def where(one):
        return (
            f"step {int(one.num_steps)} of {steps} with loss "
            f"{float(one.losses[int(one.num_steps)]):.3e}"
        )

    report_end(solution, where, throw, method)
    return solution


def _not_a_method(method) -> str:
    from ._gram import AbstractGramSolver
    from ._methods._step_rules import AbstractStepRule

    name = getattr(method, "__name__", type(method).__name__)
    if isinstance(method, type) and issubclass(method, (AbstractMethod, AbstractFlow)):
        return f"`method` is the class {name}; create one: {name}()."
    if isinstance(method, AbstractGramSolver):
        return (
            f"`method` is the Gram solve {name}; a method uses it: "
            f"ng.NaturalGradient(ng.{name}(...))."
        )
    if isinstance(method, AbstractStepRule):
        return (
            f"`method` is the step rule {name}; a method uses it: "
            f"ng.NaturalGradient(step=ng.{name}(...)) or ng.GradientDescent(ng.{name}(...))."
        )
    return (
        "`method` must be an ngflow method (e.g. ng.NaturalGradient()) or flow "
        f"(e.g. ng.NaturalGradientFlow()), got {name}."
    )
