"""Seed 003, toy example "Nonlinear manifold": v = (θᵀB + ½θᵀQθ)Φ, loss ½‖u − v‖²_K.

The quadratic model (`ng.QuadraticModel`) with the B of `toy_linear` and a Q that bends
the parametrisation: c(θ) = Bᵀθ + ½θᵀQθ with Q[0,1,0] = Q[1,0,0] = Q[0,1,1] =
Q[1,0,1] = Q[1,1,1] = 0.2 and 0 otherwise, i.e. c₀ = θ₁ + 0.7θ₂ + 0.2θ₁θ₂ and
c₁ = 0.5θ₂ + 0.2θ₁θ₂ + 0.1θ₂². The loss is that of `toy_nonisotropic` (same K, u and
starting function v₀; θ₀ and θ* are the preimages of c₀ and c*, by Newton's method from
B⁻ᵀc). Methods: GD, NGD with the L² metric (G = JᵀJ, J = ∂c/∂θ) and with the loss
Hessian (G = JᵀKJ, the Gauss–Newton matrix of the slide); iterates with constant step
s = 0.1 (and step 1 for NGD-K: the Gauss–Newton method) and flows (Tsit5, rtol 1e-13).

The tangent vectors ∂ᵢv = (Bᵢ + Qᵢθ)Φ now move with θ (violet in function space: the
images of the lines θ₁ = const and θ₂ = const). Here p = dim span Φ = 2, so where J is
invertible the tangent space is the whole plane and the projection of the straight
direction u − v on it is that direction itself: the NG flow (K) still runs along the
straight line to u, and the NG flow (L²) along the same curve as for the linear model of
`toy_nonisotropic` (dc/dt = −K(c − c*)): natural gradient flows do not depend on the
parametrisation. In θ both are now curved. A discrete step moves along the tangent
direction and the curved parametrisation takes the iterate off it by O(|Δθ|²): the
iterates leave the flows' paths, and one step of size 1 no longer solves the problem
(Gauss–Newton converges quadratically instead). GD's function-space path depends on θ
through JJᵀ and differs from the linear model's.

Settings the slides leave open (ours, in `settings`): Q (small entries, so that det J
stays away from 0 on every path: the map θ -> c is one-to-one there and all methods
reach the same θ*), K, B, u, v₀ as in `toy_nonisotropic`, s = 0.1, the number of steps.

Asserted (tests, quick run): the NG flow (K) runs on the segment c₀ → u and the NG flow
(L²) on the linear model's curve c* + e^{−tK}(c₀ − c*), while the NG flow's θ-path is
curved and the gradient flow differs from the linear model's; NGD-K's iterates stay
close to the segment but not on it, GD's leave it; Gauss–Newton (step 1) no longer
solves the problem in one step but converges quadratically; every method ends at θ*;
both NGDs end far below GD; det J stays away from 0.
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

STEP = 0.1
K = tp.K
SIZES = {"quick": {"steps": 100, "saves": 201}, "full": {"steps": 300, "saves": 601}}
GRID_LINES = 11  # θ₁ = const and θ₂ = const lines drawn in function space


def q_tensor():
    """Q (p, p, m) = (2, 2, 2), symmetric in its first two indices."""
    Q = np.zeros((2, 2, 2))
    Q[0, 1, 0] = Q[1, 0, 0] = 0.2
    Q[0, 1, 1] = Q[1, 0, 1] = 0.2
    Q[1, 1, 1] = 0.2
    return Q


def labels() -> dict:
    return {
        **tp.labels(newton=False),
        "ngd_k_unit": "NGD (K), step 1: Gauss–Newton",
    }


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
    checks["theta_paths"] = {
        role: tp.off_line(th[role], theta0, theta_target) for role in ("ngf", "ngf_k")
    }
    linear = {  # the function-space flows of the linear model v = θᵀBΦ (toy_nonisotropic)
        "gf": tp.linear_flow_path(B.T @ B @ Kc, tp.C_START, tp.C_TARGET, ts),
        "ngf": tp.linear_flow_path(Kc, tp.C_START, tp.C_TARGET, ts),
    }
    checks["ngf_vs_linear_model_flow"] = tp.max_deviation(cs["ngf"], linear["ngf"])
    checks["gf_vs_linear_model_flow"] = tp.max_deviation(cs["gf"], linear["gf"])
    dets = {
        role: [float(np.linalg.det(tp.jacobian(t, B, Q))) for t in th[role]]
        for role in th
    }
    checks["det_J_range"] = [min(map(min, dets.values())), max(map(max, dets.values()))]
    checks["det_B"] = float(np.linalg.det(B))
    checks["final_theta_distance_to_target"] = {
        role: float(np.linalg.norm(th[role][-1] - theta_target)) for role in th
    }
    checks["ngd_k_unit_losses"] = methods[name["ngd_k_unit"]]["losses"][:8]
    # The first step leaves the flow's direction by O(s²): c(θ₁) against the Euler step
    # c₀ − s A(c₀ − c*) of the function-space flow (A = K for L², I for K).
    e0 = np.asarray(tp.C_START) - np.asarray(tp.C_TARGET)
    for role, A in (("ngd", Kc), ("ngd_k", np.eye(2))):
        euler = np.asarray(tp.C_START) - STEP * A @ e0
        checks[f"{role}_first_step_off_euler"] = float(
            np.linalg.norm(cs[role][1] - euler)
        )
        checks[f"{role}_first_step_theta_length"] = float(
            np.linalg.norm(th[role][1] - theta0)
        )
    # Our closed forms (contours, grid lines) against ngflow's values on the iterates.
    ngd_k = methods[name["ngd_k"]]
    checks["coefficient_map_vs_monitors"] = tp.max_deviation(
        tp.coefficient_map(th["ngd_k"], B, Q), cs["ngd_k"]
    )
    checks["closed_form_loss_vs_ngflow"] = tp.max_deviation(
        tp.quadratic_loss(cs["ngd_k"], tp.C_TARGET, Kc), ngd_k["losses"]
    )
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
            lambda t: tp.quadratic_loss(tp.coefficient_map(t, B, Q), tp.C_TARGET, Kc),
            *theta_lim,
        ),
        "contours_c": tp.loss_grid(
            lambda c: tp.quadratic_loss(c, tp.C_TARGET, Kc), *c_lim
        ),
        "grid_lines_c": grid_lines(B, Q, theta_lim),
        "linear_model_flows": {
            "ts": ts,
            **{f"{role}_c": path for role, path in linear.items()},
            "note": "the function-space flows of the linear model v = θᵀBΦ with the same "
            "loss (toy_nonisotropic): c* + expm(-tA)(c0 - c*), A = BᵀBK (gradient "
            "flow), K (NG flow, L2)",
        },
    }
    settings = {
        "quick": quick,
        "labels": name,
        "model": "ng.QuadraticModel(basis, B, Q, theta0): c(θ) = Bᵀθ + ½ θᵀQθ",
        "loss": "ng.WeightedLeastSquares(u, points, point_K(K)) = 1/2 (c - c*)ᵀ K (c - c*)",
        "metrics": {
            "L2": "ng.Weighted(point_K(I), points): G = JᵀJ (= ng.L2 on span Phi)",
            "K": "ng.Weighted(point_K(K), points): G = JᵀKJ (Gauss-Newton)",
        },
        "B": B,
        "Q": Q,
        "K": Kc,
        "c_target": tp.C_TARGET,
        "c_start": tp.C_START,
        "step": STEP,
        "steps": size["steps"],
        "flow_saves": size["saves"],
        "flow_solver": tp.FLOW_SOLVER,
        "versions": _common.versions(),
    }
    return _common.jsonable(
        {
            "settings": settings,
            "methods": methods,
            "geometry": geometry,
            "checks": checks,
        }
    )


def _draw_grid_lines(ax, geometry):
    for key in ("theta1_const", "theta2_const"):
        for i, line in enumerate(geometry["grid_lines_c"][key]):
            line = np.asarray(line, dtype=float)
            label = (
                "c(θ) on θ₁, θ₂ = const" if key == "theta1_const" and i == 0 else None
            )
            ax.plot(
                line[:, 0],
                line[:, 1],
                color="tab:purple",
                lw=0.5,
                alpha=0.35,
                label=label,
            )


def plot(data: dict, path) -> None:
    tp.plot_three(
        data,
        path,
        f"½‖u − v‖²_K,  K = {tp.matrix_text(data['settings']['K'])}",
        f"Seed {SEED}, {SECTION}: {TITLE}",
        grid_lines=_draw_grid_lines,
    )
