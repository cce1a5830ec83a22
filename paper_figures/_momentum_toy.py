"""Helpers shared by the momentum toy figures of seed 003 (`toy_local_minimum`,
`toy_non_l2`): timed discrete and flow solves recorded with their function-space
trajectories, and plotting styles."""

import time

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import ngflow as ng

from . import _common, _toy


# One monitors dict for every solve: the compiled loop is cached on the monitors'
# identity, so parameter sweeps with the same problem and method class reuse it.
MONITORS = _toy.MONITORS


def solve(problem, method, steps: int) -> dict:
    """One `ng.solve` with the coefficient monitors and parameters kept: `_common.record`
    plus `theta` (per iterate) and `c` (the function-space points, shape (steps + 1, 2))."""
    sol = ng.solve(
        problem, method, steps=steps, monitors=MONITORS, save_params=True, throw=False
    )
    out = _common.record(sol)
    out["theta"] = np.asarray(sol.params)
    out["c"] = np.stack(
        [np.asarray(sol.monitors["c0"]), np.asarray(sol.monitors["c1"])], 1
    )
    return out


def final_theta(problem, method, steps: int) -> np.ndarray:
    """The last iterate, by the same call as `solve` (so its compiled loop is reused)."""
    sol = ng.solve(
        problem, method, steps=steps, monitors=MONITORS, save_params=True, throw=False
    )
    return np.asarray(sol.params[-1])


def solve_flow(problem, flow, t1: float, num: int, scale: float) -> dict:
    """A flow on [0, t1] saved at `num` times; `iteration` = time / `scale` puts it on
    the iteration axis of the discrete method it is the limit of."""
    start = time.perf_counter()
    ts = np.linspace(0.0, t1, num)
    sol = ng.solve(problem, flow, t1=t1, saveat=ts, monitors=MONITORS, throw=False)
    return {
        "ts": np.asarray(sol.ts),
        "iteration": np.asarray(sol.ts) / scale,
        "time_per_iteration": scale,
        "losses": np.asarray(sol.losses),
        "theta": np.asarray(sol.params),
        "c": np.stack(
            [np.asarray(sol.monitors["c0"]), np.asarray(sol.monitors["c1"])], 1
        ),
        "final_loss": sol.final_loss,
        "t_final": sol.t_final,
        "stats": sol.stats,
        "result": ng.RESULTS[sol.result] or "successful",
        "wall_time_s": time.perf_counter() - start,
        "wall_time_note": "one ng.solve call (diffrax), JIT compilation included",
    }


# Line styles per role, shared by both figures.
STYLE = {
    "gd": dict(color="tab:purple", ls=":", marker="s"),
    "hb": dict(color="tab:brown", ls="-", marker="v"),
    "ngd": dict(color="black", ls="-", marker="o"),
    "ngd_l2": dict(color="black", ls="-", marker="o"),
    "ngd_gn": dict(color="tab:olive", ls="-", marker="D"),
    "pm": dict(color="tab:pink", ls="-", marker="<"),
    "lm": dict(color="tab:blue", ls="-", marker="^"),
    "fd": dict(color="tab:orange", ls="--", marker="x"),
    "lg": dict(color="tab:green", ls="-", marker="+"),
    "nesterov": dict(color="tab:red", ls="-.", marker="*"),
}
FLOW_STYLE = dict(lw=3, alpha=0.4)


def grid_figure(width: float, height: float):
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def xy(values) -> np.ndarray:
    """A JSON list of points (with `None` for NaN) back to a float array."""
    return np.array(
        [[np.nan if v is None else v for v in row] for row in values], dtype=float
    ).reshape(-1, 2)
