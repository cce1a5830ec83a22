"""A catalogue of ready-made benchmark problems, like Julia's DiffEqProblemLibrary.

Each entry is a constructor `f(*, seed=0, quick=False, **size_options)` returning a
[`ngflow.problems.Benchmark`][]: the [`ngflow.Problem`][] (model initialised from
`seed`), the exact or reference solution, the error monitor, and the step budget and
error tolerance the benchmark suite uses. `quick=True` gives a much smaller version
(fewer points and steps) for tests.

```python
b = ng.problems.get("heat", seed=1, quick=True)
sorted(ng.problems.CATALOGUE)  # the names
# sol = b.solve(ng.NaturalGradient())  # b.steps steps, monitors={"error": b.error}
```

| name | problem | model |
| --- | --- | --- |
| `least_squares` | $\\frac12\\|u - g\\|^2$ on $[0, 1]^2$ (seed 000 §2.1) | [2, 30, 1] |
| `poisson2d` | $-\\Delta u = f$ on $(0, 1)^2$, ENGD's setup exactly | [2, 32, 1] |
| `poisson2d_seed000` | the same PDE, seed 000's setup | [2, 20, 20, 1] |
| `poisson5d`, `poisson10d` | $-\\Delta u = f$ on $(0, 1)^d$, resampled points | [d, 64, 1] |
| `heat` | $u_t = \\frac14 u_{xx}$, space-time | [2, 20, 20, 1] |
| `wave` | $u_{tt} = u_{xx}$, space-time | [2, 20, 20, 1] |
| `convection_diffusion` | $-\\varepsilon u'' + u' = 1$, minibatches (seed 003) | [1, 20, 20, 1] |
| `burgers` | $u_t + uu_x = \\nu u_{xx}$, Cole–Hopf reference | [2, 20, 20, 20, 1] |
| `kovasznay` | steady Navier–Stokes, output $(u, v, p)$ | [2, 20, 20, 3] |
"""

from collections.abc import Callable

from ._benchmark import Benchmark as Benchmark
from ._burgers import burgers as burgers, ColeHopf as ColeHopf
from ._entries import (
    convection_diffusion as convection_diffusion,
    heat as heat,
    kovasznay as kovasznay,
    least_squares as least_squares,
    poisson as poisson,
    poisson2d as poisson2d,
    poisson2d_seed000 as poisson2d_seed000,
    poisson5d as poisson5d,
    poisson10d as poisson10d,
    wave as wave,
)


CATALOGUE: dict[str, Callable[..., Benchmark]] = {
    "least_squares": least_squares,
    "poisson2d": poisson2d,
    "poisson2d_seed000": poisson2d_seed000,
    "poisson5d": poisson5d,
    "poisson10d": poisson10d,
    "heat": heat,
    "wave": wave,
    "convection_diffusion": convection_diffusion,
    "burgers": burgers,
    "kovasznay": kovasznay,
}
"""The catalogue: name → constructor `f(*, seed=0, quick=False, **size_options)`."""


def get(name: str, *, seed: int = 0, quick: bool = False, **size_options) -> Benchmark:
    """The catalogue entry `name`, built for `seed` (and small if `quick`).

    **Arguments:**

    - `name`: a key of [`ngflow.problems.CATALOGUE`][].
    - `seed`: the initialisation seed of the model.
    - `quick`: the small version (fewer points and steps), for tests.
    - `size_options`: passed to the constructor (e.g. `n=20` for `poisson2d`).

    Raises `ValueError` listing the known names if `name` is not one.

    ```python
    b = ng.problems.get("poisson2d", seed=2, quick=True)
    assert (b.name, b.seed, b.quick) == ("poisson2d", 2, True)
    ```
    """
    try:
        make = CATALOGUE[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(CATALOGUE))
        raise ValueError(
            f"ng.problems.get: unknown problem {name!r}; the catalogue has: {known}."
        ) from None
    return make(seed=seed, quick=quick, **size_options)


__all__ = [
    "Benchmark",
    "CATALOGUE",
    "ColeHopf",
    "burgers",
    "convection_diffusion",
    "get",
    "heat",
    "kovasznay",
    "least_squares",
    "poisson",
    "poisson2d",
    "poisson2d_seed000",
    "poisson5d",
    "poisson10d",
    "wave",
]
