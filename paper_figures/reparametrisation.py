"""Seed 001 §2 ("Motivation"): gradient descent depends on the coordinates, the Fisher
natural gradient does not.

Seed 001 optimises the same loss in coordinates θ and in x = A⁻¹θ: gradient descent in x,
mapped back, is θ⁺ = θ − s AAᵀ∇_θL, not θ⁺ = θ − s∇_θL, while a step
θ⁺ = θ − s G⁻¹∇_θL with a metric that transforms as G_x = AᵀG_θA (the Fisher) gives the
same iterates in both. This figure makes that visible on a two-parameter problem.

The problem (ours; recorded in `settings`): logistic regression p(y = 1 | t) =
σ(θ₁t + θ₂) on 40 inputs t ~ N(0, 1) with labels y ~ Bernoulli(σ(2t − 1)) (numpy seed
0), loss the mean cross-entropy (`ng.CrossEntropy(..., family=ng.Bernoulli())`), metric
the Fisher (`ng.Fisher(points, ng.Bernoulli())`; for this canonical-link model it is
also the Hessian of the loss, so Fisher NGD is Newton's method here). The second
coordinates are x = A⁻¹θ with A = [[2, 1.6], [0.4, 0.5]] (ill-conditioned, columns only a few degrees
apart): the model is `Reparametrised(x, A)`,
computing θ = A x. The θ-model is the same class with A = I, so both coordinates share one
compiled solve per method. Start θ₀ = (−1.5, 1.5) (x₀ = A⁻¹θ₀), constant step s = 0.3
for every method, 60 steps, undamped Gram solve `ng.Cholesky(0.0)` (the 2×2 Fisher is
positive definite). The NG flow is `ng.NaturalGradientFlow(ng.Cholesky(0.0))` with
diffrax Tsit5, rtol 1e-10, atol 1e-12, saved at t = s·k.

Panels: (a) the θ-plane with loss contours, the θ-paths and the A·x-paths, and the
columns of A (unit steps along x₁ and x₂: the skewed coordinates); (b) the same in the
x-plane; (c) the excess loss L − L* per iteration; (d) the distance between the two
coordinates' paths, ‖θ_k − A x_k‖_∞, and in distribution space,
max_n |p_θk(y=1|t_n) − p_xk(y=1|t_n)| (each model evaluated in its own coordinates).

Asserted (tests, quick run): the Fisher NGD paths in θ and in x coincide (parameters and
probabilities, to 1e-8, from every start), the GD paths do not (by O(1)); the NG flows
coincide to the ODE tolerance; relative damping breaks the invariance; the recorded
distances are those of the recorded paths; GD in x is GD in θ preconditioned by AAᵀ
(first step); both NGD runs reach L*, both GD runs stay above it, differently; the NG
flow reaches L*.
"""

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import ngflow as ng

from . import _common


NAME = "reparametrisation"
SEED = "001"
SECTION = "§2 Motivation: x = A⁻¹θ changes gradient descent, not the natural gradient"
TITLE = "Logistic regression in θ and in x = A⁻¹θ: GD paths differ, Fisher NGD paths coincide"

A = ((2.0, 1.6), (0.4, 0.5))
THETA0 = (-1.5, 1.5)
STEP = 0.3
DAMPED = 1e-3  # the damped-NGD comparison: ng.Cholesky(1e-3) (relative)
N_DATA = 40
SLOPE, OFFSET = 2.0, -1.0  # the labels' generating logit 2t − 1
SIZES = {"quick": {"steps": 60, "starts": 4}, "full": {"steps": 60, "starts": 16}}
RADIUS = 2.5  # extra starts on a circle of this radius around θ*
FLOW_TOL = {"rtol": 1e-10, "atol": 1e-12}


class Reparametrised(eqx.Module):
    """The logit θ₁t + θ₂ with θ = A x: parameters x, A frozen (A = I: coordinates θ)."""

    x: jax.Array
    a: ng.Frozen

    def __call__(self, t):
        theta = self.a.value @ self.x
        return theta[0] * t[0] + theta[1]


