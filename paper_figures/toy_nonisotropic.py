"""Seed 003, toy examples "Non isotropic loss", "Natural gradient descent with loss
hessian" and "Natural gradient and Newton method are equivalent for linear models".

The linear model v = θᵀBΦ of `toy_linear` (same B, u, v₀) now fits u in the
non-isotropic loss ½‖u − v‖²_K = ½ (c − c*)ᵀK(c − c*), K = [[1, 0.3], [0.3, 4]]
(eigenvalues 0.97 and 4.03) on the coefficients c = Bᵀθ of v. In function space:

- GD: dc/dt = −BᵀBK(c − c*), biased by both B and K;
- NGD with the L² metric (G = BBᵀ): dc/dt = −K(c − c*), no longer biased by B but by
  the loss: it first kills the stiff direction of K, a curved path;
- NGD with the loss Hessian in the metric (G = BKBᵀ, `ng.Weighted(point_K(K))`, which
  is `ng.GaussNewton()` for this loss): dc/dt = −(c − c*), the straight line to u; with
  step 1 it solves the problem in one step, and since G is the Hessian of the loss in θ
  it is Newton's method (`ng.Newton`), iterate for iterate.

Flows are curves (diffrax Tsit5, rtol 1e-13), iterates with constant step s = 0.1
markers; the loss panel puts the flows at t / s. Grey: loss contours.

Settings the slides leave open (ours): K, and B, u, v₀ as in `toy_linear`; s = 0.1 (so
that the iterates follow the flows: s·λ_max = 0.23 for GD, whose Hessian BKBᵀ has
eigenvalues 0.43 and 2.27, and 0.40 for NGD-L²), 150 steps (--quick 80). The L² metric
is `ng.Weighted(point_K(I))`, equal to `ng.L2` on span Φ, where all tangent vectors lie
(the quadrature is exact): NGD-L² and NGD-K then share one compiled solve (and
`toy_linear`'s); the full run also solves with `ng.L2`: same iterates to 6e-16.

Measured (full run): the NGD-K iterates and the NG flow (K) lie on the segment c₀ → u to
2e-16 and 4e-16 (in units of |u − c₀|); NGD-L² leaves it by 0.24 (its flow 0.21), GD by
0.40 (its flow 0.38). NGD-K with step 1 takes the loss from 10.0 to 3.8e-30 in one step,
as Newton's step 1 does (same iterates to 4e-15); Newton and NGD-K with s = 0.1 agree to
1.4e-15 over all 150 iterates. Final loss after 150 steps: GD 4.3e-6, NGD-L² 4.1e-14,
NGD-K 1.9e-13 (NGD-L² is faster here: it first removes the stiff direction of K). The
flows match their closed forms c* + e^{−tA}(c₀ − c*) (A = BᵀBK, K, I) to 4e-14.

Time (2 shared cores under load ~6): a quick run alone takes ~24 s wall, ~19 s CPU,
mostly compiling five programs (GD, NGD, Newton, two flows); after `toy_linear` in the
same process only Newton's is new (~7 s wall).
"""

import time

import jax
import numpy as np

import ngflow as ng

from . import _common, _toy, _toy_paths as tp


NAME = "toy_nonisotropic"
SEED = "003"
SECTION = "toy examples: non-isotropic loss; NGD with loss Hessian = Newton"
TITLE = "Linear model, loss ½‖u − v‖²_K: GD vs NGD (L² metric) vs NGD (loss Hessian)"

STEP = 0.1
K = ((1.0, 0.3), (0.3, 4.0))
SIZES = tp.LINEAR_SIZES


def labels(newton: bool = True) -> dict:
    out = {
        "gf": "gradient flow",
        "ngf": "NG flow (L²)",
        "ngf_k": "NG flow (K)",
        "gd": "GD",
        "ngd": "NGD (L²)",
        "ngd_k": "NGD (K: loss Hessian)",
        "ngd_k_unit": "NGD (K), step 1",
    }
    if newton:
        out.update({"newton": "Newton", "newton_unit": "Newton, step 1"})
    return out


