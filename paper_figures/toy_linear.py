"""Seed 003, toy examples "Gradient descent is biased in functional space" and "Natural
gradient descent": a linear model v = θᵀBΦ fitted to u in the L² loss ½‖u − v‖².

Φ = [1, √2 sin 2πx] is orthonormal in L²(0, 1) (`_toy`), so v = cᵀΦ is the point c = Bᵀθ
of the "function space" plane, ½‖u − v‖² = ½|c − c*|², and the L² Gram matrix is G = BBᵀ.

- Top row, B = I: G = I, so gradient descent (GD) *is* natural gradient descent (NGD);
  both go straight from v₀ to u, in θ and in c.
- Bottom row, B mixing (`_toy_paths.B_MIX`, tangent vectors b₁ = (1, 0), b₂ = (0.7, 0.5)):
  GD follows dc/dt = −BᵀB(c − c*) in
  function space, a curved path that first moves along b₁ and then crawls along the
  slow direction; NGD follows dc/dt = −(c − c*), the straight line to u, and with step 1
  it reaches u in one step.

Flows (`ng.GradientFlow`, `ng.NaturalGradientFlow(gram=ng.Pinv())`, diffrax Tsit5 with
rtol 1e-13) are the curves, the
iterates (constant step s = 0.25: explicit Euler on the flows) the markers; the loss
panels put the flows at t / s. Grey: loss contours.

Settings the slides leave open (ours, in `settings`): B, u = 0.5 + √2 sin 2πx, v₀ =
−1 − √2 sin 2πx, s = 0.25, the number of steps, the minimum-norm Gram solve (`ng.Pinv`).
The loss and the metric are written as those of `toy_nonisotropic` with K = I
(`ng.WeightedLeastSquares`, `ng.Weighted` with `point_K(I)`), equal to `ng.LeastSquares`
and `ng.L2` on span Φ where everything here lives; the full run records the distance
between the iterates of both forms.

Asserted (tests, quick run): with B = I, GD and NGD (and their flows) coincide; with B
mixing, the iterates are exactly explicit Euler steps of dc/dt = −(c − c*) (NGD) and
dc/dt = −BᵀB(c − c*) (GD); NGD's iterates and the NG flow lie on the segment c₀ → u and
approach u monotonically, GD's iterates and the gradient flow leave it; both flows match
their closed forms c* + e^{−tA}(c₀ − c*); NGD with step 1 reaches u in one step; NGD
and the NG flow end far below GD and the gradient flow.
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
    return {
        "gd_identity": "GD (B = I)",
        "ngd_identity": "NGD (B = I)",
        "gf_identity": "gradient flow (B = I)",
        "ngf_identity": "NG flow (B = I)",
        "gd": "GD",
        "ngd": "NGD (L²)",
        "ngd_unit": "NGD (L²), step 1",
        "gf": "gradient flow",
        "ngf": "NG flow (L²)",
    }


def problem(B, direct: bool = False):
    """v = θᵀBΦ from v₀, loss ½‖u − v‖², L² metric. By default both in the form
    ½‖u − v‖²_K, ⟨·, ·⟩_K with K = I (equal on span Φ, and the form of
    `toy_nonisotropic`, whose compiled solves this figure then shares); `direct`:
    `ng.LeastSquares` and `ng.L2`."""
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
    for role, flow in (
        ("gf", ng.GradientFlow()),
        ("ngf", ng.NaturalGradientFlow(pinv)),
    ):
        text = repr(flow)
        out[name[role + suffix]] = _toy.flow(
            prob, flow, t1, saves, text, tol=tp.FLOW_TOL
        )
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
    checks = {
        role: tp.off_line(records[name[role + suffix]]["c"], tp.C_START, tp.C_TARGET)
        for role in ("gd", "ngd", "gf", "ngf")
    }
    checks["gf_vs_closed_form"] = tp.max_deviation(gf["c"], closed["gf"])
    checks["ngf_vs_closed_form"] = tp.max_deviation(ngf["c"], closed["ngf"])
    checks["gd_vs_ngd_iterates"] = tp.max_deviation(
        records[name["gd" + suffix]]["theta"], records[name["ngd" + suffix]]["theta"]
    )
    return {
        "B": B,
        "gram_L2": B @ B.T,
        "gram_eigenvalues": np.linalg.eigvalsh(B @ B.T),
        "theta_start": records[name["gd" + suffix]]["theta"][0],
        "theta_target": theta_target,
        "contours_theta": tp.loss_grid(
            lambda th: tp.quadratic_loss(tp.coefficient_map(th, B), tp.C_TARGET),
            *theta_lim,
        ),
        "contours_c": tp.loss_grid(lambda c: tp.quadratic_loss(c, tp.C_TARGET), *c_lim),
        "closed_form_flows": {
            "ts": ts,
            "gf_c": closed["gf"],
            "ngf_c": closed["ngf"],
            "note": "c(t) = c* + expm(-tA)(c0 - c*), A = BᵀB (gradient flow) or I (NG flow)",
        },
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
        for role, method in (
            ("gd", ng.GradientDescent(ng.Constant(STEP))),
            ("ngd", ng.NaturalGradient(ng.Pinv(), ng.Constant(STEP))),
        ):
            theta = _toy.discrete(direct, method, size["steps"])["theta"]
            checks[f"{role}_with_LeastSquares_L2_vs_K_identity"] = tp.max_deviation(
                theta, methods[labels()[role]]["theta"]
            )
    settings = {
        "quick": quick,
        "labels": labels(),
        "basis": "Phi(x) = [1, sqrt(2) sin(2 pi x)], orthonormal in L2(0, 1)",
        "model": "ng.LinearModel(basis, B, theta0): v = thetaᵀ B Phi, c = Bᵀ theta",
        "loss": "1/2 ||u - v||²_L2 = 1/2 |c - c*|², as ng.WeightedLeastSquares(u, "
        "points, point_K(I)) (equal to ng.LeastSquares on span Phi)",
        "metric": "L2, G = B Bᵀ, as ng.Weighted(point_K(I), points)",
        "B_cases": {case: np.asarray(B) for case, B in CASES.items()},
        "c_target": tp.C_TARGET,
        "c_start": tp.C_START,
        "step": STEP,
        "steps": size["steps"],
        "flow_saves": size["saves"],
        "flow_solver": tp.FLOW_SOLVER,
        "versions": _common.versions(),
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
        tp.draw_row(
            axes[row], s, data["cases"][case], data["methods"], _rows(suffix), 3
        )
        same = " (GD = NGD: G = BBᵀ = I)" if case == "identity" else ""
        axes[row, 0].set_title(f"B = {btxt}: parameter space θ{same}")
        axes[row, 1].set_title(f"B = {btxt}: function space c = Bᵀθ")
        axes[row, 2].set_title(f"B = {btxt}: loss ½‖u − v‖² (L²)")
        axes[row, 1].legend(fontsize=7, loc="upper left")
        axes[row, 2].legend(fontsize=7)
    fig.suptitle(
        f"Seed {SEED}, {SECTION}: {TITLE}\n"
        f"markers: iterates with constant step s = {s['step']:g} ({s['steps']} steps); "
        "curves: flows (diffrax Tsit5); grey: loss contours (log-spaced levels)",
        fontsize=10,
    )
    _common.save(fig, path)