def data():
    rng = np.random.default_rng(0)
    t = rng.standard_normal(N_DATA)
    p = 1.0 / (1.0 + np.exp(-(SLOPE * t + OFFSET)))
    y = (rng.random(N_DATA) < p).astype(int)
    return t, y


def labels() -> dict:
    return {
        "gd_theta": "GD in θ",
        "gd_x": "GD in x (mapped: A·x)",
        "ngd_theta": "Fisher NGD in θ",
        "ngd_x": "Fisher NGD in x (mapped: A·x)",
        "ngf_theta": "NG flow in θ",
        "ngf_x": "NG flow in x (mapped: A·x)",
        "damped_theta": f"Fisher NGD, Cholesky({DAMPED:g}), in θ",
        "damped_x": f"Fisher NGD, Cholesky({DAMPED:g}), in x (mapped)",
    }


def _problem(a, theta0, points, y):
    a = jnp.asarray(a)
    x0 = jnp.linalg.solve(a, jnp.asarray(theta0, dtype=float))
    loss = ng.CrossEntropy(points, y, family=ng.Bernoulli())
    metric = ng.Fisher(points, ng.Bernoulli())
    return ng.Problem(Reparametrised(x0, ng.Frozen(a)), loss, metric)


def _probabilities(a, params, points):
    """p(y = 1 | t_n) of each iterate, the model evaluated in its own coordinates."""
    a = ng.Frozen(jnp.asarray(a))
    logits = jax.vmap(lambda x: jax.vmap(Reparametrised(x, a))(points))(params)
    return jax.nn.sigmoid(logits)


def _mean_loss(theta1, theta2, t, y):
    z = theta1[..., None] * t + theta2[..., None]
    return np.mean(np.logaddexp(0.0, z) - y * z, axis=-1)


