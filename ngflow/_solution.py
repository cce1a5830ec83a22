import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PyTree

from ._results import RESULTS


class Solution(eqx.Module):
    """The result of [`ngflow.solve`][].

    Per-iterate arrays have `steps + 1` entries (iterates $\\theta_0..\\theta_{steps}$);
    per-step arrays have `steps`. If the solve stopped early (see `result`), entries
    after `num_steps` are NaN (or -1 for integer diagnostics).

    **Attributes:**

    - `model`: the final model.
    - `losses`: $L(\\theta_k)$, shape `(steps + 1,)`.
    - `grad_norms`: $\\|\\nabla_\\theta L(\\theta_k)\\|$, shape `(steps,)`.
    - `step_sizes`: the step size $s_k$ taken, shape `(steps,)`.
    - `monitors`: `{name: values}` for each monitor, shape `(steps + 1,)`.
    - `stats`: per-step diagnostics of the Gram solve and the step rule (e.g. `rank`,
        `cond`, `damping`, `solve_residual`, `cg_steps`, `search_steps`; the default
        trust region's `radius`, `ratio`, `accepted`), shape `(steps,)`.
    - `params`: flat parameters of every iterate, `(steps + 1, p)`, if
        `save_params=True`, else `None`.
    - `result`: a [`ngflow.RESULTS`][]; `RESULTS[solution.result]` is its message.
    - `num_steps`: the number of steps taken.
    - `wall_time`: seconds for the call, compilation included on first call;
        `compile_time`: the seconds of it spent tracing and compiling (0 when the
        compiled loop was reused).
    - `final_loss`: $L$ at the last iterate reached; `successful`: whether the run
        ended without a failure. `print(solution)` shows a one-line summary;
        `to_dict()` gives the numbers as plain lists (for JSON).

    ```python
    sol = ng.solve(problem, ng.NaturalGradient(), steps=3)
    assert sol.losses.shape == (4,) and sol.step_sizes.shape == (3,)  # θ₀..θ₃, s₀..s₂
    sol.model(points[0]), sol.num_steps, sol.wall_time, sol.compile_time
    ```

    **Ensembles.** `ng.solve(..., over=xs)` returns one Solution for the whole batch: every
    array (and the model's arrays) has a leading axis of `batch_size` members.
    `select(i)` is member `i` as a plain Solution; `median(name)` and
    `quantile(q, name)` summarise a per-step series over the members.

    ```python
    step = lambda s: ng.GradientDescent(ng.Constant(s))  # one member's method
    sols = ng.solve(problem, step, steps=3, over=jnp.array([0.1, 0.2, 0.3, 0.4]))
    assert sols.batch_size == 4 and sols.losses.shape == (4, 4)
    sols.median("losses"), sols.quantile(0.9, "losses"), sols.select(0).final_loss
    ```
    """

    model: PyTree
    losses: Float[Array, " steps+1"]
    grad_norms: Float[Array, " steps"]
    step_sizes: Float[Array, " steps"]
    monitors: dict[str, Array]
    stats: dict[str, Array]
    params: Float[Array, "steps+1 p"] | None
    result: RESULTS
    num_steps: Int[Array, ""]
    wall_time: float
    compile_time: float = 0.0

    @property
    def batch_size(self) -> int | None:
        """The number of members of an ensemble (`ng.solve(..., over=...)`), else `None`."""
        return batch_size(self.num_steps)

    @property
    def final_loss(self):
        """$L$ at the last iterate reached (one per member for an ensemble)."""
        return _at_step(self.losses, self.num_steps)

    @property
    def successful(self):
        """Whether the run ended without a failure (`result == RESULTS.successful`);
        for an ensemble, whether every member did."""
        return bool(jnp.all(self.result._value == RESULTS.successful._value))

    def select(self, i: int) -> "Solution":
        """Member `i` of an ensemble, as a plain Solution."""
        return select(self, i)

    def median(self, name: str = "losses") -> Array:
        """The median over the ensemble's members of a per-step series (NaN entries,
        after a member stopped, are left out): `name` is `"losses"`, `"grad_norms"`,
        `"step_sizes"`, `"params"`, or a monitor or stat name."""
        return self.quantile(0.5, name)

    def quantile(self, q, name: str = "losses") -> Array:
        """The `q`-quantile(s) over the ensemble's members of a per-step series (see
        `median`); `q` may be an array of quantiles (leading axis of the result)."""
        return quantile(self, q, name)

    def to_dict(self, params: bool = False) -> dict:
        """The numbers as plain Python (lists of floats, NaN kept), for `json.dump`: losses,
        grad_norms, step_sizes, monitors, stats, result (its message, `"successful"`),
        num_steps, wall_time, compile_time, and with `params=True` the saved parameters."""
        out = {
            "losses": self.losses,
            "grad_norms": self.grad_norms,
            "step_sizes": self.step_sizes,
            "monitors": self.monitors,
            "stats": self.stats,
            "num_steps": self.num_steps,
        }
        if params and self.params is not None:
            out["params"] = self.params
        return {**plain(out), **common_dict(self)}

    def __repr__(self) -> str:
        if self.batch_size is not None:
            return summary_repr(
                self,
                f"batch_size={self.batch_size}",
                f"steps={self.grad_norms.shape[-1]}",
                f"median final loss={float(jnp.nanmedian(self.final_loss)):.3e}",
            )
        return summary_repr(
            self,
            f"steps={int(self.num_steps)} of {self.grad_norms.shape[0]}",
            f"losses={_first_last(self.losses[: int(self.num_steps) + 1])}",
        )


