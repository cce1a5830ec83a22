import equinox as eqx
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
    - `wall_time`: seconds for the call, compilation included on first call.
    - `final_loss`: $L$ at the last iterate reached; `successful`: whether the run
        ended without a failure. `print(solution)` shows a one-line summary.

    ```python
    sol = ng.solve(problem, ng.NaturalGradient(), steps=3)
    assert sol.losses.shape == (4,) and sol.step_sizes.shape == (3,)  # θ₀..θ₃, s₀..s₂
    sol.model(points[0]), sol.num_steps, sol.wall_time
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

    @property
    def final_loss(self):
        """$L$ at the last iterate reached."""
        return self.losses[self.num_steps]

    @property
    def successful(self) -> bool:
        """Whether the run ended without a failure (`result == RESULTS.successful`)."""
        return bool(self.result == RESULTS.successful)

    def __repr__(self) -> str:
        return summary_repr(
            self,
            f"steps={int(self.num_steps)} of {self.grad_norms.shape[0]}",
            f"losses={_first_last(self.losses[: int(self.num_steps) + 1])}",
        )


def _first_last(values) -> str:
    values = [float(v) for v in values]
    return f"{values[0]:.3e} .. {values[-1]:.3e}" if values else "[]"


def summary_repr(solution, *items: str) -> str:
    """`Solution(steps=.., losses=first .. last, result=.., monitors=[..], ...)`."""
    result = RESULTS[solution.result] or "successful"
    parts = [
        *items,
        f"result={result!r}",
        f"monitors={sorted(solution.monitors)}",
        f"stats={sorted(solution.stats)}",
        f"wall_time={solution.wall_time:.2f} s",
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