def _both(method, a, theta0, points, y, steps):
    """One method (or flow) in θ (A = I) and in x: the records and the distances."""
    runs, times = {}, STEP * np.arange(steps + 1)
    for coords, mat in (("theta", np.eye(2)), ("x", np.asarray(a))):
        problem = _problem(mat, theta0, points, y)
        if isinstance(method, ng.AbstractMethod):
            sol = _common.solve(problem, method, steps, save_params=True)
            rec = _common.record(sol)
        else:
            sol = ng.solve(problem, method, t1=times[-1], saveat=times, throw=False)
            rec = {**_common.record(sol), "t": np.asarray(sol.ts)}
        params = np.asarray(sol.params)
        probabilities = np.asarray(_probabilities(mat, sol.params, points))
        rec.update(
            params=params, theta_path=params @ mat.T, probabilities=probabilities
        )
        runs[coords] = rec
    dist = lambda k: np.max(np.abs(runs["theta"][k] - runs["x"][k]), 1)  # noqa: E731
    return runs, dist("theta_path"), dist("probabilities")


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    steps = size["steps"]
    t, y = data()
    points, labels_ = jnp.asarray(t)[:, None], jnp.asarray(y)
    a = np.asarray(A)
    methods = {
        "gd": ng.GradientDescent(ng.Constant(STEP)),
        "ngd": ng.NaturalGradient(ng.Cholesky(0.0), ng.Constant(STEP)),
        "damped": ng.NaturalGradient(ng.Cholesky(DAMPED), ng.Constant(STEP)),
    }
    controller = dfx.PIDController(**FLOW_TOL)
    methods["ngf"] = ng.NaturalGradientFlow(
        ng.Cholesky(0.0), stepsize_controller=controller
    )
    main = {k: _both(m, a, THETA0, points, labels_, steps) for k, m in methods.items()}

    # θ*: from the last NGD iterate, unit NGD steps (= Newton steps here: quadratic
    # convergence; from θ₀ they overshoot). The same compiled solve.
    newton = ng.NaturalGradient(ng.Cholesky(0.0), ng.Constant(1.0))
    near = main["ngd"][0]["theta"]["theta_path"][-1]
    opt = _common.solve(_problem(np.eye(2), near, points, labels_), newton, 8)
    theta_star = np.asarray(opt.model.x)
    loss_star = float(opt.final_loss)

    # More starts on a circle around θ* (GD and undamped NGD).
    angles = 2 * np.pi * np.arange(size["starts"]) / size["starts"]
    starts = theta_star + RADIUS * np.stack([np.cos(angles), np.sin(angles)], 1)
    sweep = {"starts": starts, "gd": [], "ngd": [], "gd_prob": [], "ngd_prob": []}
    for theta0 in starts:
        for key in ("gd", "ngd"):
            _, dist, pdist = _both(methods[key], a, theta0, points, labels_, steps)
            sweep[key].append(float(dist.max()))
            sweep[key + "_prob"].append(float(pdist.max()))

    name = labels()
    out_methods = {}
    for key in ("gd", "ngd", "ngf", "damped"):
        runs, dist, pdist = main[key]
        for coords in ("theta", "x"):
            out_methods[name[f"{key}_{coords}"]] = {
                **runs[coords],
                "distance_between_coordinates": dist,
                "probability_distance": pdist,
            }

    # Contours in θ and in x.
    paths = np.concatenate([m["theta_path"] for m in out_methods.values()])
    lo, hi = paths.min(0), paths.max(0)
    pad = 0.15 * (hi - lo)
    g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 160)
    g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 160)
    t1, t2 = np.meshgrid(g1, g2)
    xpaths = paths @ np.linalg.inv(a).T
    xlo, xhi = xpaths.min(0), xpaths.max(0)
    xpad = 0.15 * (xhi - xlo)
    h1 = np.linspace(xlo[0] - xpad[0], xhi[0] + xpad[0], 160)
    h2 = np.linspace(xlo[1] - xpad[1], xhi[1] + xpad[1], 160)
    u1, u2 = np.meshgrid(h1, h2)
    v1, v2 = a[0, 0] * u1 + a[0, 1] * u2, a[1, 0] * u1 + a[1, 1] * u2

    invariance = {
        "gd_max_theta_distance": float(main["gd"][1].max()),
        "ngd_max_theta_distance": float(main["ngd"][1].max()),
        "damped_max_theta_distance": float(main["damped"][1].max()),
        "flow_max_theta_distance": float(main["ngf"][1].max()),
        "gd_max_probability_distance": float(main["gd"][2].max()),
        "ngd_max_probability_distance": float(main["ngd"][2].max()),
        "damped_max_probability_distance": float(main["damped"][2].max()),
        "flow_max_probability_distance": float(main["ngf"][2].max()),
        "starts_gd_max": float(max(sweep["gd"])),
        "starts_gd_min": float(min(sweep["gd"])),
        "starts_ngd_max": float(max(sweep["ngd"])),
        "starts_ngd_prob_max": float(max(sweep["ngd_prob"])),
        "note": (
            "distances: max over iterates of ‖θ_k − A x_k‖_∞ (θ) and of "
            "max_n |p_θk(y=1|t_n) − p_xk(y=1|t_n)| (probabilities); starts_*: max over "
            "iterates for each start on the circle, then max/min over starts"
        ),
    }
    settings = {
        "quick": quick,
        "labels": name,
        "A": a,
        "A_singular_values": np.linalg.svd(a, compute_uv=False),
        "A_condition": float(np.linalg.cond(a)),
        "A_column_angle_deg": float(
            np.degrees(
                np.arccos(a[:, 0] @ a[:, 1] / np.prod(np.linalg.norm(a, axis=0)))
            )
        ),
        "theta0": THETA0,
        "x0": np.linalg.solve(a, THETA0),
        "step": STEP,
        "steps": steps,
        "gram": "ng.Cholesky(0.0) (undamped); damped comparison ng.Cholesky(1e-3)",
        "flow": (
            "ng.NaturalGradientFlow(ng.Cholesky(0.0)), diffrax Tsit5, "
            f"PIDController(rtol={FLOW_TOL['rtol']:g}, atol={FLOW_TOL['atol']:g}), "
            "saved at t = step·k"
        ),
        "model": "logit θ₁t + θ₂, θ = A x (Reparametrised; A = I for coordinates θ)",
        "loss": "ng.CrossEntropy(t, y, family=ng.Bernoulli()) (mean over the 40 points)",
        "metric": "ng.Fisher(t, ng.Bernoulli())",
        "data": f"t ~ N(0, 1), y ~ Bernoulli(σ({SLOPE:g}t {OFFSET:+g})), {N_DATA} points, "
        "numpy default_rng(0)",
        "starts_radius": RADIUS,
        "versions": _common.versions(),
    }
    return _common.jsonable(
        {
            "settings": settings,
            "methods": out_methods,
            "data": {"t": t, "y": y},
            "optimum": {"theta": theta_star, "loss": loss_star},
            "invariance": invariance,
            "starts": sweep,
            "contours": {
                "theta1": g1,
                "theta2": g2,
                "loss_theta": _mean_loss(t1, t2, t, y),
                "x1": h1,
                "x2": h2,
                "loss_x": _mean_loss(v1, v2, t, y),
            },
        }
    )


