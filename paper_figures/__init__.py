"""Reproductions of the figures of the seed papers: `python -m paper_figures --help`.

Each figure is a module `paper_figures/<name>.py` defining

- `NAME`, `SEED` (e.g. `"000"`), `SECTION` (e.g. `"§2.1, Figure 1"`), `TITLE`;
- `run(quick: bool) -> dict`: the plotted data and every setting used, JSON-serialisable;
- `plot(data: dict, path: pathlib.Path) -> None`: writes the PNG from that data.

By convention `data["methods"][label]` holds one record per method with `final_loss`
and `wall_time` (see `_common.record`); `python -m paper_figures` prints them.

To add a figure, drop in its module and list its name in `FIGURES`.
"""

import os


# One OpenBLAS thread (must be set before numpy loads OpenBLAS): on a busy 2-core CPU,
# threaded LAPACK made each SVD of the minimum-norm natural gradient 10-100x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import importlib  # noqa: E402
from types import ModuleType  # noqa: E402


FIGURES: tuple[str, ...] = (
    "least_squares_shallow",
    "least_squares_mlp",
    "poisson_oga",
    "toy_linear",
    "toy_nonisotropic",
    "toy_nonlinear",
    "toy_local_minimum",
    "toy_non_l2",
    "mackey_glass",
    "pinn_momentum",
    "reparametrisation",
    "xor_fisher",
    "density_kl",
)

_REQUIRED = ("NAME", "SEED", "SECTION", "TITLE", "run", "plot")


def load(name: str) -> ModuleType:
    """Import the module of figure `name` and check that it defines the figure protocol."""
    if name not in FIGURES:
        raise KeyError(f"unknown figure {name!r}; valid names: {', '.join(FIGURES)}")
    module = importlib.import_module(f"{__name__}.{name}")
    missing = [attr for attr in _REQUIRED if not hasattr(module, attr)]
    if missing:
        raise TypeError(f"figure module {module.__name__} lacks {', '.join(missing)}")
    if module.NAME != name:
        raise TypeError(f"figure module {module.__name__} has NAME = {module.NAME!r}")
    return module
