"""Reproductions of the seed papers' figures: `python -m paper_figures --help`.

Each figure is a module `paper_figures/<name>.py`, listed in `FIGURES`, defining `NAME`,
`SEED`, `SECTION`, `TITLE`, `run(quick) -> dict` (the plotted data and every setting,
JSON-serialisable; `data["methods"][label]` holds `final_loss` and `wall_time`) and
`plot(data, path)` (writes the PNG from that data).
"""

import os


# One OpenBLAS thread (set before numpy loads it): threaded LAPACK made the minimum-norm
# natural gradient's SVDs 10-100x slower on a busy 2-core CPU.
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
