"""Seed 003's linear and quadratic toy examples (`toy_linear`, `toy_nonisotropic`,
`toy_nonlinear`): setting, closed forms, runs, checks and panels. A point c of function
space is v = cᵀΦ (`_toy`); c(θ) = Bᵀθ + ½θᵀQθ."""

import numpy as np
import scipy.linalg

import ngflow as ng

from . import _common, _toy


B_MIX = ((1.0, 0.0), (0.7, 0.5))  # rows: the tangent vectors b₁, b₂ of v = θᵀBΦ
C_TARGET, C_START = (0.5, 1.0), (-1.0, -1.0)  # u = ½ + √2 sin 2πx, v₀ = −1 − √2 sin 2πx
K = ((1.0, 0.3), (0.3, 4.0))  # the non-isotropic K of ½‖u − v‖²_K
# The linear-model figures share steps and flow saves (and so compiled solves).
LINEAR_SIZES = dict(quick=dict(steps=80, saves=161), full=dict(steps=150, saves=601))
FLOW_TOL = (1e-13, 1e-15)  # ng.solve's defaults leave the flows' loss above round-off
FLOW_SOLVER = "diffrax Tsit5, PIDController(rtol=%g, atol=%g)" % FLOW_TOL


def _u(c):
    return _toy.basis_matrix() @ np.asarray(c, dtype=float)


def l2_loss(c_target):  # ½‖u − v‖²_{L²}
    return ng.LeastSquares(_u(c_target), _toy.POINTS, _toy.WEIGHTS)


def k_loss(c_target, K):  # ½‖u − v‖²_K = ½ (c − c*)ᵀK(c − c*)
    return ng.WeightedLeastSquares(_u(c_target), _toy.POINTS, _toy.point_K(K))


def l2_metric():
    return ng.L2(_toy.POINTS, _toy.WEIGHTS)


def k_metric(K):
    """G = JᵀKJ; `k_metric(I)` is the L² metric on span Φ, of the type of `k_metric(K)`
    (so both natural gradients share one compiled solve)."""
    return ng.Weighted(_toy.point_K(K), _toy.POINTS)


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
        step = coefficient_map(theta, B, Q) - c
        theta = theta - np.linalg.solve(jacobian(theta, B, Q), step)
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


def off_line(points, start, end) -> dict:
    """Largest distance of `points` from the line start → end, and their range along it."""
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
    rows = ("[" + ", ".join(f"{x:g}" for x in row) + "]" for row in M)
    return "[" + ", ".join(rows) + "]"


