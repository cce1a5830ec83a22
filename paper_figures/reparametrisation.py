"""Seed 001 §2 ("Motivation"): gradient descent depends on the coordinates, the Fisher
natural gradient does not. Logistic regression σ(θ₁t + θ₂) on 40 points, run in θ and in
x = A⁻¹θ (ill-conditioned A): GD, Fisher NGD (undamped and damped) and the NG flow.

Plotted: (a) θ-plane and (b) x-plane with loss contours and both coordinates' paths,
(c) excess loss per iteration, (d) distance between the θ-run and the x-run.
Asserted (tests): the Fisher NGD paths coincide (parameters and probabilities, to 1e-8,
from every start), the GD paths do not; the NG flows coincide to the ODE tolerance;
damping breaks the invariance; GD in x is GD in θ preconditioned by AAᵀ; both NGD runs
and the flow reach L*, both GD runs stay above it, differently.
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

A, THETA0, STEP, N_DATA = ((2.0, 1.6), (0.4, 0.5)), (-1.5, 1.5), 0.3, 40
DAMPED = 1e-3  # the damped-NGD comparison: ng.Cholesky(1e-3) (relative)
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
    out = {}
    for key, text in (("gd", "GD"), ("ngd", "Fisher NGD"), ("ngf", "NG flow")):
        out.update(
            {f"{key}_theta": f"{text} in θ", f"{key}_x": f"{text} in x (mapped: A·x)"}
        )
    damped = f"Fisher NGD, Cholesky({DAMPED:g}), in"
    return {**out, "damped_theta": f"{damped} θ", "damped_x": f"{damped} x (mapped)"}


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
        runs[coords] = {**rec, "params": params, "theta_path": params @ mat.T}
        runs[coords]["probabilities"] = probabilities
    dist = lambda k: np.max(np.abs(runs["theta"][k] - runs["x"][k]), 1)  # noqa: E731
    return runs, dist("theta_path"), dist("probabilities")


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    steps = size["steps"]
    t, y = data()
    points, labels_ = jnp.asarray(t)[:, None], jnp.asarray(y)
    a = np.asarray(A)
    step, chol = ng.Constant(STEP), ng.Cholesky(0.0)
    methods = {"gd": ng.GradientDescent(step), "ngd": ng.NaturalGradient(chol, step)}
    methods["damped"] = ng.NaturalGradient(ng.Cholesky(DAMPED), step)
    controller = dfx.PIDController(**FLOW_TOL)
    methods["ngf"] = ng.NaturalGradientFlow(chol, stepsize_controller=controller)
    main = {k: _both(m, a, THETA0, points, labels_, steps) for k, m in methods.items()}
    # θ*: unit NGD (= Newton) steps from the last NGD iterate.
    newton = ng.NaturalGradient(ng.Cholesky(0.0), ng.Constant(1.0))
    near = main["ngd"][0]["theta"]["theta_path"][-1]
    opt = _common.solve(_problem(np.eye(2), near, points, labels_), newton, 8)
    theta_star, loss_star = np.asarray(opt.model.x), float(opt.final_loss)
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
            rec = {**runs[coords], "distance_between_coordinates": dist}
            out_methods[name[f"{key}_{coords}"]] = rec | {"probability_distance": pdist}
    paths = np.concatenate([m["theta_path"] for m in out_methods.values()])
    g1, g2 = _axes(paths)
    h1, h2 = _axes(paths @ np.linalg.inv(a).T)
    t1, t2 = np.meshgrid(g1, g2)
    u1, u2 = np.meshgrid(h1, h2)
    v1, v2 = a[0, 0] * u1 + a[0, 1] * u2, a[1, 0] * u1 + a[1, 1] * u2
    invariance = {}
    for i, kind in ((1, "theta"), (2, "probability")):
        for key in ("gd", "ngd", "damped", "ngf"):
            name_ = "flow" if key == "ngf" else key
            invariance[f"{name_}_max_{kind}_distance"] = float(main[key][i].max())
    invariance |= {
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
    cos = a[:, 0] @ a[:, 1] / np.prod(np.linalg.norm(a, axis=0))
    settings = {
        "quick": quick,
        "labels": name,
        "A": a,
        "A_singular_values": np.linalg.svd(a, compute_uv=False),
        "A_condition": float(np.linalg.cond(a)),
        "A_column_angle_deg": float(np.degrees(np.arccos(cos))),
        **{"theta0": THETA0, "x0": np.linalg.solve(a, THETA0), "step": STEP},
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
    contours = {"theta1": g1, "theta2": g2, "loss_theta": _mean_loss(t1, t2, t, y)}
    contours |= {"x1": h1, "x2": h2, "loss_x": _mean_loss(v1, v2, t, y)}
    out = {"settings": settings, "methods": out_methods, "data": {"t": t, "y": y}}
    out["optimum"] = {"theta": theta_star, "loss": loss_star}
    out |= {"invariance": invariance, "starts": sweep, "contours": contours}
    return _common.jsonable(out)


def _axes(paths, n=160):
    """Two grids around the paths' bounding box, padded by 15%."""
    lo, hi = paths.min(0), paths.max(0)
    pad = 0.15 * (hi - lo)
    return (np.linspace(lo[i] - pad[i], hi[i] + pad[i], n) for i in range(2))


