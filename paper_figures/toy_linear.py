"""Seed 003, toy examples 'Gradient descent is biased in functional space' and 'Natural
gradient descent': a linear model v = θᵀBΦ (Φ orthonormal, `_toy`, so c = Bᵀθ) fitted to
u in ½‖u − v‖²_{L²}; GD, NGD (step s and 1) and both flows, with B = I and B mixing.

Plotted, per B: θ-plane and function-space paths with loss contours, and the loss.
Asserted (tests): with B = I, GD and NGD (and their flows) coincide; with B mixing, the
iterates are explicit Euler steps of dc/dt = −(c − c*) (NGD) and −BᵀB(c − c*) (GD); NGD
and the NG flow lie on the segment c₀ → u and approach u monotonically, GD and the
gradient flow leave it; both flows match their closed forms; NGD with step 1 reaches u in
one step; NGD and the NG flow end far below GD and the gradient flow.
"""

import numpy as np

import ngflow as ng

from . import _common, _toy, _toy_paths as tp


NAME = "toy_linear"
SEED = "003"
SECTION = "toy examples: GD biased in function space; NGD"
TITLE = "Linear model v = θᵀBΦ, L² loss: GD vs NGD, iterates and flows"

STEP = 0.25
SIZES = tp.LINEAR_SIZES
CASES = {"identity": ((1.0, 0.0), (0.0, 1.0)), "mixed": tp.B_MIX}


def labels() -> dict:
    base = {"gd": "GD", "ngd": "NGD", "gf": "gradient flow", "ngf": "NG flow"}
    out = {f"{r}_identity": f"{t} (B = I)" for r, t in base.items()}
    out |= {"gd": "GD", "ngd": "NGD (L²)", "ngd_unit": "NGD (L²), step 1"}
    return out | {"gf": "gradient flow", "ngf": "NG flow (L²)"}


def problem(B, direct: bool = False):
    """v = θᵀBΦ from v₀, ½‖u − v‖² and L² written with K = I (as `toy_nonisotropic`,
    sharing its compiled solves); `direct`: `ng.LeastSquares` and `ng.L2`."""
    theta0 = np.linalg.solve(np.asarray(B).T, np.asarray(tp.C_START))
    model = ng.LinearModel(_toy.basis, B, theta0)
    if direct:
        return ng.Problem(model, tp.l2_loss(tp.C_TARGET), tp.l2_metric())
    identity = np.eye(2)
    return ng.Problem(model, tp.k_loss(tp.C_TARGET, identity), tp.k_metric(identity))


def run_case(B, steps: int, saves: int, suffix: str) -> dict:
    """GD, NGD (and NGD with step 1) and both flows on v = θᵀBΦ."""
    prob, name, pinv, t1 = problem(B), labels(), ng.Pinv(), steps * STEP
    runs = {"gd": ng.GradientDescent(ng.Constant(STEP))}
    runs["ngd"] = ng.NaturalGradient(pinv, ng.Constant(STEP))
    if not suffix:
        runs["ngd_unit"] = ng.NaturalGradient(pinv, ng.Constant(1.0))
    out = {}
    flows = (("gf", ng.GradientFlow()), ("ngf", ng.NaturalGradientFlow(pinv)))
    for role, flow in flows:
        rec = _toy.flow(prob, flow, t1, saves, repr(flow), tol=tp.FLOW_TOL)
        out[name[role + suffix]] = rec
    for role, method in runs.items():
        label = name[role + ("" if role == "ngd_unit" else suffix)]
        out[label] = _toy.discrete(prob, method, steps, repr(method))
    return out


