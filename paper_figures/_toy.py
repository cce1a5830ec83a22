"""The setting of seed 003's toy examples: functions v = cᵀΦ on [0, 1] in the orthonormal
basis Φ = [1, √2 sin 2πx] are points c of "function space" (‖v‖_{L²} = |c|, midpoint
quadrature exact); `point_K(K)` is the coefficient-space K on the quadrature points.
"""

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import ngflow as ng

from . import _common


N_QUAD = 32


def basis(x):
    return jnp.stack([jnp.ones_like(x), jnp.sqrt(2.0) * jnp.sin(2 * jnp.pi * x)])


def quadrature(n: int = N_QUAD):
    points = (jnp.arange(n) + 0.5) / n
    return points, jnp.full(n, 1.0 / n)


POINTS, WEIGHTS = quadrature()


def basis_matrix(points=POINTS):
    return basis(points).T


def point_K(K, points=POINTS, weights=WEIGHTS):
    """The coefficient-space $K$ (2×2) as an (N, N) matrix on the quadrature points."""
    wphi = weights[:, None] * basis_matrix(points)
    return wphi @ jnp.asarray(K, dtype=float) @ wphi.T


def coefficients(model, points=POINTS, weights=WEIGHTS):
    """The function-space point c = ∫ vΦ of a model."""
    values = jax.vmap(model)(points)
    return basis_matrix(points).T @ (weights * values)


def coefficient_monitors(points=POINTS, weights=WEIGHTS) -> dict:
    """Monitors `c0`, `c1` (new functions per call: use the shared `MONITORS`)."""
    return {
        f"c{i}": (lambda model, i=i: coefficients(model, points, weights)[i])
        for i in range(2)
    }


MONITORS = coefficient_monitors()  # built once: ng.solve compiles per monitor function


def _path(sol) -> dict:
    c = np.stack([np.asarray(sol.monitors["c0"]), np.asarray(sol.monitors["c1"])], -1)
    return {"theta": np.asarray(sol.params), "c": c}


def discrete(problem, method, steps: int, description: str = "") -> dict:
    """One `ng.solve` with its iterates in θ (`theta`) and in function space (`c`)."""
    sol = _common.solve(problem, method, steps, monitors=MONITORS, save_params=True)
    return {
        "kind": "discrete",
        "method": description,
        **_common.record(sol),
        **_path(sol),
    }


def flow(problem, flow_, t1, saves: int, description="", scale=1.0, tol=None) -> dict:
    """A flow saved at `saves` times in [0, t1]; `iteration` = t / `scale`; `tol`: (rtol,
    atol) of diffrax's PID controller (default ng.solve's)."""
    if tol is not None:
        controller = dfx.PIDController(rtol=tol[0], atol=tol[1])
        flow_ = eqx.tree_at(lambda f: f.stepsize_controller, flow_, controller)
    ts = np.linspace(0.0, t1, saves)
    sol = ng.solve(problem, flow_, t1=t1, saveat=ts, monitors=MONITORS, throw=False)
    out = {"kind": "flow", "method": description, **_common.record(sol), **_path(sol)}
    ts = np.asarray(sol.ts)
    return {**out, "ts": ts, "iteration": ts / scale, "t_final": sol.t_final}


def xy(values) -> np.ndarray:
    return _common.series(values).reshape(-1, 2)


def role_of(settings, label) -> str:
    return {v: k for k, v in settings["labels"].items()}[label]


# Line styles per role of the momentum toy figures (toy_local_minimum, toy_non_l2).
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
