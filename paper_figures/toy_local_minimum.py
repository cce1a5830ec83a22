"""Seed 003, slides 'Toy example: escaping local minima': one parameter θ₁ draws the
parabola c = (θ₁, θ₁²) in the 2D function space of `_toy`; the loss ½‖u − v‖²_K along it
has a local and a global minimum, and the run starts in the local one's basin. GD, Euclidean
heavy-ball, NGD, heavy-ball on NGD steps, natural heavy-ball LM/FD/LG, natural Nesterov
and (full run) the heavy-ball flows; a robustness grid over β × step size.

Plotted: function space, loss along θ₁, θ₁ and loss per iteration, the robustness grid.
Asserted (tests): GD, NGD and LG stay in the local minimum; natural heavy-ball LM, FD and
Nesterov reach the global one; the iterates lie on the parabola; on the grid LM escapes
everywhere, GD, NGD and LG nowhere.
"""

import functools

import jax.numpy as jnp
import numpy as np

import ngflow as ng

from . import _common, _toy


NAME = "toy_local_minimum"
SEED = "003"
SECTION = "slides, 'Toy example: escaping local minima'"
TITLE = "Escaping a local minimum with natural heavy-ball momentum"

B_VEC, B_PERP, K, U = np.eye(2)[0], np.eye(2)[1], np.eye(2), np.array([0.3, 2.0])
THETA0, BETA, STEPS, FLOW_SAVES = -2.5, 0.95, 300, 201
STEP_NATURAL, STEP_EUCLIDEAN = 0.2, 0.02
ESCAPE_TOL = 0.05  # |θ_final − θ_min| that counts as "at" a minimum
SWEEP = {
    "quick": {"betas": [0.9, 0.95], "step_factors": [0.5, 1.0]},
    "full": {
        "betas": [0.5, 0.7, 0.85, 0.9, 0.93, 0.95, 0.97],
        "step_factors": [0.5, 1.0, 1.5],
    },
}

LABELS = {"gd": "GD", "hb": "heavy-ball, parameter space", "ngd": "NGD"}
LABELS |= {"pm": "heavy-ball on NGD steps"}
LABELS |= {r: f"natural heavy-ball {r.upper()}" for r in ("lm", "fd", "lg")}
LABELS["nesterov"] = "natural Nesterov"
FLOW_LABELS = {"nhbf": "natural heavy-ball flow", "hbf": "heavy-ball flow (Euclidean)"}
# --quick keeps the methods the slides name and no flow (each is one XLA compilation).
QUICK_ROLES = ("gd", "ngd", "lm", "fd", "lg", "nesterov")
EUCLIDEAN_ROLES = ("gd", "hb")


def curve(theta):
    """c(θ) = θ b + θ² b⊥ (function-space coordinates), for an array of θ."""
    theta = np.asarray(theta, dtype=float)[..., None]
    return theta * B_VEC + theta**2 * B_PERP


def loss_along(theta):
    r = U - curve(theta)
    return 0.5 * np.einsum("...i,ij,...j->...", r, K, r)


def stationary_points() -> dict:
    """The roots of L'(θ) = 2(b⊥Kb⊥)θ³ + 3(bKb⊥)θ² + (bKb − 2b⊥Ku)θ − bKu."""
    b, p = B_VEC, B_PERP
    coeffs = [2 * p @ K @ p, 3 * b @ K @ p, b @ K @ b - 2 * p @ K @ U, -(b @ K @ U)]
    roots = np.sort(np.real(np.roots(coeffs)[np.abs(np.imag(np.roots(coeffs))) < 1e-9]))
    if roots.size != 3:
        raise ValueError("the loss along the curve must have two minima and a maximum")
    minima = sorted([roots[0], roots[2]], key=loss_along)
    points = {"global": minima[0], "local": minima[1], "barrier": roots[1]}
    out = {f"theta_{k}": v for k, v in points.items()}
    out.update({f"loss_{k}": loss_along(v) for k, v in points.items()})
    return {**out, "loss_start": loss_along(THETA0)}


def make_model(theta0=THETA0):
    return ng.QuadraticModel(
        _toy.basis, B_VEC[None, :], (2 * B_PERP)[None, None, :], jnp.array([theta0])
    )


def problems() -> dict:
    """`natural`: the K-loss with its Gauss–Newton metric; `euclidean`: same loss, M = I."""
    model = make_model()
    target = jnp.asarray(_toy.basis_matrix() @ U)
    loss = ng.WeightedLeastSquares(target, _toy.POINTS, _toy.point_K(K))
    return {
        "natural": ng.Problem(model, loss, ng.GaussNewton()),
        "euclidean": ng.Problem(model, loss, ng.Euclidean()),
    }


