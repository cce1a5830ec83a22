"""Continuous-time methods: gradient and natural gradient flows as diffrax ODEs.

A flow is an ODE for a state $y$ ($\\theta$, or $(\\theta, v)$ for second-order flows);
[`ngflow.solve`][] integrates it with any diffrax solver and step-size controller:

```python
sol = ng.solve(problem, ng.NaturalGradientFlow(), t1=20.0, loss_tol=1e-10)
sol.ts, sol.losses, sol.model
```

Explicit Euler with step $s$ on [`ngflow.NaturalGradientFlow`][] is
[`ngflow.NaturalGradient`][] with `Constant(s)`.
"""

import abc
import warnings
from collections.abc import Callable

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from . import _progress
from ._domains import has_samplers
from ._gram import AbstractGramSolver, Cholesky
from ._gram._base import as_float
from ._linearisation import linearise, loss_at as loss_of
from ._loop import check_monitors, Timer, warn_if_loss_grew
from ._params import FlatModel
from ._problem import Problem
from ._repr import settings_repr
from ._results import RESULTS
from ._solution import common_dict, plain, SolveError, summary_repr


class AbstractFlow(eqx.Module):
    """A continuous-time method: $dy/ds = F(y)$ with $\\theta$ read off the state $y$.

    Every flow takes the integrator's options as keyword arguments (as SciML puts
    algorithm options on the algorithm): `solver` (a diffrax solver, default
    `Tsit5()`), `stepsize_controller` (default `PIDController(rtol=1e-6, atol=1e-9)`;
    `ConstantStepSize()` with `dt0` for fixed steps), `dt0` (default $(t_1-t_0)/1000$)
    and `max_steps` (10 000).

    ```python
    flow = ng.GradientFlow(solver=dfx.Euler(), stepsize_controller=dfx.ConstantStepSize(),
                           dt0=0.01)  # explicit Euler with step 0.01
    ```

    ```python
    class SlowGradientFlow(ng.AbstractFlow):  # dθ/ds = −c∇L, state y = θ
        c: float = 0.5
        def init(self, theta0):
            return theta0
        def vector_field(self, problem, flat, y):
            return -self.c * jax.grad(lambda t: problem.loss(flat.model_at(t)))(y)
        def theta(self, y):
            return y
    ```
    """

    __repr__ = settings_repr

    solver: dfx.AbstractSolver = eqx.field(default=dfx.Tsit5(), kw_only=True)
    stepsize_controller: dfx.AbstractStepSizeController = eqx.field(
        default=dfx.PIDController(rtol=1e-6, atol=1e-9), kw_only=True
    )
    dt0: float | None = eqx.field(default=None, kw_only=True)
    max_steps: int = eqx.field(default=10_000, static=True, kw_only=True)

    @abc.abstractmethod
    def init(self, theta0: Float[Array, " p"]) -> PyTree:
        """The initial state."""

    @abc.abstractmethod
    def vector_field(self, problem, flat, y) -> PyTree:
        """$F(y)$ (inside `jit`)."""

    @abc.abstractmethod
    def theta(self, y) -> Float[Array, " p"]:
        """The parameters in state `y`."""


def _gradient(problem, flat, theta):
    return jax.grad(loss_of(problem, flat))(theta)


def _natural_direction(problem, flat, theta, gram):
    lin = linearise(problem, flat, theta, gram)
    h, _, ok = gram.solve(lin, lin.gradient)
    # A failed solve gives NaN, which diffrax reports (and ngflow raises on).
    return jnp.where(ok, h, jnp.nan)


DEFAULT_FLOW_GRAM = Cholesky(1e-8)


class GradientFlow(AbstractFlow):
    """$d\\theta/ds = -\\nabla_\\theta L$.

    ```python
    flow = ng.GradientFlow()  # ng.solve(problem, flow, t1=10.0): integrated by diffrax
    ```
    """

    def init(self, theta0):
        return theta0

    def vector_field(self, problem, flat, y):
        return -_gradient(problem, flat, y)

    def theta(self, y):
        return y


