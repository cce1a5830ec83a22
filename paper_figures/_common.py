"""Helpers shared by the figure modules: solves and sweeps, JSON records, bands, plotting."""

import math
import pathlib
import warnings

import jax
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import ngflow as ng


def jsonable(obj):
    """Arrays to lists (`.tolist()`), NaN/Inf to `None`, recursively through dicts/lists."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy and JAX arrays and scalars
        return jsonable(np.asarray(obj).tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def series(values) -> np.ndarray:
    """A JSON list (with `None` for NaN; nested lists too) back to a float array."""
    if isinstance(values, (list, tuple)):
        return np.array([series(v) for v in values], dtype=float)
    return np.array(np.nan if values is None else values, dtype=float)


def versions() -> dict:
    import equinox as eqx

    return {m.__name__: m.__version__ for m in (ng, jax, eqx)}


def record(sol) -> dict:
    """`sol.to_dict()` (JSON-able; `wall_time`, `compile_time` in seconds) with the figures'
    `final_loss` and, for a discrete solve, `ms_per_iter` (compilation excluded)."""
    out = sol.to_dict()
    out["final_loss"] = float(sol.final_loss)
    if "num_steps" in out:
        run = max(sol.wall_time - sol.compile_time, 0.0)
        out["ms_per_iter"] = 1e3 * run / max(out["num_steps"], 1)
    return out


def solve(problem, method, steps: int, **options):
    """`ng.solve` without raising."""
    return ng.solve(problem, method, steps=steps, throw=False, **options)


def sweep(problem, method, over, steps: int, **options) -> list:
    """The solutions of an ensemble (`problem`, `method`: objects or module-level functions
    of a member of `over`): one `ng.solve(..., over=over)`, one compile for all members."""
    sols = ng.solve(problem, method, steps=steps, over=over, throw=False, **options)
    return [sols.select(i) for i in range(sols.batch_size)]


def first_below(values, threshold):
    """The first index with `values <= threshold`, or None."""
    hit = np.flatnonzero(series(values) <= threshold)
    return int(hit[0]) if hit.size else None


def band(curves, low=0.0, high=100.0) -> dict:
    """Median and the `low`/`high` percentiles over runs of equally long curves (NaN-aware)."""
    c = np.asarray([series(jsonable(v)) for v in curves], dtype=float)
    quiet = warnings.catch_warnings(action="ignore", category=RuntimeWarning)
    with np.errstate(all="ignore"), quiet:
        lo, med, hi = np.nanpercentile(c, [low, 50.0, high], axis=0)
    return {"median": med, "min": lo, "max": hi}


def figure(nrows: int = 1, ncols: int = 1, width: float = 5.0, height: float = 4.0):
    """A new figure (Agg canvas, no pyplot state) and its (nrows, ncols) axes array."""
    fig = canvas(width * ncols, height * nrows)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def canvas(width: float, height: float) -> Figure:
    """A new empty figure (Agg canvas) of the given size in inches."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def draw_band(ax, x, b: dict, color, label=None, alpha=0.12, floor=None, **line):
    """The median of `band(...)` as a line on a log axis and its range as a shaded band."""
    lo, med, hi = (series(b[k]) for k in ("min", "median", "max"))
    if floor is not None:
        lo, med, hi = (np.maximum(v, floor) for v in (lo, med, hi))
    x = np.arange(med.size) if x is None else x
    ax.semilogy(x, med, color=color, label=label, **{"lw": 1.6, **line})
    ax.fill_between(x, lo, hi, color=color, alpha=alpha, lw=0)


def finish(ax, legend: dict | None = None, **settings):
    """`ax.set(**settings)`, a light grid and a legend (`legend`: its keywords)."""
    ax.set(**settings)
    ax.grid(True, which="major", alpha=0.3)
    if legend is not None:
        ax.legend(**{"fontsize": 7, **legend})


def save(fig: Figure, path: pathlib.Path, title: str | None = None, size=10) -> None:
    """`fig.suptitle(title, fontsize=size)` if a title is given, and the PNG."""
    if title is not None:
        fig.suptitle(title, fontsize=size)
    fig.savefig(path, dpi=150)