TRANSPORTS = ng.ParameterMomentum, ng.LastMomentum, ng.FiniteDifference, ng.LastGradient


def methods(step_natural=STEP_NATURAL, step_euclidean=STEP_EUCLIDEAN, beta=BETA):
    gram, a, e = ng.Pinv(), ng.Constant(step_natural), ng.Constant(step_euclidean)
    out = {"gd": ng.GradientDescent(e)}
    out["hb"] = ng.HeavyBall(
        gram, e, beta, ng.ParameterMomentum()
    )  # Polyak (Euclidean)
    out["ngd"] = ng.NaturalGradient(gram, a)
    for role, transport in zip(("pm", "lm", "fd", "lg"), TRANSPORTS, strict=True):
        out[role] = ng.HeavyBall(gram, a, beta, transport())
    return out | {"nesterov": ng.Nesterov(gram, a, beta)}


def _sweep_method(role, x):
    f = x["factor"]
    return methods(STEP_NATURAL * f, STEP_EUCLIDEAN * f, x["beta"])[role]


# One factory per role, built once: an ensemble solve compiles per factory identity.
SWEEP_METHODS = {role: functools.partial(_sweep_method, role) for role in LABELS}


def _roles(quick: bool) -> tuple:
    return QUICK_ROLES if quick else tuple(LABELS)


def outcome(theta, facts) -> str:
    """`global`, `local`, `diverged` or `elsewhere` (not at a minimum after the steps)."""
    if not np.isfinite(theta):
        return "diverged"
    if abs(theta - facts["theta_global"]) < ESCAPE_TOL:
        return "global"
    if abs(theta - facts["theta_local"]) < ESCAPE_TOL:
        return "local"
    return "elsewhere"


def _flows(probs) -> dict:
    out = {}
    for role, kind, step, flow in (
        ("nhbf", "natural", STEP_NATURAL, ng.NaturalHeavyBallFlow),
        ("hbf", "euclidean", STEP_EUCLIDEAN, ng.HeavyBallFlow),
    ):
        scale, f = np.sqrt(step), flow((1 - BETA) / np.sqrt(step))
        rec = _toy.flow(probs[kind], f, STEPS * scale, FLOW_SAVES, repr(f), scale)
        out[FLOW_LABELS[role]] = rec
    return out


def _sweep(probs, facts, quick: bool) -> dict:
    """Final θ and outcome over a grid of β and step multipliers, one ensemble per role."""
    sweep = SWEEP["quick" if quick else "full"]
    betas, factors = sweep["betas"], sweep["step_factors"]
    grid = np.meshgrid(betas, factors, indexing="ij")
    xs = {"beta": grid[0].ravel(), "factor": grid[1].ravel()}
    table = {}
    for role in _roles(quick):
        problem = probs["euclidean" if role in EUCLIDEAN_ROLES else "natural"]
        sols = _common.sweep(problem, SWEEP_METHODS[role], xs, STEPS, save_params=True)
        final = [float(sol.params[-1, 0]) for sol in sols]
        rows = np.reshape(final, grid[0].shape).tolist()
        outcomes = [[outcome(t, facts) for t in row] for row in rows]
        table[LABELS[role]] = {"final_theta": rows, "outcome": outcomes}
    out = {"betas": betas, "step_factors": factors}
    out["steps_natural"] = [STEP_NATURAL * f for f in factors]
    out["steps_euclidean"] = [STEP_EUCLIDEAN * f for f in factors]
    note = "rows β, columns step = base step × factor; β is ignored by GD and NGD"
    return out | {"note": note, "table": table}


def _summary(sweep) -> dict:
    """Per method, the grid points (β, α) from which it escapes to the global minimum."""
    out, total = {}, len(sweep["betas"]) * len(sweep["step_factors"])
    for label, entry in sweep["table"].items():
        euclidean = label in (LABELS["gd"], LABELS["hb"])
        steps = sweep["steps_euclidean" if euclidean else "steps_natural"]
        escaped = [
            f"β={b:g}, α={a:g}"
            for b, row in zip(sweep["betas"], entry["outcome"], strict=True)
            for a, o in zip(steps, row, strict=True)
            if o == "global"
        ]
        text = "; ".join(escaped) or "none"
        out[label] = f"escapes in {len(escaped)}/{total}: {text}"
    return out