# -- plot -----------------------------------------------------------------------------

STYLE = {
    "gd_theta": dict(color="tab:blue", ls="-", marker="o", ms=3),
    "gd_x": dict(color="tab:orange", ls="--", marker="s", ms=3),
    "ngd_theta": dict(color="tab:green", ls="-", marker="o", ms=5, mfc="none"),
    "ngd_x": dict(color="tab:red", ls="none", marker="x", ms=4),
    "ngf_theta": dict(color="k", ls="-", lw=0.8),
    "ngf_x": dict(color="0.5", ls=":", lw=2.0),
}


def _contours(ax, c1, c2, loss, loss_star):
    z = np.asarray(loss, dtype=float) - loss_star
    levels = loss_star * 0 + np.geomspace(1e-3, max(z.max(), 1e-2), 16)
    ax.contour(
        c1, c2, np.maximum(z, 1e-12), levels=levels, colors="0.75", linewidths=0.7
    )


def _plane(ax, data, coords):
    s, name, m = data["settings"], data["settings"]["labels"], data["methods"]
    a_inv = np.linalg.inv(np.asarray(s["A"]))
    star = np.asarray(data["optimum"]["theta"])
    c = data["contours"]
    if coords == "theta":
        _contours(
            ax, c["theta1"], c["theta2"], c["loss_theta"], data["optimum"]["loss"]
        )
        a, t0 = np.asarray(s["A"]), np.asarray(s["theta0"])
        for j, text, dy in ((0, "A e₁", -14), (1, "A e₂", 6)):  # unit steps in x
            ax.annotate(
                "",
                t0 + a[:, j],
                t0,
                arrowprops={"arrowstyle": "->", "color": "tab:purple", "lw": 1.5},
            )
            ax.annotate(
                text,
                t0 + a[:, j],
                xytext=(-10, dy),
                textcoords="offset points",
                color="tab:purple",
                fontsize=9,
            )
    else:
        _contours(ax, c["x1"], c["x2"], c["loss_x"], data["optimum"]["loss"])
        star = a_inv @ star
    for role in ("gd_theta", "gd_x", "ngf_theta", "ngf_x", "ngd_theta", "ngd_x"):
        path = np.asarray(m[name[role]]["theta_path"], dtype=float)
        if coords == "x":
            path = path @ a_inv.T
        ax.plot(path[:, 0], path[:, 1], label=name[role], **STYLE[role])
    ax.plot(*path[0], "k^", ms=8, label="start")
    ax.plot(*star, "k*", ms=12, label="minimiser")
    if coords == "theta":
        ax.set_xlim(c["theta1"][0], c["theta1"][-1])
        ax.set_ylim(c["theta2"][0], c["theta2"][-1])
        ax.set(
            xlabel="θ₁ (slope)",
            ylabel="θ₂ (offset)",
            title="(a) coordinates θ: paths (x-runs mapped by A);\n"
            "purple: unit steps along x₁ and x₂ (columns of A)",
        )
    else:
        ax.set_xlim(c["x1"][0], c["x1"][-1])
        ax.set_ylim(c["x2"][0], c["x2"][-1])
        ax.set(
            xlabel="x₁",
            ylabel="x₂",
            title="(b) coordinates x = A⁻¹θ: the same paths (θ-runs mapped by A⁻¹)",
        )