class NaturalGradientFlow(AbstractFlow):
    """$d\\theta/ds = -M(\\theta)^{-1}\\nabla_\\theta L$ with the problem's metric.

    **Arguments:**

    - `gram`: the Gram solve. Default `Cholesky(1e-8)` (Tikhonov damping $10^{-8}$ times
        the mean eigenvalue of $G$). With the minimum-norm `Pinv()` the vector field has
        huge components along near-null tangent vectors (the parameters move fast where
        the function hardly changes), and an adaptive controller that measures the error
        in parameters shrinks the step towards $10^{-9}$; the damping bounds those
        components at a cost in how far the flow follows the exact projection.

    ```python
    flow = ng.NaturalGradientFlow(ng.Cholesky(1e-8))  # dθ/ds = −(G + λI)⁻¹∇L, the default
    ```
    """

    gram: AbstractGramSolver = DEFAULT_FLOW_GRAM

    def init(self, theta0):
        return theta0

    def vector_field(self, problem, flat, y):
        return -_natural_direction(problem, flat, y, self.gram)

    def theta(self, y):
        return y


class HeavyBallFlow(AbstractFlow):
    """$\\theta'' = -\\gamma\\theta' - \\nabla_\\theta L$, as the first-order system
    $(\\theta, v)' = (v, -\\gamma v - \\nabla_\\theta L)$, $v(0) = 0$.

    **Arguments:** `gamma`, the friction $\\gamma\\ge0$ (default 1).

    ```python
    flow = ng.HeavyBallFlow(gamma=2.0)  # θ'' = −2θ' − ∇L; ng.solve(problem, flow, t1=10.0)
    ```
    """

    gamma: Float[Array, ""] = eqx.field(default=1.0, converter=as_float)

    def init(self, theta0):
        return (theta0, jnp.zeros_like(theta0))

    def vector_field(self, problem, flat, y):
        theta, v = y
        return (v, -self.gamma * v - _gradient(problem, flat, theta))

    def theta(self, y):
        return y[0]


class NaturalHeavyBallFlow(AbstractFlow):
    """$\\theta'' = -\\gamma\\theta' - M(\\theta)^{-1}\\nabla_\\theta L$, as a first-order
    system in $(\\theta, v)$, $v(0) = 0$.

    **Arguments:** `gamma` (default 1) and `gram` (default `Cholesky(1e-8)`, see
    [`ngflow.NaturalGradientFlow`][]).

    ```python
    flow = ng.NaturalHeavyBallFlow(gamma=2.0, gram=ng.Cholesky(1e-8))  # θ'' = −2θ' − G⁻¹∇L
    ```
    """

    gamma: Float[Array, ""] = eqx.field(default=1.0, converter=as_float)
    gram: AbstractGramSolver = DEFAULT_FLOW_GRAM

    def init(self, theta0):
        return (theta0, jnp.zeros_like(theta0))

    def vector_field(self, problem, flat, y):
        theta, v = y
        return (
            v,
            -self.gamma * v - _natural_direction(problem, flat, theta, self.gram),
        )

    def theta(self, y):
        return y[0]