def max_deviation(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def limits(*paths, pad=0.12):
    """Common (xlim, ylim) around all points of `paths` (arrays (n, 2)), padded."""
    points = np.concatenate([np.asarray(p, float).reshape(-1, 2) for p in paths])
    points = points[np.all(np.isfinite(points), axis=1)]
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.maximum(hi - lo, 1e-3)
    lo, hi = lo - pad * span, hi + pad * span
    return [float(lo[0]), float(hi[0])], [float(lo[1]), float(hi[1])]


def loss_grid(loss_of_points, xlim, ylim, n: int = 61) -> dict:
    """The loss on an n × n grid: `loss_of_points` maps (..., 2) → (...)."""
    x, y = np.linspace(*xlim, n), np.linspace(*ylim, n)
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


def _style(role: str) -> dict:
    """Matplotlib keywords of a role: a line for a flow, markers for a discrete run."""
    st = STYLES[role.removesuffix("_identity")]
    if "ls" in st:
        return dict(color=st["color"], ls=st["ls"], lw=1.6)
    mfc = "none" if st["open"] else st["color"]
    ls = ":" if role.endswith("_unit") else "none"
    return dict(ls=ls, color=st["color"], marker=st["marker"], ms=st["ms"], mfc=mfc)


def draw_losses(ax, roles_labels, methods: dict, step: float, unit_last: int = 5):
    """Loss per iteration (flows: t / s; step-1 runs: the first `unit_last` + 1)."""
    for role, label in roles_labels:
        record = methods[label]
        losses = _common.series(record["losses"])
        k = np.arange(len(losses))
        if record["kind"] == "flow":
            k = _common.series(record["ts"]) / step
        elif role.endswith("_unit"):
            k, losses = k[: unit_last + 1], losses[: unit_last + 1]
        ax.semilogy(k, losses, **_style(role), label=label)
    ax.set(xlabel=f"iteration k  (flows: time t / s, s = {step:g})", ylabel="loss")
    ax.grid(True, which="major", alpha=0.3)


def labels(newton: bool = True) -> dict:
    out = dict(gf="gradient flow", ngf="NG flow (L²)", ngf_k="NG flow (K)", gd="GD")
    out |= {"ngd": "NGD (L²)", "ngd_k": "NGD (K: loss Hessian)"}
    out["ngd_k_unit"] = "NGD (K), step 1"
    if newton:
        out.update({"newton": "Newton", "newton_unit": "Newton, step 1"})
    return out


def run_methods(model, K, steps: int, saves: int, step: float, name: dict) -> dict:
    """GD, NGD (L² and K metric), their flows and Newton, on ½‖u − v‖²_K; the roles in
    `name` (role -> label)."""
    loss = k_loss(C_TARGET, K)
    on = {
        m: ng.Problem(model, loss, k_metric(k))
        for m, k in (("L2", np.eye(2)), ("K", K))
    }
    t1, pinv, ngf = steps * step, ng.Pinv(), ng.NaturalGradientFlow(gram=ng.Pinv())
    metric_text = {"L2": "L2 (point_K(I))", "K": "K (point_K(K))"}
    flows = (("gf", "K", ng.GradientFlow()), ("ngf", "L2", ngf), ("ngf_k", "K", ngf))
    out = {}
    for role, m, f in flows:
        text = f"{f!r}, metric {metric_text[m]}"
        out[name[role]] = _toy.flow(on[m], f, t1, saves, text, tol=FLOW_TOL)
    runs = [
        ("gd", "K", ng.GradientDescent(ng.Constant(step))),
        ("ngd", "L2", ng.NaturalGradient(pinv, ng.Constant(step))),
        ("ngd_k", "K", ng.NaturalGradient(pinv, ng.Constant(step))),
        ("ngd_k_unit", "K", ng.NaturalGradient(pinv, ng.Constant(1.0))),
        ("newton", "K", ng.Newton(pinv, ng.Constant(step))),
        ("newton_unit", "K", ng.Newton(pinv, ng.Constant(1.0))),
    ]
    for role, m, method in runs:
        if role in name:
            text = f"{method!r}, metric {metric_text[m]}"
            out[name[role]] = _toy.discrete(on[m], method, steps, text)
    return out


def settings(quick: bool, name: dict, step: float, size: dict) -> dict:
    """The settings the toy figures share."""
    out = {"quick": quick, "labels": name, "c_target": C_TARGET}
    out |= {"c_start": C_START, "step": step, "steps": size["steps"]}
    out |= {"flow_saves": size["saves"], "flow_solver": FLOW_SOLVER}
    return out | {"versions": _common.versions()}


def straightness(methods: dict, name: dict, roles, plane: str = "c") -> dict:
    return {r: off_line(methods[name[r]][plane], C_START, C_TARGET) for r in roles}


PLOT_ROLES = ("gf", "ngf", "ngf_k", "gd", "ngd", "ngd_k", "newton", "ngd_k_unit")
PLOT_ROLES += ("newton_unit",)


def draw_row(axes, s: dict, g: dict, methods: dict, roles, last: int, grid_lines=None):
    """θ-plane, c-plane (optional mapped θ grid lines) and loss of `roles`, geometry `g`:
    contours, flows as curves, discrete runs as markers (step-1 runs: `last` + 1)."""
    name = s["labels"]
    ends = [(g["theta_start"], g["theta_target"], "θ₀", "θ* (v = u)")]
    ends += [(s["c_start"], s["c_target"], "v₀", "u")]
    for ax, plane, (start, end, a, b) in zip(
        axes[:2], ("theta", "c"), ends, strict=True
    ):
        grid = g[f"contours_{plane}"]
        z = _common.series(grid["loss"])
        top = z[z > 0].max()
        lv = np.geomspace(max(z[z > 0].min(), 1e-4 * top), top, 14)
        kw = {"levels": lv, "colors": "0.7", "linewidths": 0.6, "zorder": 0}
        ax.contour(grid["x"], grid["y"], z, **kw)
        if grid_lines is not None and plane == "c":
            grid_lines(ax, g)
        for role in roles:
            xy = _common.series(methods[name[role]][plane])
            xy = xy[: last + 1] if role.endswith("_unit") else xy
            kw = {"mew": 1.2, "alpha": 0.85, "label": name[role], "zorder": 3}
            ax.plot(*xy.T, **_style(role), **kw)
        ax.plot(*start, "ko", ms=7, zorder=5, label=a)
        ax.plot(*end, "k*", ms=13, zorder=5, label=b)
        ax.set(xlim=(grid["x"][0], grid["x"][-1]), aspect="equal")
        ax.set_ylim(grid["y"][0], grid["y"][-1])
    axes[0].set(xlabel="θ₁", ylabel="θ₂")
    axes[1].set(xlabel="c₀ = ⟨v, 1⟩", ylabel="c₁ = ⟨v, √2 sin 2πx⟩")
    draw_losses(axes[2], [(r, name[r]) for r in roles], methods, s["step"])


def plot_three(data: dict, path, loss_text: str, header: str, grid_lines=None) -> None:
    """θ-plane, c-plane (with optional mapped θ grid lines) and loss, one row."""
    s, g = data["settings"], data["geometry"]
    roles = [r for r in PLOT_ROLES if r in s["labels"]]
    fig, axes = _common.figure(1, 3, width=5.4, height=5.2)
    draw_row(axes[0], s, g, data["methods"], roles, 4, grid_lines)
    axes[0, 0].set_title("parameter space θ")
    axes[0, 1].set_title("function space: v = c₀ + c₁ √2 sin 2πx")
    axes[0, 2].set_title(f"loss {loss_text}")
    handles = axes[0, 1].get_legend_handles_labels()
    fig.legend(*handles, loc="outside lower center", ncol=6, fontsize=8)
    title = (
        f"{header}\nmarkers: iterates with constant step s = {s['step']:g} "
        f"({s['steps']} steps; step-1 runs: the first few); curves: flows (diffrax "
        "Tsit5); grey: loss contours"
    )
    _common.save(fig, path, title)
