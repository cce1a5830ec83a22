"""Seed 003, toy examples 'Non isotropic loss', 'Natural gradient descent with loss
hessian' and 'Natural gradient and Newton method are equivalent for linear models': the
linear model of `toy_linear` fitted in ½‖u − v‖²_K; GD, NGD with the L² metric and with
the loss Hessian (G = BKBᵀ, steps s and 1), Newton, and the flows.

Plotted: θ-plane and function-space paths with loss contours, and the loss.
Asserted (tests): the iterates are explicit Euler steps of dc/dt = −BᵀBK(c − c*) (GD),
−K(c − c*) (NGD-L²) and −(c − c*) (NGD-K); only NGD-K and its flow run on the segment
c₀ → u; the flows match their closed forms; NGD-K with step 1 solves the problem in one
step; Newton's iterates equal NGD-K's; both NGDs end far below GD.
"""

import numpy as np

import ngflow as ng

from . import _common, _toy, _toy_paths as tp


NAME = "toy_nonisotropic"
SEED = "003"
SECTION = "toy examples: non-isotropic loss; NGD with loss Hessian = Newton"
TITLE = "Linear model, loss ½‖u − v‖²_K: GD vs NGD (L² metric) vs NGD (loss Hessian)"

STEP, K, SIZES = 0.1, tp.K, tp.LINEAR_SIZES


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    B, Kc = np.asarray(tp.B_MIX), np.asarray(K)
    theta0 = np.linalg.solve(B.T, np.asarray(tp.C_START))
    theta_target = np.linalg.solve(B.T, np.asarray(tp.C_TARGET))
    model = ng.LinearModel(_toy.basis, B, theta0)
    name = tp.labels()
    methods = tp.run_methods(model, Kc, size["steps"], size["saves"], STEP, name)
    ts = np.asarray(methods[name["gf"]]["ts"])
    closed = {
        role: tp.linear_flow_path(A, tp.C_START, tp.C_TARGET, ts)
        for role, A in (("gf", B.T @ B @ Kc), ("ngf", Kc), ("ngf_k", np.eye(2)))
    }
    roles = ("gd", "ngd", "ngd_k", "gf", "ngf", "ngf_k")
    checks = tp.straightness(methods, name, roles)
    for role in closed:
        d = tp.max_deviation(methods[name[role]]["c"], closed[role])
        checks[f"{role}_vs_closed_form"] = d
    th = {role: np.asarray(methods[name[role]]["theta"]) for role in name}
    checks["newton_vs_ngd_k_theta"] = tp.max_deviation(th["newton"], th["ngd_k"])
    d = tp.max_deviation(th["newton_unit"], th["ngd_k_unit"])
    checks["newton_unit_vs_ngd_k_unit_theta"] = d
    unit = methods[name["ngd_k_unit"]]
    checks["ngd_k_unit_loss_after_one_step"] = unit["losses"][1]
    checks["ngd_k_unit_c_after_one_step"] = unit["c"][1]
    if not quick:  # the L² metric as ng.L2 gives the same iterates
        problem = ng.Problem(model, tp.k_loss(tp.C_TARGET, Kc), tp.l2_metric())
        method = ng.NaturalGradient(ng.Pinv(), ng.Constant(STEP))
        check = _toy.discrete(problem, method, size["steps"])
        d = tp.max_deviation(check["theta"], th["ngd"])
        checks["ngd_with_ng_L2_vs_weighted_identity_theta"] = d
    theta_lim = tp.limits(*(r["theta"] for r in methods.values()), [theta_target])
    c_lim = tp.limits(*(r["c"] for r in methods.values()), [tp.C_TARGET])
    loss = lambda c: tp.quadratic_loss(c, tp.C_TARGET, Kc)  # noqa: E731
    geometry = {
        "theta_start": theta0,
        "theta_target": theta_target,
        "gram_L2": B @ B.T,
        "gram_K": B @ Kc @ B.T,
        "gram_K_eigenvalues": np.linalg.eigvalsh(B @ Kc @ B.T),
        "K_eigenvalues": np.linalg.eigvalsh(Kc),
        "contours_theta": tp.loss_grid(
            lambda t: loss(tp.coefficient_map(t, B)), *theta_lim
        ),
        "contours_c": tp.loss_grid(loss, *c_lim),
        "closed_form_flows": {
            "ts": ts,
            **{f"{role}_c": path for role, path in closed.items()},
            "note": "c(t) = c* + expm(-tA)(c0 - c*), A = BᵀBK (gradient flow), K (NG "
            "flow, L2), I (NG flow, K)",
        },
    }
    settings = tp.settings(quick, name, STEP, size) | {
        "model": "ng.LinearModel(basis, B, theta0): v = thetaᵀ B Phi, c = Bᵀ theta",
        "loss": "ng.WeightedLeastSquares(u, points, point_K(K)) = 1/2 (c - c*)ᵀ K (c - c*)",
        "metrics": {
            "L2": "ng.Weighted(point_K(I), points): G = B Bᵀ (= ng.L2 on span Phi)",
            "K": "ng.Weighted(point_K(K), points): G = B K Bᵀ, the loss Hessian in theta",
        },
        **{"B": B, "K": Kc},
    }
    out = {"settings": settings, "methods": methods, "geometry": geometry}
    return _common.jsonable({**out, "checks": checks})


def plot(data: dict, path) -> None:
    loss = f"½‖u − v‖²_K,  K = {tp.matrix_text(data['settings']['K'])}"
    tp.plot_three(data, path, loss, f"Seed {SEED}, {SECTION}: {TITLE}")