def run(quick: bool) -> dict:
    facts = stationary_points()
    probs = problems()
    # The quadratic model is the parabola θ b + θ² b⊥ (check at two θ).
    for t in (THETA0, 1.5):
        got = np.asarray(_toy.coefficients(make_model(t)))
        if not np.allclose(got, curve(t), atol=1e-12):
            raise AssertionError(f"QuadraticModel gives {got}, expected {curve(t)}")
    results = {}
    for role in _roles(quick):
        method = methods()[role]
        problem = probs["euclidean" if role in EUCLIDEAN_ROLES else "natural"]
        rec = _toy.discrete(problem, method, STEPS, repr(method))
        rec["final_theta"] = float(rec["theta"][-1, 0])
        rec["outcome"] = outcome(rec["final_theta"], facts)
        results[LABELS[role]] = rec
    flows = {} if quick else _flows(probs)
    for rec in flows.values():
        rec["outcome"] = outcome(float(rec["theta"][-1, 0]), facts)
    sweep = _sweep(probs, facts, quick)
    theta_plot = np.linspace(-2.7, 2.0, 400)
    settings = {
        "quick": quick,
        "labels": {role: LABELS[role] for role in _roles(quick)},
        "methods_run": "quick: the slides' methods, no flows" if quick else "all",
        "flow_labels": FLOW_LABELS,
        "model": "ng.QuadraticModel(_toy.basis, B = b^T (1x2), Q = 2 b_perp (1x1x2)): "
        "v = theta b^T Phi + theta^2 b_perp^T Phi",
        "basis": "Phi = [1, sqrt(2) sin(2 pi x)] on [0, 1], midpoint rule, "
        f"{_toy.N_QUAD} points (exact)",
        **{"b": B_VEC, "b_perp": B_PERP, "K": K, "u": U, "theta0": THETA0},
        "loss": "ng.WeightedLeastSquares(u, points, point_K(K)) = 1/2 |u - v|_K^2",
        "metric": "ng.GaussNewton() (= ng.Weighted(point_K(K)); here K = I, the L2 metric) "
        "for the natural methods; ng.Euclidean() for GD and parameter-space heavy-ball",
        "gram": "ng.Pinv()",
        **dict(step_natural=STEP_NATURAL, step_euclidean=STEP_EUCLIDEAN, beta=BETA),
        **{"steps": STEPS, "escape_tol": ESCAPE_TOL},
        "stationary_points": facts,
        "flow_gamma": "(1 - beta) / sqrt(alpha); flow time sqrt(alpha) per iteration "
        "(natural gradient flow: alpha per iteration)",
        "our_choices": "b, b_perp, K, u, theta0 (slides silent); the Gauss-Newton "
        "metric for the natural methods (LG needs it); constant steps 0.2 (natural), "
        "0.02 (GD, Euclidean heavy-ball: 0.2 overshoots the barrier in one step); LG "
        "with the library's sign w = -alpha grad L(v_{k-1}) (the slides' points uphill).",
        "robustness_summary": _summary(sweep),
        "versions": _common.versions(),
    }
    land = {"theta": theta_plot, "c": curve(theta_plot), "loss": loss_along(theta_plot)}
    out = {"settings": settings, "methods": results, "flows": flows, "landscape": land}
    return _common.jsonable({**out, "robustness": sweep})


FLOW_COLORS = {"nhbf": "tab:pink", "hbf": "tab:brown"}