class FlowSolution(eqx.Module):
    """The result of [`ngflow.solve`][] with a flow.

    **Attributes:**

    - `ts`: the saved times (`saveat`); after an early stop (event) the remaining
        entries are `inf`.
    - `losses`, `monitors`, `params`: $L$, monitors and flat parameters at `ts` (NaN
        after an early stop).
    - `states`: the whole state of the flow at `ts` (for the heavy-ball flows the pair
        $(\\theta, \\theta')$, each with a leading time axis; NaN after an early stop).
    - `model`: the model at the final time reached.
    - `t_final`: the final time reached ($t_1$, or the time the loss reached `loss_tol`).
    - `final_loss`: $L$ at `t_final`.
    - `stats`: diffrax's statistics (`num_steps`, `num_accepted_steps`,
        `num_rejected_steps`).
    - `result`: a [`ngflow.RESULTS`][].
    - `diffrax_result`: diffrax's own result (e.g. an event, or `max_steps_reached`).
    - `wall_time`: seconds for the call; `compile_time`: the part spent compiling.
    - `successful`: whether it ended without a failure. `print(sol)` is a summary;
        `to_dict()` gives the numbers as plain lists (for JSON).

    ```python
    sol = ng.solve(problem, ng.NaturalGradientFlow(), t1=1.0, loss_tol=1e-10)
    sol.ts, sol.losses, sol.t_final  # saved times, L at them, where it stopped
    assert isinstance(sol, ng.FlowSolution) and sol.result == ng.RESULTS.successful
    ```
    """

    ts: Float[Array, " n"]
    losses: Float[Array, " n"]
    monitors: dict[str, Array]
    params: Float[Array, "n p"]
    states: PyTree
    model: PyTree
    t_final: Float[Array, ""]
    final_loss: Float[Array, ""]
    stats: dict[str, Array]
    result: RESULTS
    diffrax_result: dfx.RESULTS
    wall_time: float
    compile_time: float = 0.0

    @property
    def successful(self) -> bool:
        """Whether the integration ended without a failure."""
        return bool(self.result == RESULTS.successful)

    def to_dict(self, params: bool = False) -> dict:
        """The numbers as plain Python (lists of floats, NaN kept), for `json.dump`: ts,
        losses, monitors, stats, t_final, final_loss, result, wall_time, compile_time,
        and with `params=True` the saved parameters."""
        out = {
            "ts": self.ts,
            "losses": self.losses,
            "monitors": self.monitors,
            "stats": self.stats,
            "t_final": self.t_final,
            "final_loss": self.final_loss,
        }
        if params:
            out["params"] = self.params
        return {**plain(out), **common_dict(self)}

    def __repr__(self) -> str:
        return summary_repr(
            self,
            f"t_final={float(self.t_final):.4g}",
            f"losses={float(self.losses[0]):.3e} .. {float(self.final_loss):.3e}",
        )


@eqx.filter_jit
def _run_flow(
    problem,
    flow,
    monitors,
    t0,
    t1,
    dt0,
    ts,
    loss_tol,
    meter,
):
    flat = FlatModel(problem.model)
    loss_at = loss_of(problem, flat)
    term = dfx.ODETerm(lambda s, y, args: flow.vector_field(problem, flat, y))
    event = None
    if loss_tol is not None:
        event = dfx.Event(lambda s, y, args, **kw: loss_at(flow.theta(y)) <= loss_tol)
    sol = dfx.diffeqsolve(
        term,
        flow.solver,
        t0,
        t1,
        dt0,
        flow.init(flat.theta0),
        saveat=dfx.SaveAt(subs=[dfx.SubSaveAt(ts=ts), dfx.SubSaveAt(t1=True)]),
        stepsize_controller=flow.stepsize_controller,
        event=event,
        max_steps=flow.max_steps,
        throw=False,
        progress_meter=meter,
    )
    (ts_saved, ts_end), (ys_saved, ys_end) = sol.ts, sol.ys
    saved = jax.vmap(flow.theta)(ys_saved)
    final = flow.theta(jax.tree.map(lambda a: a[0], ys_end))
    reached = jnp.isfinite(ts_saved)
    safe = jnp.where(reached[:, None], saved, flat.theta0)

    def observe(theta):
        model = flat.model_at(theta)
        return loss_at(theta), {
            name: jnp.asarray(m(model)) for name, m in monitors.items()
        }

    losses, mons = jax.vmap(observe)(safe)
    nan = lambda a: jnp.where(reached, a, jnp.nan)
    return dict(
        ts=ts_saved,
        losses=nan(losses),
        monitors={k: nan(v) for k, v in mons.items()},
        params=jnp.where(reached[:, None], saved, jnp.nan),
        states=jax.tree.map(
            lambda a: jnp.where(reached.reshape(-1, *(1,) * (a.ndim - 1)), a, jnp.nan),
            ys_saved,
        ),
        model=flat.model_at(final),
        t_final=ts_end[0],
        stats={
            k: sol.stats[k]
            for k in ("num_steps", "num_accepted_steps", "num_rejected_steps")
        },
        diffrax_result=sol.result,
        final_loss=loss_at(final),
        finite=jnp.all(jnp.isfinite(final)) & jnp.isfinite(loss_at(final)),
    )


