"""Trajectories of seed 003's toy examples: runs, closed forms, checks and panels.

Shared by `toy_linear`, `toy_nonisotropic` and `toy_nonlinear` (the common setting,
basis and quadrature are in `_toy`). A point of "function space" is the coefficient
vector c of v = cᵀΦ; for v = (θᵀB + ½θᵀQθ)Φ it is c(θ) = Bᵀθ + ½θᵀQθ
(`coefficient_map`).

Every run records its parameters (`theta`, one row per iterate or saved time) and its
function-space point (`c`, from `_toy.coefficient_monitors`, i.e. computed by ngflow
from the model's values on the quadrature points).
"""

import diffrax as dfx
import equinox as eqx
import numpy as np
import scipy.linalg
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import ngflow as ng

from . import _common, _toy


# The mixing B of v = θᵀBΦ: its rows are the tangent vectors ∂v/∂θ_i = (BΦ)_i, here
# b₁ = (1, 0) and b₂ = (0.7, 0.5) in function space: 35.5° apart, G = BBᵀ has
# eigenvalues 1.58 and 0.16 (condition number 10).
B_MIX = ((1.0, 0.0), (0.7, 0.5))
# The target u = 0.5 + √2 sin 2πx and the starting function v₀ = −1 − √2 sin 2πx.
C_TARGET = (0.5, 1.0)
C_START = (-1.0, -1.0)
# The non-isotropic K of ½‖u − v‖²_K = ½ (c − c*)ᵀK(c − c*): eigenvalues 2.62, 0.38.
K_ANISO = ((2.0, -1.0), (-1.0, 1.0))
# Steps and saved flow times of the linear-model figures (toy_linear, toy_nonisotropic):
# the same in both so that, run in one process, they share the compiled solves.
LINEAR_SIZES = {
    "quick": {"steps": 80, "saves": 161},
    "full": {"steps": 150, "saves": 601},
}
# ng.solve's default tolerances (rtol 1e-6, atol 1e-9) leave the flows' loss at ~1e-12
FLOW_RTOL, FLOW_ATOL = 1e-13, 1e-15
FLOW_SOLVER = f"diffrax Tsit5, PIDController(rtol={FLOW_RTOL:g}, atol={FLOW_ATOL:g})"
# One set of monitor functions for every run: `ng.solve` is compiled per problem
# structure, monitors included (by identity), so new lambdas would recompile it.
MONITORS = _toy.MONITORS


# -- the setting ----------------------------------------------------------------------


def target_values(c):
    """u = cᵀΦ on the quadrature points."""
    return _toy.basis_matrix() @ np.asarray(c, dtype=float)


def l2_loss(c_target):
    """½‖u − v‖²_{L²} (exact midpoint quadrature); on span Φ it is `k_loss(c*, I)`."""
    return ng.LeastSquares(target_values(c_target), _toy.POINTS, _toy.WEIGHTS)


def k_loss(c_target, K):
    """½‖u − v‖²_K = ½ (c − c*)ᵀK(c − c*)."""
    return ng.WeightedLeastSquares(
        target_values(c_target), _toy.POINTS, _toy.point_K(K)
    )


def l2_metric():
    """The L² metric; on span Φ it is `k_metric(I)`."""
    return ng.L2(_toy.POINTS, _toy.WEIGHTS)


def k_metric(K):
    """The metric with the loss Hessian, G = JᵀKJ."""
    return ng.Weighted(_toy.point_K(K), _toy.POINTS)


def l2_metric_on_span():
    """The L² metric as `ng.Weighted(point_K(I))`: on span Φ, where every tangent vector
    of these models lies, it is ⟨v, w⟩_{L²} exactly (the quadrature is exact), and it
    has the type of the loss-Hessian metric, so both natural gradients share one
    compiled solve."""
    return k_metric(np.eye(2))


def coefficient_map(theta, B, Q=None):
    """c(θ) = Bᵀθ + ½ θᵀQθ for θ of shape (..., p)."""
    theta = np.asarray(theta, dtype=float)
    c = theta @ np.asarray(B, dtype=float)
    if Q is not None:
        c = c + 0.5 * np.einsum("...i,ijk,...j->...k", theta, np.asarray(Q), theta)
    return c


def jacobian(theta, B, Q=None):
    """J = ∂c/∂θ (rows: c, columns: θ); Q is taken symmetric in its first two indices."""
    J = np.asarray(B, dtype=float).T.copy()
    if Q is not None:
        Qs = 0.5 * (np.asarray(Q) + np.swapaxes(np.asarray(Q), 0, 1))
        J = J + np.einsum("ijk,j->ki", Qs, np.asarray(theta, dtype=float))
    return J