def batch_size(per_run) -> int | None:
    return per_run.shape[0] if jnp.ndim(per_run) > 0 else None


def _at_step(series, k):
    if jnp.ndim(k) == 0:
        return series[k]
    return jnp.take_along_axis(series, jnp.asarray(k)[:, None], axis=1)[:, 0]


def select(solution, i: int):
    if solution.batch_size is None:
        raise ValueError("select: this Solution is one run, not an ensemble.")
    if not -solution.batch_size <= i < solution.batch_size:
        raise IndexError(f"select: member {i} of an ensemble of {solution.batch_size}.")
    return jax.tree.map(lambda a: a[i] if eqx.is_array(a) else a, solution)


def series(solution, name: str) -> Array:
    """A per-step series of a Solution by name: an attribute, a monitor or a stat."""
    if name in ("losses", "grad_norms", "step_sizes", "params", "ts"):
        value = getattr(solution, name, None)
    else:
        value = solution.monitors.get(name, solution.stats.get(name))
    if value is None:
        known = [
            "losses",
            "grad_norms",
            "step_sizes",
            *solution.monitors,
            *solution.stats,
        ]
        raise KeyError(f"No series {name!r} in this Solution; it has {known}.")
    return value


def quantile(solution, q, name):
    if solution.batch_size is None:
        raise ValueError(
            "median/quantile summarise the members of an ensemble "
            "(ng.solve(..., over=...)); this Solution is one run."
        )
    values = jnp.asarray(series(solution, name), dtype=float)
    return jnp.nanquantile(values, jnp.asarray(q), axis=0)


def plain(tree):
    return jax.tree.map(lambda a: np.asarray(a).tolist(), tree)


def common_dict(solution) -> dict:
    results = np.atleast_1d(np.asarray(solution.result._value))
    messages = [RESULTS._index_to_message[int(r)] or "successful" for r in results]
    return {
        "result": messages if getattr(solution, "batch_size", None) else messages[0],
        "wall_time": solution.wall_time,
        "compile_time": solution.compile_time,
    }


def _first_last(values) -> str:
    values = [float(v) for v in values]
    return f"{values[0]:.3e} .. {values[-1]:.3e}" if values else "[]"


def summary_repr(solution, *items: str) -> str:
    """`Solution(steps=.., losses=first .. last, result=.., monitors=[..], ...)`."""
    results = np.atleast_1d(np.asarray(solution.result._value))
    if results.shape[0] > 1 or getattr(solution, "batch_size", None) is not None:
        ok = int((results == RESULTS.successful._value).sum())
        result = f"{ok} of {results.shape[0]} successful"
    else:
        result = RESULTS._index_to_message[int(results[0])] or "successful"
    parts = [
        *items,
        f"result={result!r}",
        f"monitors={sorted(solution.monitors)}",
        f"stats={sorted(solution.stats)}",
        f"wall_time={solution.wall_time:.2f} s",
        f"compile_time={getattr(solution, 'compile_time', 0.0):.2f} s",
    ]
    return f"{type(solution).__name__}({', '.join(parts)})"


class SolveError(RuntimeError):
    """Raised by [`ngflow.solve`][] with `throw=True` when a solve stops early.

    The partial [`ngflow.Solution`][] is in `.solution`.

    ```python
    try:
        ng.solve(problem, ng.GradientDescent(ng.Constant(jnp.inf)), steps=3)
    except ng.SolveError as e:
        assert e.solution.result == ng.RESULTS.nonfinite  # the partial Solution
    ```
    """

    def __init__(self, message: str, solution: Solution):
        super().__init__(message)
        self.solution = solution