STYLE = {
    "gd_theta": dict(color="tab:blue", ls="-", marker="o", ms=3),
    "gd_x": dict(color="tab:orange", ls="--", marker="s", ms=3),
    "ngd_theta": dict(color="tab:green", ls="-", marker="o", ms=5, mfc="none"),
    "ngd_x": dict(color="tab:red", ls="none", marker="x", ms=4),
    "ngf_theta": dict(color="k", ls="-", lw=0.8),
    "ngf_x": dict(color="0.5", ls=":", lw=2.0),
}


def _plane(ax, data, coords):
    s, name, m = data["settings"], data["settings"]["labels"], data["methods"]
    a_inv = np.linalg.inv(np.asarray(s["A"]))
    star = np.asarray(data["optimum"]["theta"])
    c, loss_star = data["contours"], data["optimum"]["loss"]
    k1, k2 = ("theta1", "theta2") if coords == "theta" else ("x1", "x2")
    z = np.asarray(c[f"loss_{coords}"], dtype=float) - loss_star
    levels = loss_star * 0 + np.geomspace(1e-3, max(z.max(), 1e-2), 16)
    z = np.maximum(z, 1e-12)
    ax.contour(c[k1], c[k2], z, levels=levels, colors="0.75", linewidths=0.7)
    if coords == "theta":
        a, t0 = np.asarray(s["A"]), np.asarray(s["theta0"])
        arrow = {"arrowstyle": "->", "color": "tab:purple", "lw": 1.5}
        for j, text, dy in ((0, "A e₁", -14), (1, "A e₂", 6)):  # unit steps in x
            ax.annotate("", t0 + a[:, j], t0, arrowprops=arrow)
            at = {"xytext": (-10, dy), "textcoords": "offset points", "fontsize": 9}
            ax.annotate(text, t0 + a[:, j], **at, color="tab:purple")
    else:
        star = a_inv @ star
    for role in ("gd_theta", "gd_x", "ngf_theta", "ngf_x", "ngd_theta", "ngd_x"):
        path = np.asarray(m[name[role]]["theta_path"], dtype=float)
        if coords == "x":
            path = path @ a_inv.T
        ax.plot(path[:, 0], path[:, 1], label=name[role], **STYLE[role])
    ax.plot(*path[0], "k^", ms=8, label="start")
    ax.plot(*star, "k*", ms=12, label="minimiser")
    ax.set(xlim=(c[k1][0], c[k1][-1]), ylim=(c[k2][0], c[k2][-1]))
    if coords == "theta":
        title = "(a) coordinates θ: paths (x-runs mapped by A);\n"
        title += "purple: unit steps along x₁ and x₂ (columns of A)"
        ax.set(xlabel="θ₁ (slope)", ylabel="θ₂ (offset)", title=title)
    else:
        title = "(b) coordinates x = A⁻¹θ: the same paths (θ-runs mapped by A⁻¹)"
        ax.set(xlabel="x₁", ylabel="x₂", title=title)


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
    xlabel = "iteration k (flows: t / s)"
    _common.finish(ax, {}, xlabel=xlabel, ylabel="L − L*", title=title)


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
    label = "max_n |Δp(y=1|t_n)| (distributions)"
    ax.plot([], [], color="0.3", lw=1, ls="--", label=label)
    ax.axhline(np.finfo(float).eps, color="0.5", lw=0.6, ls=":")
    ax.set_ylim(1e-17, 30)
    title = (
        f"(d) distance between the θ-run and the x-run\nover {len(data['starts']['gd'])}"
        f" starts on a circle: NGD ≤ {inv['starts_ngd_max']:.0e}, GD ≥ "
        f"{inv['starts_gd_min']:.2f}"
    )
    xlabel, ylabel = "iteration k (flow: t / s)", "distance between the two runs"
    legend = {"loc": "center right"}
    _common.finish(ax, legend, xlabel=xlabel, ylabel=ylabel, title=title)


def plot(data: dict, path) -> None:
    s = data["settings"]
    fig, ((ax_t, ax_x), (ax_l, ax_d)) = _common.figure(2, 2, 6.5, 5.5)
    _plane(ax_t, data, "theta")
    _plane(ax_x, data, "x")
    ax_t.legend(fontsize=7, loc="lower left")
    _losses(ax_l, data)
    _distances(ax_d, data)
    a = np.asarray(s["A"])
    title = (
        f"Seed {SEED} {SECTION}\n{TITLE}\n"
        f"A = [[{a[0, 0]:g}, {a[0, 1]:g}], [{a[1, 0]:g}, {a[1, 1]:g}]] (condition "
        f"{s['A_condition']:.1f}); constant step s = {s['step']:g}, {s['steps']} steps; "
        "Fisher metric, undamped Cholesky; logistic regression on 40 points"
    )
    _common.save(fig, path, title)