def preimage(c, B, Q=None, guess=None, iters=50):
    """θ with c(θ) = c, by Newton's method from `guess` (default B⁻ᵀc)."""
    c = np.asarray(c, dtype=float)
    theta = np.linalg.solve(np.asarray(B).T, c) if guess is None else np.array(guess)
    for _ in range(iters):
        theta = theta - np.linalg.solve(
            jacobian(theta, B, Q), coefficient_map(theta, B, Q) - c
        )
    if not np.allclose(coefficient_map(theta, B, Q), c, atol=1e-13):
        raise RuntimeError(f"no preimage of {c} found from {guess}")
    return theta


def quadratic_loss(c, c_target, K=None):
    """½ (c − c*)ᵀK(c − c*) for c of shape (..., 2) (K = I: the L² loss)."""
    e = np.asarray(c, dtype=float) - np.asarray(c_target, dtype=float)
    K = np.eye(2) if K is None else np.asarray(K, dtype=float)
    return 0.5 * np.einsum("...i,ij,...j->...", e, K, e)


def linear_flow_path(A, c_start, c_target, ts):
    """c(t) = c* + exp(−tA)(c₀ − c*): the function-space path of dc/dt = −A(c − c*)."""
    e0 = np.asarray(c_start, dtype=float) - np.asarray(c_target, dtype=float)
    return np.stack([c_target + scipy.linalg.expm(-t * np.asarray(A)) @ e0 for t in ts])


# -- runs -------------------------------------------------------------------------------


def _coefficients(monitors):
    return np.stack([np.asarray(monitors["c0"]), np.asarray(monitors["c1"])], axis=-1)


def discrete(problem, method, steps: int, description: str) -> dict:
    """One `ng.solve` of a discrete method, with its iterates in θ and c."""
    solution = ng.solve(
        problem, method, steps=steps, monitors=MONITORS, save_params=True
    )
    out = {"kind": "discrete", "method": description, **_common.record(solution)}
    out["theta"] = np.asarray(solution.params)
    out["c"] = _coefficients(solution.monitors)
    return out


def flow(problem, flow_, t1: float, saves: int, description: str) -> dict:
    """One `ng.solve` of a flow, saved at `saves` equispaced times in [0, t1]."""
    ts = np.linspace(0.0, t1, saves)
    controller = dfx.PIDController(rtol=FLOW_RTOL, atol=FLOW_ATOL)
    solution = ng.solve(
        problem,
        eqx.tree_at(lambda f: f.stepsize_controller, flow_, controller),
        t1=t1,
        saveat=ts,
        monitors=MONITORS,
    )
    return {
        "kind": "flow",
        "method": description,
        "solver": FLOW_SOLVER,
        "ts": solution.ts,
        "losses": solution.losses,
        "theta": np.asarray(solution.params),
        "c": _coefficients(solution.monitors),
        "final_loss": solution.final_loss,
        "t_final": solution.t_final,
        "stats": solution.stats,
        "result": ng.RESULTS[solution.result] or "successful",
        "wall_time_s": solution.wall_time,
        "wall_time_note": "one ng.solve call, JIT compilation included",
    }


# -- geometric checks -----------------------------------------------------------------


def off_line(points, start, end) -> dict:
    """How far `points` (n, 2) are from the segment start → end, relative to its length:
    the largest distance from the line and the range of the positions along it."""
    points = np.asarray(points, dtype=float)
    start, end = np.asarray(start, float), np.asarray(end, float)
    d = end - start
    length = np.linalg.norm(d)
    rel = (points - start) / length
    along = rel @ d / length
    across = rel @ np.array([-d[1], d[0]]) / length
    return {
        "max_distance": float(np.max(np.abs(across))),
        "along_min": float(np.min(along)),
        "along_max": float(np.max(along)),
        "note": "largest distance from the line start -> end, and the range of positions "
        "along it (0 at start, 1 at end), in units of |end - start|",
    }


def matrix_text(M) -> str:
    M = np.asarray(M, dtype=float)
    return (
        "[" + ", ".join("[" + ", ".join(f"{x:g}" for x in row) + "]" for row in M) + "]"
    )


