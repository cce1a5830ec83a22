"""Helpers shared by the figure modules: JSON conversion, solution records, plotting."""

import math
import pathlib

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


def record(solution: ng.Solution) -> dict:
    """The per-iterate series and summary of one `ng.solve` call (not yet JSON-converted)."""
    return {
        "losses": solution.losses,
        "monitors": solution.monitors,
        "step_sizes": solution.step_sizes,
        "stats": solution.stats,
        "final_loss": solution.final_loss,
        "num_steps": solution.num_steps,
        "successful": solution.successful,
        "result": ng.RESULTS[solution.result] or "successful",
        "wall_time_s": solution.wall_time,
        "wall_time_note": "one ng.solve call, JIT compilation included",
    }


def series(values) -> np.ndarray:
    """A JSON list (with `None` for NaN) back to a float array."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def figure(ncols: int, width: float = 5.0, height: float = 4.0):
    """A new figure (Agg canvas, no pyplot state) with `ncols` axes in a row."""
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def save(fig: Figure, path: pathlib.Path) -> None:
    fig.savefig(path, dpi=150)
