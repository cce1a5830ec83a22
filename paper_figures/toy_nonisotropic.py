"""Seed 003, toy examples "Non isotropic loss", "Natural gradient descent with loss
hessian" and "Natural gradient and Newton method are equivalent for linear models".

The linear model v = θᵀBΦ of `toy_linear` (same B, u, v₀) now fits u in the
non-isotropic loss ½‖u − v‖²_K = ½ (c − c*)ᵀK(c − c*), K = [[1, 0.3], [0.3, 4]]
on the coefficients c = Bᵀθ of v. In function space:

- GD: dc/dt = −BᵀBK(c − c*), biased by both B and K;
- NGD with the L² metric (G = BBᵀ): dc/dt = −K(c − c*), no longer biased by B but by
  the loss: it first kills the stiff direction of K, a curved path;
- NGD with the loss Hessian in the metric (G = BKBᵀ, `ng.Weighted(point_K(K))`, which
  is `ng.GaussNewton()` for this loss): dc/dt = −(c − c*), the straight line to u; with
  step 1 it solves the problem in one step, and since G is the Hessian of the loss in θ
  it is Newton's method (`ng.Newton`), iterate for iterate.

Flows are curves (diffrax Tsit5, rtol 1e-13), iterates with constant step s = 0.1
markers; the loss panel puts the flows at t / s. Grey: loss contours.

Settings the slides leave open (ours, in `settings`): K, and B, u, v₀ as in
`toy_linear`; s = 0.1 (so that the iterates follow the flows), the number of steps. The
L² metric is `ng.Weighted(point_K(I))`, equal to `ng.L2` on span Φ, where all tangent
vectors lie: NGD-L² and NGD-K then share one compiled solve; the full run records the
distance to the iterates with `ng.L2`.

Asserted (tests, quick run): the iterates are exactly explicit Euler steps of
dc/dt = −BᵀBK(c − c*) (GD), −K(c − c*) (NGD-L²) and −(c − c*) (NGD-K); only NGD-K and
its flow run on the segment c₀ → u; the three flows match their closed forms; NGD-K with
step 1 solves the problem in one step; Newton's iterates equal NGD-K's (steps s and 1);
both NGDs end far below GD.
"""

import numpy as np

import ngflow as ng

from . import _common, _toy, _toy_paths as tp


NAME = "toy_nonisotropic"
SEED = "003"
SECTION = "toy examples: non-isotropic loss; NGD with loss Hessian = Newton"
TITLE = "Linear model, loss ½‖u − v‖²_K: GD vs NGD (L² metric) vs NGD (loss Hessian)"

STEP = 0.1
K = tp.K
SIZES = tp.LINEAR_SIZES


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    B = np.asarray(tp.B_MIX)
    Kc = np.asarray(K)
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
    checks = tp.straightness(
        methods, name, ("gd", "ngd", "ngd_k", "gf", "ngf", "ngf_k")
    )
    for role in closed:
        checks[f"{role}_vs_closed_form"] = tp.max_deviation(
            methods[name[role]]["c"], closed[role]
        )
    th = {role: np.asarray(methods[name[role]]["theta"]) for role in name}
    checks["newton_vs_ngd_k_theta"] = tp.max_deviation(th["newton"], th["ngd_k"])
    checks["newton_unit_vs_ngd_k_unit_theta"] = tp.max_deviation(
        th["newton_unit"], th["ngd_k_unit"]
    )
    unit = methods[name["ngd_k_unit"]]
    checks["ngd_k_unit_loss_after_one_step"] = unit["losses"][1]
    checks["ngd_k_unit_c_after_one_step"] = unit["c"][1]
    if not quick:  # the L² metric as ng.L2 gives the same iterates
        check = _toy.discrete(
            ng.Problem(model, tp.k_loss(tp.C_TARGET, Kc), tp.l2_metric()),
            ng.NaturalGradient(ng.Pinv(), ng.Constant(STEP)),
            size["steps"],
        )
        checks["ngd_with_ng_L2_vs_weighted_identity_theta"] = tp.max_deviation(
            check["theta"], th["ngd"]
        )
    theta_lim = tp.limits(*(r["theta"] for r in methods.values()), [theta_target])
    c_lim = tp.limits(*(r["c"] for r in methods.values()), [tp.C_TARGET])
    geometry = {
        "theta_start": theta0,
        "theta_target": theta_target,
        "gram_L2": B @ B.T,
        "gram_K": B @ Kc @ B.T,
        "gram_K_eigenvalues": np.linalg.eigvalsh(B @ Kc @ B.T),
        "K_eigenvalues": np.linalg.eigvalsh(Kc),
        "contours_theta": tp.loss_grid(
            lambda t: tp.quadratic_loss(tp.coefficient_map(t, B), tp.C_TARGET, Kc),
            *theta_lim,
        ),
        "contours_c": tp.loss_grid(
            lambda c: tp.quadratic_loss(c, tp.C_TARGET, Kc), *c_lim
        ),
        "closed_form_flows": {
            "ts": ts,
            **{f"{role}_c": path for role, path in closed.items()},
            "note": "c(t) = c* + expm(-tA)(c0 - c*), A = BᵀBK (gradient flow), K (NG "
            "flow, L2), I (NG flow, K)",
        },
    }
    settings = {
        "quick": quick,
        "labels": name,
        "model": "ng.LinearModel(basis, B, theta0): v = thetaᵀ B Phi, c = Bᵀ theta",
        "loss": "ng.WeightedLeastSquares(u, points, point_K(K)) = 1/2 (c - c*)ᵀ K (c - c*)",
        "metrics": {
            "L2": "ng.Weighted(point_K(I), points): G = B Bᵀ (= ng.L2 on span Phi)",
            "K": "ng.Weighted(point_K(K), points): G = B K Bᵀ, the loss Hessian in theta",
        },
        "B": B,
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


def plot(data: dict, path) -> None:
    tp.plot_three(
        data,
        path,
        f"½‖u − v‖²_K,  K = {tp.matrix_text(data['settings']['K'])}",
        f"Seed {SEED}, {SECTION}: {TITLE}",
    )