def _losses(ax, data):
    s, name, m = data["settings"], data["settings"]["labels"], data["methods"]
    star = data["optimum"]["loss"]
    for role in ("gd_theta", "gd_x", "ngd_theta", "ngd_x", "ngf_theta", "ngf_x"):
        rec, st = m[name[role]], dict(STYLE[role])
        excess = np.maximum(_common.series(rec["losses"]) - star, 1e-17)
        if role.startswith("ngf"):
            ax.semilogy(
                np.asarray(rec["t"]) / s["step"], excess, label=name[role], **st
            )
            continue
        st.update(ls=":" if st["ls"] == "none" else st["ls"], ms=3)
        ax.semilogy(excess, **st, label=f"{name[role]}: {rec['final_loss']:.4f}")
    title = f"(c) excess loss (L* = {star:.5f}); legend: final L"
    _common.finish(
        ax, {}, xlabel="iteration k (flows: t / s)", ylabel="L − L*", title=title
    )


def _distances(ax, data):
    s, name, m = data["settings"], data["settings"]["labels"], data["methods"]
    inv = data["invariance"]
    rows = (
        ("gd", "tab:blue", "GD"),
        ("damped", "tab:purple", f"NGD, Cholesky({DAMPED:g})"),
        ("ngf", "k", "NG flow (rtol 1e-10)"),
        ("ngd", "tab:green", "Fisher NGD"),
    )
    for role, color, text in rows:
        rec = m[name[f"{role}_theta"]]
        d = np.maximum(_common.series(rec["distance_between_coordinates"]), 1e-17)
        p = np.maximum(_common.series(rec["probability_distance"]), 1e-17)
        k = np.asarray(rec["t"]) / s["step"] if role == "ngf" else np.arange(len(d))
        worst = inv[f"{'flow' if role == 'ngf' else role}_max_theta_distance"]
        ax.semilogy(k, d, color=color, lw=1.4, label=f"{text}: max {worst:.1e}")
        ax.semilogy(k, p, color=color, lw=1.0, ls="--")
    ax.plot([], [], color="0.3", lw=1.4, label="‖θ_k − A x_k‖_∞ (parameters)")
    ax.plot(
        [], [], color="0.3", lw=1, ls="--", label="max_n |Δp(y=1|t_n)| (distributions)"
    )
    ax.axhline(np.finfo(float).eps, color="0.5", lw=0.6, ls=":")
    ax.set_ylim(1e-17, 30)
    title = (
        f"(d) distance between the θ-run and the x-run\nover {len(data['starts']['gd'])}"
        f" starts on a circle: NGD ≤ {inv['starts_ngd_max']:.0e}, GD ≥ "
        f"{inv['starts_gd_min']:.2f}"
    )
    xlabel, ylabel = "iteration k (flow: t / s)", "distance between the two runs"
    _common.finish(
        ax, {"loc": "center right"}, xlabel=xlabel, ylabel=ylabel, title=title
    )


def plot(data: dict, path) -> None:
    s = data["settings"]
    fig, ((ax_t, ax_x), (ax_l, ax_d)) = _common.figure(2, 2, 6.5, 5.5)
    _plane(ax_t, data, "theta")
    _plane(ax_x, data, "x")
    ax_t.legend(fontsize=7, loc="lower left")
    _losses(ax_l, data)
    _distances(ax_d, data)
    a = np.asarray(s["A"])
    fig.suptitle(
        f"Seed {SEED} {SECTION}\n{TITLE}\n"
        f"A = [[{a[0, 0]:g}, {a[0, 1]:g}], [{a[1, 0]:g}, {a[1, 1]:g}]] (condition "
        f"{s['A_condition']:.1f}); constant step s = {s['step']:g}, {s['steps']} steps; "
        "Fisher metric, undamped Cholesky; logistic regression on 40 points",
        fontsize=10,
    )
    _common.save(fig, path)
