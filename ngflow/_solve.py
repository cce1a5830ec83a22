import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.lax as lax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

from . import _progress
from ._domains import has_samplers, resample
from ._methods import AbstractMethod
from ._params import FlatModel
from ._problem import Problem
from ._results import RESULTS
from ._solution import Solution, SolveError


if TYPE_CHECKING:
    from ._flows import AbstractFlow, FlowSolution


def _fill(shape_dtype):
    dtype = shape_dtype.dtype
    if jnp.issubdtype(dtype, jnp.inexact):
        return jnp.full(shape_dtype.shape, jnp.nan, dtype)
    if jnp.issubdtype(dtype, jnp.bool_):
        return jnp.zeros(shape_dtype.shape, dtype)
    return jnp.full(shape_dtype.shape, -1, dtype)


@eqx.filter_jit
def _run(
    problem,
    method,
    monitors,
    steps: int,
    progress: bool,
    save_params: bool,
    bar_id,
    key,
):
    flat = FlatModel(problem.model)
    theta0 = flat.theta0
    sampled = has_samplers(problem)

    def problem_at(k):
        return resample(problem, key, k) if sampled else problem

    state0 = method.init(problem_at(0), flat, theta0)

    def observe(theta):
        model = flat.model_at(theta)
        return {name: jnp.asarray(m(model)) for name, m in monitors.items()}

    def do_step(theta, state, k):
        theta_next, state_next, info = method.update(problem_at(k), flat, theta, state)
        record = {
            "loss": info.loss,
            "grad_norm": info.grad_norm,
            "step_size": info.step_size,
            "stats": info.stats,
            "monitors": observe(theta),
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
        if progress:
            lax.cond(
                go & ((k % every == 0) | (k == steps - 1)),
                lambda: jax.debug.callback(_progress.update, bar_id, k, record["loss"]),
                lambda: None,
            )
        return (theta, state, result, taken), record

    init = (theta0, state0, RESULTS.successful, jnp.array(0))
    (theta, _, result, taken), records = lax.scan(body, init, jnp.arange(steps))

    ok = result == RESULTS.successful
    model = flat.model_at(theta)
    final_loss = jnp.where(ok, problem_at(steps).loss(model), jnp.nan)
    final_monitors = jtu.tree_map(lambda v: jnp.where(ok, v, jnp.nan), observe(theta))
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


def _check_monitors(monitors, model) -> dict[str, Callable]:
    if monitors is None:
        return {}
    if not isinstance(monitors, dict):
        raise TypeError(
            "solve: `monitors` must be a dict {name: fn(model) -> scalar}, got "
            f"{type(monitors).__name__}."
        )
    for name, fn in monitors.items():
        if not callable(fn):
            raise TypeError(f"solve: monitor {name!r} is not callable.")
        try:
            out = eqx.filter_eval_shape(fn, model)
        except Exception as e:  # noqa: BLE001
            raise ValueError(
                f"solve: monitor {name!r} failed on the model: {type(e).__name__}: {e}"
            ) from None
        if getattr(out, "shape", None) != ():
            raise ValueError(
                f"solve: monitor {name!r} must return a scalar, got "
                f"{getattr(out, 'shape', type(out))}."
            )
    return dict(monitors)


def solve(
    problem: Problem,
    method: "AbstractMethod | AbstractFlow",
    *,
    steps: int | None = None,
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

    - `problem`: an [`ngflow.Problem`][].
    - `method`: a discrete method, e.g. [`ngflow.NaturalGradient`][],
        [`ngflow.GradientDescent`][], [`ngflow.Newton`][].
    - `steps`: the number of steps.
    - `monitors`: `{name: fn(model) -> scalar}` evaluated at every iterate, e.g.
        [`ngflow.RelativeL2Error`][]. Plain functions are compiled by identity: a new
        `lambda` (or closure) per call recompiles the solve, so build the dict once and
        reuse it; Equinox modules (such as `RelativeL2Error`) with new array values do not
        recompile.
    - `throw`: if `True` (default), raise [`ngflow.SolveError`][] (holding the partial
        solution) when the solve fails: NaN/Inf loss or gradient, or a failed metric
        solve. If `False`, check `Solution.result`. A step rule that finds no decrease
        (a stall, `RESULTS.search_failed`) stops the loop with a warning, never raises.
    - `progress`: show a progress bar of the steps and the loss (`None`: only when
        standard error is a terminal). To group the bars of many solves under one,
        see [`ngflow.progress_group`][].
    - `save_params`: keep the flat parameters of every iterate in `Solution.params`.
    - `key`: a `jax.random.key` for the points of sampled losses (those given a sampler
        such as `box.sampler(n)` instead of points); step $k$ uses
        `fold_in(key, k // every)`. Default `jax.random.key(0)`.

    **Returns:** an [`ngflow.Solution`][].

    **Flows.** With a continuous-time method ([`ngflow.GradientFlow`][],
    [`ngflow.NaturalGradientFlow`][], [`ngflow.HeavyBallFlow`][],
    [`ngflow.NaturalHeavyBallFlow`][]) the ODE is integrated by diffrax and the result is
    an [`ngflow.FlowSolution`][]. Instead of `steps` pass `t1` and optionally `t0` (0),
    `solver` (a diffrax solver, default `Tsit5()`), `stepsize_controller` (default
    `PIDController(rtol=1e-6, atol=1e-9)`; `ConstantStepSize()` with `dt0` for fixed
    steps), `dt0` (default $(t_1 - t_0)/1000$), `saveat` (times at which to record,
    default 101 equispaced), `loss_tol` (stop when the loss falls below it: a diffrax
    event), `max_steps` (10 000), and `monitors`, `throw`, `progress` as above (the
    flow's bar is diffrax's `TqdmProgressMeter`, in percent of $[t_0, t_1]$).

    ```python
    sol = ng.solve(problem, ng.NaturalGradientFlow(), t1=1.0, loss_tol=1e-10)
    sol.ts, sol.losses, sol.t_final
    ```
    """
    from ._flows import AbstractFlow, solve_flow

    if isinstance(method, AbstractFlow):
        if steps is not None or save_params or key is not None:
            raise ValueError(
                "solve: a flow is integrated up to `t1=...`; `steps`, `save_params` and "
                "`key` are for discrete methods (a flow always records its parameters)."
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
            f"solve: unexpected argument(s) {', '.join(sorted(flow_options))}; t1, solver, "
            f"stepsize_controller, dt0, saveat, loss_tol and max_steps are for flows."
        )
    if steps is None:
        raise ValueError("solve: `steps=` is required for a discrete method.")
    if not isinstance(problem, Problem):
        raise TypeError(
            f"solve: `problem` must be an ng.Problem, got {type(problem).__name__}."
        )
    if not isinstance(method, AbstractMethod):
        raise TypeError(f"solve: {_not_a_method(method)}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(
            f"solve: `steps` must be a non-negative integer, got {steps!r}."
        )
    steps = int(steps)
    monitors = _check_monitors(monitors, problem.model)
    show = _progress.enabled(progress) and steps > 0
    bar_id = _progress.open_bar(steps, type(method).__name__) if show else -1
    start = time.perf_counter()
    try:
        key = jax.random.key(0) if key is None else key
        out = _run(
            problem,
            method,
            monitors,
            steps,
            show,
            bool(save_params),
            jnp.asarray(bar_id),
            key,
        )
        out = jax.block_until_ready(out)
    finally:
        if show:
            _progress.close_bar(bar_id)
    wall_time = time.perf_counter() - start
    solution = Solution(**out, wall_time=wall_time)
    _progress.solved(solution.final_loss)
    if solution.result == RESULTS.search_failed:
        k = int(solution.num_steps)
        warnings.warn(
            f"ngflow.solve stopped at step {k} of {steps} with loss "
            f"{float(solution.losses[k]):.3e}: {RESULTS[solution.result]}",
            stacklevel=2,
        )
    elif throw and solution.result != RESULTS.successful:
        k = int(solution.num_steps)
        raise SolveError(
            f"ngflow.solve stopped at step {k} of {steps}: "
            f"{RESULTS[solution.result]}\n(Pass `throw=False` to get the partial "
            "Solution; it is also in this exception's `.solution`.)",
            solution,
        )
    if solution.result == RESULTS.successful:
        warn_if_loss_grew(solution.losses[0], solution.final_loss, method)
    return solution


def _not_a_method(method) -> str:
    from ._flows import AbstractFlow
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


def warn_if_loss_grew(initial, final, method, stacklevel: int = 3) -> None:
    """Warns when a run ends with its loss far (10×) above where it started."""
    first, last = float(initial), float(final)
    growth = last - first
    if growth > 9 * abs(first) and growth > 1e-12:
        warnings.warn(
            f"ngflow.solve: the loss ended at {last:.3e}, up from {first:.3e} at the start "
            f"({type(method).__name__}). The steps are too long: a constant step size, or "
            "momentum with beta near 1 (the step rule does not search along the momentum "
            "term); try ng.LogGrid(), a smaller step or beta, or (momentum) restart=True.",
            stacklevel=stacklevel,
        )
