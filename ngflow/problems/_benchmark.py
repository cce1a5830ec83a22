"""The catalogue entry type and the helpers every entry uses."""

from collections.abc import Callable
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._monitors import RelativeL2Error
from .._params import num_parameters
from .._problem import Problem


@final
class Benchmark(eqx.Module):
    """One ready-made benchmark problem of [`ngflow.problems`][]: a problem, its exact
    (or reference) solution, the error monitor and the budget the benchmark suite gives.

    Build one with a constructor of the catalogue (`ng.problems.heat(seed=1)`) or by
    name (`ng.problems.get("heat", seed=1)`); solve it with any method.

    ```python
    b = ng.problems.least_squares(seed=0, quick=True)
    sol = b.solve(ng.NaturalGradient(ng.Pinv(), ng.LogGrid()), steps=2)
    assert sol.monitors["error"].shape == (3,)  # relative L² error of θ₀, θ₁, θ₂
    assert b.solution(b.points[0]).shape == b.problem.model(b.points[0]).shape
    b.num_residuals, b.num_parameters  # the tangent map E is num_residuals × num_parameters
    ```

    **Fields:**

    - `name`: the catalogue name (`"poisson2d"`, ...).
    - `source`: where the problem comes from (seed and section, paper).
    - `problem`: the [`ngflow.Problem`][], its model initialised from `seed`.
    - `solution`: the exact (or reference) solution $u^*(x)$ at one point, with the
        model's output shape.
    - `points`: the evaluation points of the error.
    - `error`: an [`ngflow.RelativeL2Error`][] of $u^*$ on `points`; a monitor,
        `monitors={"error": b.error}`.
    - `steps`: the step budget the benchmark suite gives natural gradient.
    - `tol`: the error tolerance of "time to tolerance" in the suite.
    - `quick`: whether this is the small version (CI tests).
    - `seed`: the initialisation seed.
    - `key`: the key for the points of sampled losses, `ng.solve(..., key=b.key)`
        (derived from `seed`; unused by problems on fixed points).
    """

    name: str
    source: str
    problem: Problem
    solution: Callable
    points: Float[Array, "M ..."]
    error: RelativeL2Error
    steps: int
    tol: float
    quick: bool
    seed: int
    key: PRNGKeyArray

    def solve(self, method, **options):
        """`ng.solve(problem, method, steps=steps, monitors={"error": error}, key=key)`;
        `options` are passed on and override these."""
        from .._solve import solve

        defaults = dict(steps=self.steps, monitors={"error": self.error}, key=self.key)
        return solve(self.problem, method, **{**defaults, **options})

    @property
    def num_parameters(self) -> int:
        """$p$, the number of parameters of the model."""
        return num_parameters(self.problem.model)

    @property
    def num_residuals(self) -> int:
        """$N$, the length of the residual vector $r$ (the rows of the tangent map)."""
        loss = self.problem.loss
        out = eqx.filter_eval_shape(loss.residuals, self.problem.model)
        return int(np.prod(out.shape))

    def __repr__(self) -> str:
        size = "quick" if self.quick else "full"
        return (
            f"Benchmark(name={self.name!r}, seed={self.seed}, {size}, "
            f"N={self.num_residuals}, p={self.num_parameters}, steps={self.steps}, "
            f"tol={self.tol:g})"
        )


def mlp(in_size, out_size, width: int, depth: int, seed: int) -> eqx.nn.MLP:
    """`eqx.nn.MLP(in_size, out_size, width, depth, tanh, key=jax.random.key(seed))`."""
    return eqx.nn.MLP(
        in_size, out_size, width, depth, activation=jnp.tanh, key=jax.random.key(seed)
    )


def sampling_key(seed: int) -> PRNGKeyArray:
    """The key of the resampled points (`100 + seed`, as in examples/)."""
    return jax.random.key(100 + seed)


def pick(value, quick: bool, sizes: tuple):
    """`value` if given, else `sizes[0]` (quick) or `sizes[1]` (full)."""
    if value is not None:
        return value
    return sizes[0] if quick else sizes[1]


def check_seed(seed, quick, who: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"ng.problems.{who}: `seed` must be an int, got {seed!r}.")
    if not isinstance(quick, (bool, np.bool_)):
        raise TypeError(f"ng.problems.{who}: `quick` must be a bool, got {quick!r}.")


def benchmark(
    *,
    name: str,
    source: str,
    problem: Problem,
    solution: Callable,
    points,
    steps: int,
    tol: float,
    quick: bool,
    seed: int,
    reference: Callable | None = None,
) -> Benchmark:
    """A [`Benchmark`][] with its error monitor; `reference` (default `solution`) is what
    the monitor evaluates (e.g. a table of `solution` on `points`)."""
    points = jnp.asarray(points)
    error = RelativeL2Error(solution if reference is None else reference, points)
    return Benchmark(
        name=name,
        source=source,
        problem=problem,
        solution=solution,
        points=points,
        error=error,
        steps=int(steps),
        tol=float(tol),
        quick=bool(quick),
        seed=int(seed),
        key=sampling_key(int(seed)),
    )