def run_methods(model, K, steps: int, saves: int, step: float, name: dict) -> dict:
    """GD, NGD with the L² and with the K metric (step s and 1), their flows, and
    Newton (step s and 1) if `name` has it, on v = `model`, loss ½‖u − v‖²_K; `name`
    maps the roles to the labels."""
    loss = tp.k_loss(tp.C_TARGET, K)
    on = {
        "L2": ng.Problem(model, loss, tp.l2_metric_on_span()),
        "K": ng.Problem(model, loss, tp.k_metric(K)),
    }
    newton = "newton" in name
    t1 = steps * step
    ngd = "ng.NaturalGradient(ng.Pinv(), ng.Constant({s})), metric {m}"
    ngf = "ng.NaturalGradientFlow(gram=ng.Pinv()), metric {m}"
    l2_text = "L2 (ng.Weighted(point_K(I), points))"
    k_text = "K (ng.Weighted(point_K(K), points))"
    out = {
        name["gf"]: tp.flow(on["K"], ng.GradientFlow(), t1, saves, "ng.GradientFlow()"),
        name["ngf"]: tp.flow(
            on["L2"],
            ng.NaturalGradientFlow(gram=ng.Pinv()),
            t1,
            saves,
            ngf.format(m=l2_text),
        ),
        name["ngf_k"]: tp.flow(
            on["K"],
            ng.NaturalGradientFlow(gram=ng.Pinv()),
            t1,
            saves,
            ngf.format(m=k_text),
        ),
        name["gd"]: tp.discrete(
            on["K"],
            ng.GradientDescent(ng.Constant(step)),
            steps,
            f"ng.GradientDescent(ng.Constant({step}))",
        ),
    }
    for role, metric, text, s in (
        ("ngd", "L2", l2_text, step),
        ("ngd_k", "K", k_text, step),
        ("ngd_k_unit", "K", k_text, 1.0),
    ):
        method = ng.NaturalGradient(ng.Pinv(), ng.Constant(s))
        out[name[role]] = tp.discrete(
            on[metric], method, steps, ngd.format(s=s, m=text)
        )
    if newton:
        for role, s in (("newton", step), ("newton_unit", 1.0)):
            out[name[role]] = tp.discrete(
                on["K"],
                ng.Newton(ng.Pinv(), ng.Constant(s)),
                steps,
                f"ng.Newton(ng.Pinv(), ng.Constant({s})): Hessian of the loss in θ",
            )
    return out


def straightness(methods: dict, name: dict, roles, plane: str = "c") -> dict:
    return {
        role: tp.off_line(methods[name[role]][plane], tp.C_START, tp.C_TARGET)
        for role in roles
    }


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    start = time.perf_counter()
    B = np.asarray(tp.B_MIX)
    Kc = np.asarray(K)
    theta0 = np.linalg.solve(B.T, np.asarray(tp.C_START))
    theta_target = np.linalg.solve(B.T, np.asarray(tp.C_TARGET))
    model = ng.LinearModel(_toy.basis, B, theta0)
    name = labels()
    methods = run_methods(model, Kc, size["steps"], size["saves"], STEP, name)
    ts = np.asarray(methods[name["gf"]]["ts"])
    closed = {
        role: tp.linear_flow_path(A, tp.C_START, tp.C_TARGET, ts)
        for role, A in (("gf", B.T @ B @ Kc), ("ngf", Kc), ("ngf_k", np.eye(2)))
    }
    checks = straightness(methods, name, ("gd", "ngd", "ngd_k", "gf", "ngf", "ngf_k"))
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
        check = tp.discrete(
            ng.Problem(model, tp.k_loss(tp.C_TARGET, Kc), tp.l2_metric()),
            ng.NaturalGradient(ng.Pinv(), ng.Constant(STEP)),
            size["steps"],
            "ng.L2",
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
        "basis": "Phi(x) = [1, sqrt(2) sin(2 pi x)], orthonormal in L2(0, 1)",
        "quadrature": f"midpoint rule, {_toy.N_QUAD} points (exact for Phi_i Phi_j)",
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
        "target": "u = 0.5 + sqrt(2) sin(2 pi x)",
        "start": "v0 = -1 - sqrt(2) sin(2 pi x); theta0 = B^-T c0",
        "step": STEP,
        "unit_step": 1.0,
        "steps": size["steps"],
        "flow_t1": size["steps"] * STEP,
        "flow_saves": size["saves"],
        "flow_solver": tp.FLOW_SOLVER,
        "our_choices": [
            "The slides give no K, B, u, v0, step or iteration count; ours are recorded "
            "here (B, u, v0 as in toy_linear).",
            f"Constant step s = {STEP} for GD, NGD and Newton, so that the iterates are "
            "explicit Euler steps of the flows (flow time t = k s).",
            "The L2 metric as ng.Weighted(point_K(I)) (equal to ng.L2 on span Phi) so "
            "that both natural gradients share one compiled solve; Gram solves by "
            "ng.Pinv.",
        ],
        "all_methods_wall_time_s": time.perf_counter() - start,
        "versions": {"ngflow": ng.__version__, "jax": jax.__version__},
    }
    return _common.jsonable(
        {
            "settings": settings,
            "methods": methods,
            "geometry": geometry,
            "checks": checks,
        }
    )