def max_deviation(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


# -- panels ---------------------------------------------------------------------------


def limits(*paths, pad=0.12):
    """Common (xlim, ylim) around all points of `paths` (arrays (n, 2)), padded."""
    points = np.concatenate([np.asarray(p, float).reshape(-1, 2) for p in paths])
    points = points[np.all(np.isfinite(points), axis=1)]
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.maximum(hi - lo, 1e-3)
    lo, hi = lo - pad * span, hi + pad * span
    return [float(lo[0]), float(hi[0])], [float(lo[1]), float(hi[1])]


def loss_grid(loss_of_points, xlim, ylim, n: int = 61) -> dict:
    """The loss on an n × n grid (for contours): `loss_of_points` maps (..., 2) → (...)."""
    x = np.linspace(*xlim, n)
    y = np.linspace(*ylim, n)
    xx, yy = np.meshgrid(x, y)
    return {"x": x, "y": y, "loss": loss_of_points(np.stack([xx, yy], axis=-1))}


# role -> matplotlib style; the roles are those of the figures' `labels`.
STYLES = {
    "gd": {"color": "tab:blue", "marker": "o", "open": True, "ms": 6},
    "ngd": {"color": "tab:orange", "marker": "s", "open": False, "ms": 3.5},
    "ngd_k": {"color": "tab:green", "marker": "^", "open": True, "ms": 7},
    "ngd_unit": {"color": "tab:red", "marker": "D", "open": True, "ms": 8},
    "ngd_k_unit": {"color": "tab:red", "marker": "D", "open": True, "ms": 8},
    "newton": {"color": "black", "marker": "x", "open": False, "ms": 4},
    "newton_unit": {"color": "black", "marker": "+", "open": False, "ms": 12},
    "gf": {"color": "tab:blue", "ls": "-"},
    "ngf": {"color": "tab:orange", "ls": "--"},
    "ngf_k": {"color": "tab:green", "ls": "-."},
}


def style(role: str) -> dict:
    for suffix in ("_identity",):
        role = role.removesuffix(suffix)
    return STYLES[role]


def figure(nrows: int, ncols: int, width: float = 5.0, height: float = 4.5):
    """A new figure (Agg canvas, no pyplot state) with an nrows × ncols array of axes."""
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def draw_contours(ax, grid: dict, levels: int = 14):
    z = _common.series(np.ravel(grid["loss"])).reshape(len(grid["loss"]), -1)
    positive = z[z > 0]
    lv = np.geomspace(
        max(positive.min(), 1e-4 * positive.max()), positive.max(), levels
    )
    ax.contour(
        grid["x"], grid["y"], z, levels=lv, colors="0.7", linewidths=0.6, zorder=0
    )


def _marker_style(role: str) -> dict:
    st = style(role)
    unit = role.endswith("_unit")
    return {
        "linestyle": ":" if unit else "none",
        "color": st["color"],
        "marker": st["marker"],
        "ms": st["ms"],
        "mfc": "none" if st["open"] else st["color"],
        "mew": 1.2,
        "lw": 1.0,
    }


def draw_path(
    ax, role: str, label: str, record: dict, plane: str, last: int | None = None
):
    """A flow as a curve, a discrete run as markers (its first `last` + 1 iterates)."""
    xy = np.asarray(record[plane], dtype=float)
    st = style(role)
    if record["kind"] == "flow":
        ax.plot(
            xy[:, 0],
            xy[:, 1],
            st["ls"],
            color=st["color"],
            lw=1.6,
            label=label,
            zorder=2,
        )
        return
    xy = xy if last is None else xy[: last + 1]
    ax.plot(
        xy[:, 0], xy[:, 1], **_marker_style(role), alpha=0.85, label=label, zorder=3
    )


def draw_ends(ax, start, end, start_label, end_label):
    ax.plot(*start, "ko", ms=7, zorder=5, label=start_label)
    ax.plot(*end, "k*", ms=13, zorder=5, label=end_label)


def draw_losses(ax, roles_labels, methods: dict, step: float, unit_last: int = 5):
    """Loss against iteration k; a flow against t / s (the iteration of step s at time
    t); a step-1 run only for its first `unit_last` + 1 iterates."""
    for role, label in roles_labels:
        record = methods[label]
        st = style(role)
        losses = _common.series(record["losses"])
        if record["kind"] == "flow":
            t = _common.series(record["ts"]) / step
            ax.semilogy(t, losses, st["ls"], color=st["color"], lw=1.6, label=label)
        else:
            k = np.arange(len(losses))
            if role.endswith("_unit"):
                k, losses = k[: unit_last + 1], losses[: unit_last + 1]
            ax.semilogy(k, losses, **_marker_style(role), label=label)
    ax.set(xlabel=f"iteration k  (flows: time t / s, s = {step:g})", ylabel="loss")
    ax.grid(True, which="major", alpha=0.3)