def case_data(B, records: dict, suffix: str) -> dict:
    """Contours, closed-form flows and the straightness checks of one case."""
    name = labels()
    B = np.asarray(B, dtype=float)
    theta_target = np.linalg.solve(B.T, np.asarray(tp.C_TARGET))
    paths = list(records.values())
    theta_lim = tp.limits(*(r["theta"] for r in paths), [theta_target])
    c_lim = tp.limits(*(r["c"] for r in paths), [tp.C_TARGET])
    gf, ngf = records[name["gf" + suffix]], records[name["ngf" + suffix]]
    ts = np.asarray(gf["ts"])
    closed = {
        "gf": tp.linear_flow_path(B.T @ B, tp.C_START, tp.C_TARGET, ts),
        "ngf": tp.linear_flow_path(np.eye(2), tp.C_START, tp.C_TARGET, ts),
    }
    rec = {r: records[name[r + suffix]] for r in ("gd", "ngd", "gf", "ngf")}
    checks = {r: tp.off_line(v["c"], tp.C_START, tp.C_TARGET) for r, v in rec.items()}
    checks["gf_vs_closed_form"] = tp.max_deviation(gf["c"], closed["gf"])
    checks["ngf_vs_closed_form"] = tp.max_deviation(ngf["c"], closed["ngf"])
    gd_ngd = tp.max_deviation(rec["gd"]["theta"], rec["ngd"]["theta"])
    checks["gd_vs_ngd_iterates"] = gd_ngd
    note = {
        "note": "c(t) = c* + expm(-tA)(c0 - c*), A = BᵀB (gradient flow) or I (NG flow)"
    }
    loss = lambda c: tp.quadratic_loss(c, tp.C_TARGET)  # noqa: E731
    return {
        "B": B,
        "gram_L2": B @ B.T,
        "gram_eigenvalues": np.linalg.eigvalsh(B @ B.T),
        "theta_start": records[name["gd" + suffix]]["theta"][0],
        "theta_target": theta_target,
        "contours_theta": tp.loss_grid(
            lambda t: loss(tp.coefficient_map(t, B)), *theta_lim
        ),
        "contours_c": tp.loss_grid(loss, *c_lim),
        "closed_form_flows": {"ts": ts, "gf_c": closed["gf"], "ngf_c": closed["ngf"]}
        | note,
        "checks": checks,
    }


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    methods, cases = {}, {}
    for case, B in CASES.items():
        suffix = "_identity" if case == "identity" else ""
        records = run_case(B, size["steps"], size["saves"], suffix)
        methods.update(records)
        cases[case] = case_data(B, records, suffix)
    checks = cases["mixed"]["checks"]
    unit = methods[labels()["ngd_unit"]]
    checks["ngd_unit_loss_after_one_step"] = unit["losses"][1]
    checks["ngd_unit_c_after_one_step"] = unit["c"][1]
    if not quick:  # the same iterates with ng.LeastSquares and ng.L2
        direct = problem(CASES["mixed"], direct=True)
        step = ng.Constant(STEP)
        gd, ngd = ng.GradientDescent(step), ng.NaturalGradient(ng.Pinv(), step)
        for role, method in (("gd", gd), ("ngd", ngd)):
            theta = _toy.discrete(direct, method, size["steps"])["theta"]
            d = tp.max_deviation(theta, methods[labels()[role]]["theta"])
            checks[f"{role}_with_LeastSquares_L2_vs_K_identity"] = d
    settings = tp.settings(quick, labels(), STEP, size) | {
        "basis": "Phi(x) = [1, sqrt(2) sin(2 pi x)], orthonormal in L2(0, 1)",
        "model": "ng.LinearModel(basis, B, theta0): v = thetaᵀ B Phi, c = Bᵀ theta",
        "loss": "1/2 ||u - v||²_L2 = 1/2 |c - c*|², as ng.WeightedLeastSquares(u, "
        "points, point_K(I)) (equal to ng.LeastSquares on span Phi)",
        "metric": "L2, G = B Bᵀ, as ng.Weighted(point_K(I), points)",
        "B_cases": {case: np.asarray(B) for case, B in CASES.items()},
    }
    return _common.jsonable({"settings": settings, "methods": methods, "cases": cases})


def _rows(suffix):
    roles = ["gf", "ngf", "gd", "ngd"]
    return [r + suffix for r in roles] + ([] if suffix else ["ngd_unit"])


def plot(data: dict, path) -> None:
    s = data["settings"]
    fig, axes = _common.figure(2, 3, width=5.2, height=4.7)
    for row, (case, suffix) in enumerate((("identity", "_identity"), ("mixed", ""))):
        btxt = "I" if case == "identity" else tp.matrix_text(data["cases"][case]["B"])
        g, roles = data["cases"][case], _rows(suffix)
        tp.draw_row(axes[row], s, g, data["methods"], roles, 3)
        same = " (GD = NGD: G = BBᵀ = I)" if case == "identity" else ""
        axes[row, 0].set_title(f"B = {btxt}: parameter space θ{same}")
        axes[row, 1].set_title(f"B = {btxt}: function space c = Bᵀθ")
        axes[row, 2].set_title(f"B = {btxt}: loss ½‖u − v‖² (L²)")
        axes[row, 1].legend(fontsize=7, loc="upper left")
        axes[row, 2].legend(fontsize=7)
    title = (
        f"Seed {SEED}, {SECTION}: {TITLE}\n"
        f"markers: iterates with constant step s = {s['step']:g} ({s['steps']} steps); "
        "curves: flows (diffrax Tsit5); grey: loss contours (log-spaced levels)"
    )
    _common.save(fig, path, title)