PLOT_ROLES = (
    "gf",
    "ngf",
    "ngf_k",
    "gd",
    "ngd",
    "ngd_k",
    "newton",
    "ngd_k_unit",
    "newton_unit",
)


def plot_three(data: dict, path, loss_text: str, header: str, grid_lines=None) -> None:
    """θ-plane, c-plane (with optional mapped θ grid lines) and loss, one row."""
    s, g = data["settings"], data["geometry"]
    name, methods = s["labels"], data["methods"]
    roles = [r for r in PLOT_ROLES if r in name]
    fig, axes = tp.figure(1, 3, width=5.4, height=5.2)
    ax_theta, ax_c, ax_loss = axes[0]
    tp.draw_contours(ax_theta, g["contours_theta"])
    tp.draw_contours(ax_c, g["contours_c"])
    if grid_lines is not None:
        grid_lines(ax_c, g)
    for role in roles:
        last = 4 if role.endswith("_unit") else None
        tp.draw_path(ax_theta, role, name[role], methods[name[role]], "theta", last)
        tp.draw_path(ax_c, role, name[role], methods[name[role]], "c", last)
    tp.draw_ends(ax_theta, g["theta_start"], g["theta_target"], "θ₀", "θ* (v = u)")
    tp.draw_ends(ax_c, s["c_start"], s["c_target"], "v₀", "u")
    for ax, key in ((ax_theta, "contours_theta"), (ax_c, "contours_c")):
        ax.set_xlim(g[key]["x"][0], g[key]["x"][-1])
        ax.set_ylim(g[key]["y"][0], g[key]["y"][-1])
    ax_theta.set(xlabel="θ₁", ylabel="θ₂", title="parameter space θ", aspect="equal")
    ax_c.set(
        xlabel="c₀ = ⟨v, 1⟩",
        ylabel="c₁ = ⟨v, √2 sin 2πx⟩",
        title="function space: v = c₀ + c₁ √2 sin 2πx",
        aspect="equal",
    )
    tp.draw_losses(ax_loss, [(r, name[r]) for r in roles], methods, s["step"])
    ax_loss.set_title(f"loss {loss_text}")
    fig.legend(
        *ax_c.get_legend_handles_labels(),
        loc="outside lower center",
        ncol=6,
        fontsize=8,
    )
    fig.suptitle(
        f"{header}\nmarkers: iterates with constant step s = {s['step']:g} "
        f"({s['steps']} steps; step-1 runs: the first few); curves: flows (diffrax Tsit5); "
        "grey: loss contours",
        fontsize=10,
    )
    _common.save(fig, path)


def plot(data: dict, path) -> None:
    plot_three(
        data,
        path,
        f"½‖u − v‖²_K,  K = {tp.matrix_text(data['settings']['K'])}",
        f"Seed {SEED}, {SECTION}: {TITLE}",
    )
