"""Seed 003, toy example 'Nonlinear manifold': the quadratic model v = (θᵀB + ½θᵀQθ)Φ
(B of `toy_linear`, a small bending Q) fitted in the loss of `toy_nonisotropic`; GD, NGD
with the L² metric and with the loss Hessian (step s and 1: Gauss–Newton), and the flows.
The images of the θ grid lines in function space show the moving tangent vectors.

Plotted: θ-plane and function-space paths with loss contours and grid lines, and the loss.
Asserted (tests): the NG flow (K) runs on the segment c₀ → u and the NG flow (L²) on the
linear model's curve, while its θ-path is curved and the gradient flow differs from the
linear model's; NGD-K's iterates stay close to the segment but not on it, GD's leave it;
Gauss–Newton no longer solves the problem in one step but converges quadratically; every
method ends at θ*; both NGDs end far below GD; det J stays away from 0.
"""

import numpy as np

import ngflow as ng

from . import _common, _toy, _toy_paths as tp


NAME = "toy_nonlinear"
SEED = "003"
SECTION = "toy example: nonlinear manifold"
TITLE = (
    "Quadratic model v = (θᵀB + ½θᵀQθ)Φ, loss ½‖u − v‖²_K: GD vs NGD (L²) vs NGD (K)"
)
STEP, K = 0.1, tp.K
SIZES = {"quick": {"steps": 100, "saves": 201}, "full": {"steps": 300, "saves": 601}}
GRID_LINES = 11  # θ₁ = const and θ₂ = const lines drawn in function space


def q_tensor():
    """Q (p, p, m) = (2, 2, 2), symmetric in its first two indices."""
    Q = np.zeros((2, 2, 2))
    Q[0, 1, 0] = Q[1, 0, 0] = Q[0, 1, 1] = Q[1, 0, 1] = Q[1, 1, 1] = 0.2
    return Q


def labels() -> dict:
    return {**tp.labels(newton=False), "ngd_k_unit": "NGD (K), step 1: Gauss–Newton"}