def plot(data: dict, path) -> None:
    s, land = data["settings"], data["landscape"]
    facts, floor = s["stationary_points"], s["stationary_points"]["loss_global"]
    fig = _common.canvas(16, 10)
    gs = fig.add_gridspec(2, 3)
    ax_f, ax_l, ax_t = (fig.add_subplot(gs[0, i]) for i in range(3))
    ax_loss, ax_r = fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1:])
    u, c_curve = np.asarray(s["u"]), _toy.xy(land["c"])
    flows = [(FLOW_COLORS[r], lab) for r, lab in s["flow_labels"].items()]
    flows = [(c, lab, data["flows"][lab]) for c, lab in flows if lab in data["flows"]]
    x0, x1 = np.meshgrid(np.linspace(-3, 2.5, 200), np.linspace(-1, 7.5, 200))
    r = np.stack([u[0] - x0, u[1] - x1], -1)
    field = 0.5 * np.einsum("...i,ij,...j->...", r, np.asarray(s["K"]), r)
    levels = [0.25, 0.5, 1, 2, 4, 8, 16]
    ax_f.contour(x0, x1, field, levels=levels, colors="0.85", linewidths=0.8)
    ax_f.plot(*c_curve.T, color="0.3", lw=1, label="manifold θ₁ ↦ v_θ")
    ax_f.plot(*u, "k*", ms=14, label="target u")
    for name, mk in (("local", "X"), ("global", "P")):
        cm = curve(facts[f"theta_{name}"])
        ax_f.plot(*cm, mk, color="0.2", ms=10, mfc="none", label=f"{name} min")
    for key in ("theta_local", "theta_barrier", "theta_global"):
        ax_l.axvline(facts[key], color="0.7", lw=0.8, ls=":")
        if key != "theta_barrier":
            ax_t.axhline(facts[key], color="0.7", lw=0.8, ls=":")
    ax_l.plot(land["theta"], land["loss"], color="0.3", lw=1.2, label="L along θ₁")
    for label, rec in data["methods"].items():
        st = _toy.STYLE[_toy.role_of(s, label)]
        th, loss = _common.series(rec["theta"])[:, 0], _common.series(rec["losses"])
        line = dict(color=st["color"], ls=st["ls"], label=label)
        mark = {**line, "marker": st["marker"]}
        ax_f.plot(*_toy.xy(rec["c"]).T, **mark, ms=3, lw=0.8, markevery=4)
        ax_l.plot(th, loss, **{**mark, "ls": "none"}, ms=4, alpha=0.6)
        ax_t.plot(th, lw=1, **line)
        ax_loss.semilogy(loss - floor, lw=1, **line)
    for color, label, rec in flows:
        it, th = _common.series(rec["iteration"]), _common.series(rec["theta"])[:, 0]
        ax_t.plot(it, th, color=color, **_toy.FLOW_STYLE, label=label)
        loss = _common.series(rec["losses"]) - floor
        ax_loss.semilogy(it, loss, color=color, **_toy.FLOW_STYLE, label=label)
    ax_f.set(xlabel="coefficient of Φ₀ = 1", ylabel="coefficient of Φ₁ = √2 sin 2πx")
    ax_f.set(title="(a) function space: manifold, target, iterates", xlim=(-2.8, 2.3))
    ax_f.set_ylim(-0.6, 7.2)
    ax_f.legend(fontsize=7, loc="upper center", markerscale=0.6, ncol=2)
    title = f"(b) loss along θ₁, iterates (start θ₁ = {s['theta0']:g})"
    ax_l.set(xlabel="θ₁", ylabel="L(θ₁) = ½‖u − v_θ‖²_K", yscale="log", title=title)
    ax_l.legend(fontsize=7, loc="upper right")
    note = "; flows (thick, translucent): time / √α" if flows else ""
    ax_t.set(xlabel="iteration", ylabel="θ₁", title=f"(c) θ₁ per iteration{note}")
    ax_t.legend(fontsize=7, loc="center right", ncol=2)
    ax_loss.axhline(facts["loss_local"] - floor, color="0.6", lw=0.8, ls=":")
    title = f"(d) loss above the global minimum L* = {floor:.4f} (dotted: local min)"
    legend = {"fontsize": 6, "ncol": 2, "loc": "lower left"}
    _common.finish(ax_loss, legend, xlabel="iteration", ylabel="L − L*", title=title)
    rob = data["robustness"]
    names = list(rob["table"])
    colors = {"global": "tab:green", "local": "tab:red", "diverged": "0.2"}
    colors["elsewhere"] = "gold"
    nb, nf = len(rob["betas"]), len(rob["step_factors"])
    for i, name in enumerate(names):
        for j, row in enumerate(rob["table"][name]["outcome"]):
            for k, o in enumerate(row):
                ax_r.add_patch(_rect(j * (nf + 1) + k, i, colors[o]))
    ax_r.set(xlim=(-0.5, nb * (nf + 1) - 0.5), ylim=(len(names) - 0.5, -0.5))
    ax_r.set_yticks(range(len(names)), names, fontsize=8)
    ticks = [j * (nf + 1) + k for j in range(nb) for k in range(nf)]
    ax_r.set_xticks(ticks, [f"×{f:g}" for _ in range(nb) for f in rob["step_factors"]])
    ax_r.tick_params(axis="x", labelsize=7)
    at = ax_r.get_xaxis_transform()
    for j, b in enumerate(rob["betas"]):
        x, text = j * (nf + 1) + (nf - 1) / 2, f"β = {b:g}"
        ax_r.text(x, 1.01, text, ha="center", va="bottom", fontsize=8, transform=at)
    handles = [_rect(0, 0, c, label=o) for o, c in colors.items()]
    ax_r.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(1, 0))
    title = f"(e) where the run ends after {s['steps']} steps, over β and step size "
    title += f"(× α = {s['step_natural']:g} natural, {s['step_euclidean']:g} Euclidean)"
    ax_r.set_title(title, pad=20)
    title = (
        f"Seed {SEED}, {SECTION}: {TITLE}\nv = θ₁ bᵀΦ + θ₁² b⊥ᵀΦ, loss ½‖u − v‖²_K, "
        f"u = ({u[0]:g}, {u[1]:g}), K = I; Gauss–Newton metric, α = {s['step_natural']:g} "
        f"(GD, Euclidean heavy-ball: {s['step_euclidean']:g}), β = {s['beta']:g}"
    )
    _common.save(fig, path, title, 11)


def _rect(x, y, color, label=None):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.45, y - 0.4), 0.9, 0.8, color=color, label=label)
