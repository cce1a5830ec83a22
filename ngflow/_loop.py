"""What every solve shares, discrete or continuous: checking monitors, evaluating them,
timing compilation apart from the run, and reporting how a run ended."""

import time
import warnings
from collections.abc import Callable

import equinox as eqx
import jax
import jax.monitoring
import jax.numpy as jnp

from ._results import RESULTS
from ._solution import SolveError


def check_monitors(monitors, model) -> dict[str, Callable]:
    """`monitors` as a dict of callables, each checked to give a scalar on `model`."""
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


def observe(monitors, model) -> dict:
    """`{name: monitor(model)}` (inside `jit`)."""
    return {name: jnp.asarray(m(model)) for name, m in monitors.items()}


# Compilation time: JAX reports each trace, lowering and backend compile as a time span;
# a solve adds up the union of the spans that fall in its call (nested traces counted once).
_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_span_collectors: list[list] = []


def _on_span(name, start, end, **kwargs):
    if name in _COMPILE_EVENTS:
        for spans in _span_collectors:
            spans.append((start, end))


jax.monitoring.register_event_time_span_listener(_on_span)


def _union_length(spans) -> float:
    total, reach = 0.0, -float("inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


class Timer:
    """`with Timer() as t: ...` then `t.wall_time` (seconds) and `t.compile_time` (seconds
    of tracing, lowering and compiling inside the block)."""

    wall_time: float = 0.0
    compile_time: float = 0.0

    def __enter__(self):
        self._spans: list = []
        _span_collectors.append(self._spans)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall_time = time.perf_counter() - self._start
        # by identity: nested timers' lists may be equal
        del _span_collectors[
            next(i for i, c in enumerate(_span_collectors) if c is self._spans)
        ]
        self.compile_time = _union_length(self._spans)
        return False


def report_end(solution, where, throw: bool, method, stacklevel: int = 4):
    """Warn or raise for how a (single or batched) solve ended: a stall warns, a failure
    raises `SolveError` if `throw`; a loss that grew tenfold warns. `where(solution)`
    says where a run stopped."""
    results = jnp.atleast_1d(solution.result._value)
    failed = (results != RESULTS.successful._value) & (
        results != RESULTS.search_failed._value
    )
    stalled = results == RESULTS.search_failed._value
    batched = solution.batch_size is not None
    member = (
        (lambda i: f" (ensemble member {i} of {results.shape[0]})")
        if batched
        else (lambda i: "")
    )
    if bool(jnp.any(stalled)):
        i = int(jnp.argmax(stalled))
        one = solution.select(i) if batched else solution
        warnings.warn(
            f"ngflow.solve stopped at {where(one)}{member(i)}: {RESULTS[one.result]}"
            + (
                f"; {int(stalled.sum())} of {results.shape[0]} members stalled"
                if batched
                else ""
            ),
            stacklevel=stacklevel,
        )
    if bool(jnp.any(failed)):
        i = int(jnp.argmax(failed))
        one = solution.select(i) if batched else solution
        message = (
            f"ngflow.solve stopped at {where(one)}{member(i)}: {RESULTS[one.result]}"
        )
        if throw:
            raise SolveError(
                message + "\n(Pass `throw=False` to get the partial Solution; it is "
                "also in this exception's `.solution`.)",
                solution,
            )
        return
    if not batched and solution.successful:
        warn_if_loss_grew(solution.losses[0], solution.final_loss, method, stacklevel)


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