def grid_lines(B, Q, theta_lim, n: int = GRID_LINES, points: int = 80) -> dict:
    """The images c(θ) of the lines θ₁ = const and θ₂ = const across the θ window."""
    t = [np.linspace(*theta_lim[i], points) for i in range(2)]
    out = {}
    for i, name in enumerate(("theta1_const", "theta2_const")):
        lines = []
        for a in np.linspace(*theta_lim[i], n):
            th = np.empty((points, 2))
            th[:, i], th[:, 1 - i] = a, t[1 - i]
            lines.append(tp.coefficient_map(th, B, Q))
        out[name] = np.stack(lines)
    return out


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    B, Q, Kc = np.asarray(tp.B_MIX), q_tensor(), np.asarray(K)
    theta0 = tp.preimage(tp.C_START, B, Q)
    theta_target = tp.preimage(tp.C_TARGET, B, Q)
    model = ng.QuadraticModel(_toy.basis, B, Q, theta0)
    name = labels()
    methods = tp.run_methods(model, Kc, size["steps"], size["saves"], STEP, name)
    ts = np.asarray(methods[name["gf"]]["ts"])
    th = {role: np.asarray(methods[name[role]]["theta"]) for role in name}
    cs = {role: np.asarray(methods[name[role]]["c"]) for role in name}
    checks = tp.straightness(methods, name, name)
    paths = {r: tp.off_line(th[r], theta0, theta_target) for r in ("ngf", "ngf_k")}
    checks["theta_paths"] = paths
    linear = {  # the function-space flows of the linear model v = θᵀBΦ (toy_nonisotropic)
        "gf": tp.linear_flow_path(B.T @ B @ Kc, tp.C_START, tp.C_TARGET, ts),
        "ngf": tp.linear_flow_path(Kc, tp.C_START, tp.C_TARGET, ts),
    }
    checks["ngf_vs_linear_model_flow"] = tp.max_deviation(cs["ngf"], linear["ngf"])
    checks["gf_vs_linear_model_flow"] = tp.max_deviation(cs["gf"], linear["gf"])
    dets = {r: [float(np.linalg.det(tp.jacobian(t, B, Q))) for t in th[r]] for r in th}
    checks["det_J_range"] = [min(map(min, dets.values())), max(map(max, dets.values()))]
    checks["det_B"] = float(np.linalg.det(B))
    ends = {r: float(np.linalg.norm(th[r][-1] - theta_target)) for r in th}
    checks["final_theta_distance_to_target"] = ends
    checks["ngd_k_unit_losses"] = methods[name["ngd_k_unit"]]["losses"][:8]
    # The first step against the Euler step c₀ − s A(c₀ − c*) of the function-space flow
    # (A = K for L², I for K): off it by O(s²).
    e0 = np.asarray(tp.C_START) - np.asarray(tp.C_TARGET)
    for role, A in (("ngd", Kc), ("ngd_k", np.eye(2))):
        euler = np.asarray(tp.C_START) - STEP * A @ e0
        checks[f"{role}_first_step_off_euler"] = float(
            np.linalg.norm(cs[role][1] - euler)
        )
        length = float(np.linalg.norm(th[role][1] - theta0))
        checks[f"{role}_first_step_theta_length"] = length
    # Our closed forms (contours, grid lines) against ngflow's values on the iterates.
    loss = lambda c: tp.quadratic_loss(c, tp.C_TARGET, Kc)  # noqa: E731
    d = tp.max_deviation(tp.coefficient_map(th["ngd_k"], B, Q), cs["ngd_k"])
    checks["coefficient_map_vs_monitors"] = d
    d = tp.max_deviation(loss(cs["ngd_k"]), methods[name["ngd_k"]]["losses"])
    checks["closed_form_loss_vs_ngflow"] = d
    theta_lim = tp.limits(
        *(th[r] for r in th if not r.endswith("_unit")), [theta_target]
    )
    shown = [
        t[:5] for r, t in th.items() if r.endswith("_unit")
    ]  # the plotted iterates
    theta_lim = tp.limits(np.asarray(theta_lim).T, *shown, pad=0.02)
    c_shown = [c[:5] for r, c in cs.items() if r.endswith("_unit")]
    c_lim = tp.limits(*(cs[r] for r in cs if not r.endswith("_unit")), *c_shown)
    geometry = {
        "theta_start": theta0,
        "theta_target": theta_target,
        "contours_theta": tp.loss_grid(
            lambda t: loss(tp.coefficient_map(t, B, Q)), *theta_lim
        ),
        "contours_c": tp.loss_grid(loss, *c_lim),
        "grid_lines_c": grid_lines(B, Q, theta_lim),
        "linear_model_flows": {
            "ts": ts,
            **{f"{role}_c": path for role, path in linear.items()},
            "note": "the function-space flows of the linear model v = θᵀBΦ with the same "
            "loss (toy_nonisotropic): c* + expm(-tA)(c0 - c*), A = BᵀBK (gradient "
            "flow), K (NG flow, L2)",
        },
    }
    metrics = {
        "L2": "ng.Weighted(point_K(I), points): G = JᵀJ (= ng.L2 on span Phi)",
        "K": "ng.Weighted(point_K(K), points): G = JᵀKJ (Gauss-Newton)",
    }
    settings = tp.settings(quick, name, STEP, size) | {
        "model": "ng.QuadraticModel(basis, B, Q, theta0): c(θ) = Bᵀθ + ½ θᵀQθ",
        "loss": "ng.WeightedLeastSquares(u, points, point_K(K)) = 1/2 (c - c*)ᵀ K (c - c*)",
        **{"metrics": metrics, "B": B, "Q": Q, "K": Kc},
    }
    out = {"settings": settings, "methods": methods, "geometry": geometry}
    return _common.jsonable({**out, "checks": checks})


def _draw_grid_lines(ax, geometry):
    for key in ("theta1_const", "theta2_const"):
        for i, line in enumerate(geometry["grid_lines_c"][key]):
            line = np.asarray(line, dtype=float)
            first = key == "theta1_const" and i == 0
            label = "c(θ) on θ₁, θ₂ = const" if first else None
            ax.plot(*line.T, color="tab:purple", lw=0.5, alpha=0.35, label=label)


def plot(data: dict, path) -> None:
    loss = f"½‖u − v‖²_K,  K = {tp.matrix_text(data['settings']['K'])}"
    header = f"Seed {SEED}, {SECTION}: {TITLE}"
    tp.plot_three(data, path, loss, header, grid_lines=_draw_grid_lines)