_MOVED = ("solver", "stepsize_controller", "dt0", "max_steps")


def solve_flow(
    problem: Problem,
    flow: AbstractFlow,
    *,
    t1: float,
    t0: float = 0.0,
    saveat: Float[Array, " n"] | None = None,
    loss_tol: float | None = None,
    monitors: dict[str, Callable] | None = None,
    throw: bool = True,
    progress: bool | None = None,
    **options,
) -> FlowSolution:
    """See [`ngflow.solve`][] (the flow form)."""
    moved = sorted(set(options) & set(_MOVED))
    if moved:
        given = ", ".join(f"{k}=..." for k in moved)
        raise TypeError(
            f"solve: {', '.join(moved)} belong to the flow now: "
            f"ng.{type(flow).__name__}(..., {given}), as SciML puts algorithm options "
            "on the algorithm."
        )
    if options:
        raise TypeError(
            f"solve: unexpected argument(s) {', '.join(sorted(options))} for a flow; "
            "it takes t1, t0, saveat, loss_tol, monitors, throw and progress."
        )
    if not isinstance(problem, Problem):
        raise TypeError(
            f"solve: `problem` must be an ng.Problem, got {type(problem).__name__}."
        )
    if has_samplers(problem):
        raise ValueError(
            "solve: a flow needs fixed points; this problem resamples its points "
            "(a sampler). Use a discrete method, or fixed points."
        )
    if not t1 > t0:
        raise ValueError(f"solve: `t1` must exceed `t0`, got t0={t0}, t1={t1}.")
    monitors = check_monitors(monitors, problem.model)
    dt0 = (t1 - t0) / 1000 if flow.dt0 is None else flow.dt0
    ts = (
        jnp.linspace(t0, t1, 101)
        if saveat is None
        else jnp.asarray(saveat, dtype=float)
    )
    if ts.ndim != 1 or ts.shape[0] < 1:
        raise ValueError("solve: `saveat` must be a non-empty 1D array of times.")
    meter = _progress.meter(progress)
    with Timer() as timer:
        out = _run_flow(
            problem,
            flow,
            monitors,
            jnp.asarray(t0, float),
            jnp.asarray(t1, float),
            jnp.asarray(dt0, float),
            ts,
            None if loss_tol is None else jnp.asarray(loss_tol, float),
            meter.flow_meter(type(flow).__name__),
        )
        out = jax.block_until_ready(out)
    finite = bool(out.pop("finite"))
    r = out["diffrax_result"]
    diffrax_ok = bool(r == dfx.RESULTS.successful) or bool(
        r == dfx.RESULTS.event_occurred
    )
    result = RESULTS.successful
    if not finite:
        result = RESULTS.nonfinite
    elif not diffrax_ok:
        result = RESULTS.integration_failed
    sol = FlowSolution(
        **out,
        result=result,
        wall_time=timer.wall_time,
        compile_time=timer.compile_time,
    )
    meter.close(-1, sol.final_loss)
    if not diffrax_ok or not finite:
        message = (
            f"ngflow.solve (flow) stopped at t = {float(sol.t_final):.4g} of {t1}: "
            f"{RESULTS[result]} (diffrax: {dfx.RESULTS[sol.diffrax_result] or 'successful'})"
        )
        if throw:
            raise SolveError(
                message + "\n(Pass `throw=False` to get the partial solution.)", sol
            )
        warnings.warn(message, stacklevel=3)
    if result == RESULTS.successful:
        warn_if_loss_grew(sol.losses[0], sol.final_loss, flow, stacklevel=4)
    return sol
