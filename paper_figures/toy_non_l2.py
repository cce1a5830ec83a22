"""Seed 003, slides 'Toy example: not L² loss': for the loss ½‖f(u) − f(v)‖²_K, with the
radial distortion f(v) = (1 + ω‖v − q‖²)(v − q) + q about a fixed point q = R₉₀(u − v₀) + v₀,
NGD with the L² metric is biased; momentum makes up part of the difference. A quadratic
model (p = 2) in the 2D function space of `_toy`; GD, NGD with the L² and Gauss–Newton
metrics, natural heavy-ball LM, FD, LG (L²; LG by the toy's `L2LastGradient`), the L² flow
(full run) and a β sweep of the heavy-ball variants.

Plotted: iterates in function space and in f-coordinates, loss and distance to u per
iteration, final loss over β.
Asserted (tests): q is the fixed point; final losses ordered Gauss–Newton < LM ≈ FD < LG
< NGD-L² < GD, each by 10× or more, the same order for the distance to u; NGD-L² first
moves away from u, Gauss–Newton does not; the tangent map stays of rank 2; all L² methods
take the same first step; at β = 0.7 LM gains more while LG is worse than NGD-L².
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

import ngflow as ng

from . import _common, _toy


NAME = "toy_non_l2"
SEED = "003"
SECTION = "slides, 'Toy example: not L² loss'"
TITLE = "A non-L² loss: NGD with the L² metric is biased; momentum and Gauss–Newton"

B, Q_SCALE, K = np.array([[1.0, 0.0], [0.6, 0.8]]), 0.5, np.diag([1.0, 0.2])
OMEGA, U, THETA0, ROTATION_DEG = 1.0, np.array([1.0, 1.0]), np.zeros(2), 90.0
STEP_GD, STEP_L2, STEP_GN, BETA, STEPS, FLOW_SAVES = 0.005, 0.01, 0.5, 0.5, 100, 201
FLOW_TIME = STEPS * STEP_L2
LANDSCAPE = {"x0": (-0.15, 1.35), "x1": (-0.3, 1.15), "num": 76}

LABELS = {"gd": "GD", "ngd_l2": "NGD, L² metric", "ngd_gn": "NGD, Gauss–Newton metric"}
LABELS |= {r: f"natural heavy-ball {r.upper()} (L²)" for r in ("lm", "fd", "lg")}
FLOW_LABELS = {"ngf_l2": "natural gradient flow, L² metric"}
FLOW_COLOR = "tab:cyan"
BETA_SWEEP = (0.3, 0.5, 0.7, 0.8)  # momentum variants, same α: final losses recorded


def Q_tensor(scale=Q_SCALE) -> np.ndarray:
    Q = np.zeros((2, 2, 2))
    Q[0, 1] = Q[1, 0] = scale * np.array([1.0, 0.0])
    Q[1, 1] = scale * np.array([0.0, 1.0])
    return Q


def rotation(deg=ROTATION_DEG) -> np.ndarray:
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def coefficients_of(theta) -> np.ndarray:
    """c(θ) = θᵀB + ½θᵀQθ."""
    theta = np.asarray(theta, dtype=float)
    return theta @ B + 0.5 * np.einsum("i,ijk,j->k", theta, Q_tensor(), theta)


V0 = coefficients_of(THETA0)
Q_POINT = V0 + rotation() @ (U - V0)


def distort(c, xp=np):
    """f(c) = (1 + ω|c − q|²)(c − q) + q, on the last axis."""
    d = c - Q_POINT
    return (1 + OMEGA * xp.sum(d * d, axis=-1, keepdims=True)) * d + Q_POINT


def loss_of_c(c, xp=np):
    r = distort(U, xp) - distort(c, xp)
    return 0.5 * xp.einsum("...i,ij,...j->...", r, K, r)


_SQRT_K = jnp.asarray(np.linalg.cholesky(K).T)  # K = SᵀS; K diagonal: S = K^{1/2}
_F_U = jnp.asarray(distort(U))


def residual(model):
    """K^{1/2}(f(c_u) − f(c_v)): `ng.SumOfSquares` of it is ½‖f(u) − f(v)‖²_K."""
    return _SQRT_K @ (_F_U - distort(_toy.coefficients(model), jnp))


_GRAD_C = jax.grad(lambda c: loss_of_c(c, jnp))
_PHI = _toy.basis_matrix()
_SQRT_W = jnp.sqrt(_toy.WEIGHTS)


class L2LastGradient(ng.AbstractTransport):
    """LG with the L² metric (`ng.LastGradient` needs Gauss–Newton): w = −s ∇_{L²}L(v_{k−1})."""

    def function(self, tangent, previous):
        values = tangent.values_at(previous.theta)  # √w v_{k-1}(X): the L2 features
        c_prev = _PHI.T @ (_SQRT_W * values)
        return -previous.size * _SQRT_W * (_PHI @ _GRAD_C(c_prev))


def problems() -> dict:
    model = ng.QuadraticModel(_toy.basis, B, Q_tensor(), jnp.asarray(THETA0))
    loss = ng.SumOfSquares(residual)
    return {
        "l2": ng.Problem(model, loss, ng.L2(_toy.POINTS, _toy.WEIGHTS)),
        "gn": ng.Problem(model, loss, ng.GaussNewton()),
    }


def methods(beta=BETA) -> dict:
    """role -> (problem key, method)."""
    gram, a = ng.Pinv(), ng.Constant(STEP_L2)
    return {
        "gd": ("l2", ng.GradientDescent(ng.Constant(STEP_GD))),
        "ngd_l2": ("l2", ng.NaturalGradient(gram, a)),
        "ngd_gn": ("gn", ng.NaturalGradient(gram, ng.Constant(STEP_GN))),
        "lm": ("l2", ng.HeavyBall(gram, a, beta, ng.LastMomentum())),
        "fd": ("l2", ng.HeavyBall(gram, a, beta, ng.FiniteDifference())),
        "lg": ("l2", ng.HeavyBall(gram, a, beta, L2LastGradient())),
    }


def _sweep_method(role, beta):
    return methods(beta)[role][1]


# One factory per role, built once: an ensemble solve compiles per factory identity.
SWEEP_METHODS = {r: functools.partial(_sweep_method, r) for r in ("lm", "fd", "lg")}


def _beta_sweep(probs) -> dict:
    """Final loss of LM, FD, LG over `BETA_SWEEP` (same α), one ensemble per transport."""
    out = {"betas": list(BETA_SWEEP), "step": STEP_L2, "final_loss": {}}
    for role, method in SWEEP_METHODS.items():
        sols = _common.sweep(probs["l2"], method, np.asarray(BETA_SWEEP), STEPS)
        out["final_loss"][LABELS[role]] = [float(sol.final_loss) for sol in sols]
    return out


def _flow(probs) -> dict:
    flow = ng.NaturalGradientFlow()
    flow = _toy.flow(probs["l2"], flow, FLOW_TIME, FLOW_SAVES, repr(flow), STEP_L2)
    c = np.asarray(flow["c"])
    flow.update(f=distort(c), distance_to_u=np.linalg.norm(c - U, axis=1))
    flow["limit_of"] = "NGD, L2 metric (time alpha per iteration)"
    return flow


def run(quick: bool) -> dict:
    probs = problems()
    results = {}
    for role, (key, method) in methods().items():
        rec = _toy.discrete(probs[key], method, STEPS, repr(method))
        c = np.asarray(rec["c"])
        rec.update(f=distort(c), distance_to_u=np.linalg.norm(c - U, axis=1))
        rec["final_distance_to_u"] = float(np.linalg.norm(c[-1] - U))
        results[LABELS[role]] = rec
    sweep = _beta_sweep(probs)
    flows = {} if quick else {FLOW_LABELS["ngf_l2"]: _flow(probs)}
    x0, x1 = (np.linspace(*LANDSCAPE[k], LANDSCAPE["num"]) for k in ("x0", "x1"))
    grid = np.stack(np.meshgrid(x0, x1), -1)
    final = {LABELS[r]: results[LABELS[r]]["final_loss"] for r in LABELS}
    settings = {
        "quick": quick,
        "labels": LABELS,
        "flow_labels": FLOW_LABELS,
        "model": "ng.QuadraticModel(_toy.basis, B, Q): c(theta) = theta^T B + 1/2 theta^T Q "
        "theta (nonlinear, p = 2)",
        **{"B": B, "Q": Q_tensor(), "theta0": THETA0, "v0": V0, "u": U, "K": K},
        **{
            "omega": OMEGA,
            "rotation_deg": ROTATION_DEG,
            "q": Q_POINT,
            "f_u": distort(U),
        },
        "q_interpretation": "the slides' q = R(u - v) + v read as the FIXED point "
        "q = R(u - v0) + v0, R the rotation by +90 degrees, v0 the initial function",
        "f": "f(c) = (1 + omega |c - q|^2)(c - q) + q on the coefficients (|.| = L2 norm)",
        "loss": "ng.SumOfSquares(K^{1/2}(f(c_u) - f(c_v))) = 1/2 |f(u) - f(v)|_K^2",
        "basis": "Phi = [1, sqrt(2) sin(2 pi x)] on [0, 1], midpoint rule, "
        f"{_toy.N_QUAD} points (exact)",
        **{"step_gd": STEP_GD, "step_l2": STEP_L2, "step_gauss_newton": STEP_GN},
        **{"beta": BETA, "steps": STEPS, "flow_time": FLOW_TIME, "gram": "ng.Pinv()"},
        "final_losses": final,
        "our_choices": "A nonlinear model (p = 2) so that LM, FD, LG differ; B, Q, K, "
        "omega, u, theta0 (slides silent); q fixed; constant steps near the largest "
        "stable ones for GD and NGD-L2; LG with the L2 metric by the toy-specific "
        "L2LastGradient (ng.LastGradient needs the Gauss-Newton metric).",
        "versions": _common.versions(),
    }
    out = {
        "settings": settings,
        "methods": results,
        "flows": flows,
        "beta_sweep": sweep,
    }
    return _common.jsonable(
        {**out, "landscape": {"x0": x0, "x1": x1, "loss": loss_of_c(grid)}}
    )


def plot(data: dict, path) -> None:
    s = data["settings"]
    fig = _common.canvas(17, 10.5)
    gs = fig.add_gridspec(2, 6)
    ax_c, ax_f = fig.add_subplot(gs[0, :3]), fig.add_subplot(gs[0, 3:])
    ax_l, ax_d, ax_b = (fig.add_subplot(gs[1, 2 * i : 2 * i + 2]) for i in range(3))
    u, q, v0 = (np.asarray(s[k]) for k in ("u", "q", "v0"))
    land = data["landscape"]
    lx0, lx1 = _common.series(land["x0"]), _common.series(land["x1"])
    field = np.array(land["loss"], dtype=float)
    levels = np.geomspace(1e-3, 100, 11)
    cs = ax_c.contour(lx0, lx1, field, levels=levels, colors="0.65", linewidths=0.7)
    ax_c.clabel(cs, levels[::2], fontsize=6, fmt="%g")
    line = dict(color="0.6", ls=":", lw=1, label="straight line v₀ → u")
    ax_c.plot([v0[0], u[0]], [v0[1], u[1]], **line)
    flows = list(data["flows"].items())
    for label, rec in flows:
        fc, ff = _toy.xy(rec["c"]), _toy.xy(rec["f"])
        ax_c.plot(fc[:, 0], fc[:, 1], color=FLOW_COLOR, **_toy.FLOW_STYLE, label=label)
        ax_f.plot(ff[:, 0], ff[:, 1], color=FLOW_COLOR, **_toy.FLOW_STYLE, label=label)
    for label, rec in data["methods"].items():
        st = _toy.STYLE[_toy.role_of(s, label)]
        line = dict(color=st["color"], ls=st["ls"], label=label)
        kw = dict(**line, marker=st["marker"], ms=3, lw=0.9, markevery=2)
        ax_c.plot(*_toy.xy(rec["c"]).T, **kw)
        ax_f.plot(*_toy.xy(rec["f"]).T, **kw)
        ax_l.semilogy(_common.series(rec["losses"]), **line)
        ax_d.semilogy(_common.series(rec["distance_to_u"]), **line)
    for label, rec in flows:
        it = _common.series(rec["iteration"])
        kw = dict(color=FLOW_COLOR, **_toy.FLOW_STYLE, label=f"{label} (time / α)")
        ax_l.semilogy(it, _common.series(rec["losses"]), **kw)
        ax_d.semilogy(it, _common.series(rec["distance_to_u"]), **kw)
    ax_c.plot(*u, "k*", ms=12, label="target u")
    ax_c.plot(*v0, "ko", ms=6, mfc="none", label="start v₀")
    at = dict(xy=(0.02, 0.97), xycoords="axes fraction", fontsize=8, va="top")
    ax_c.annotate(f"q = ({q[0]:g}, {q[1]:g}) (outside)", **at)
    ax_c.set(xlabel="c₀ (coefficient of 1)", ylabel="c₁ (coefficient of √2 sin 2πx)")
    ax_c.set(xlim=(lx0[0], lx0[-1]), ylim=(lx1[0], lx1[-1]), aspect="equal")
    ax_c.set_title("(a) function space: loss contours and iterates")
    ax_c.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax_f.plot(*s["f_u"], "k*", ms=12, label="f(u)")
    ax_f.set(xlabel="f(c)₀", ylabel="f(c)₁", aspect="equal")
    ax_f.set_title("(b) the same iterates in f-coordinates (loss = ½|f(u) − f(v)|²_K)")
    ax_f.legend(fontsize=7, loc="best")
    legend = {"loc": "lower left"}
    for ax, ylabel, low, title in (
        (ax_l, "loss ½‖f(u) − f(v)‖²_K", 1e-16, "(c) loss per iteration"),
        (ax_d, "‖v − u‖ (L² norm)", 1e-9, "(d) distance to u"),
    ):
        kw = {"ylabel": ylabel, "ylim": (low, None), "title": title}
        _common.finish(ax, legend, xlabel="iteration", **kw)
    sweep = data["beta_sweep"]
    for label, losses in sweep["final_loss"].items():
        st = _toy.STYLE[_toy.role_of(s, label)]
        ax_b.semilogy(sweep["betas"], _common.series(losses), **st, label=label)
    ngd_l2 = data["methods"][s["labels"]["ngd_l2"]]["final_loss"]
    ax_b.axhline(ngd_l2, color="black", lw=1, label="NGD, L² metric (β = 0)")
    title = f"(e) final loss over β, α = {sweep['step']:g} (β = {s['beta']:g}: a-d)"
    ylabel = f"final loss after {s['steps']} steps"
    _common.finish(ax_b, legend, xlabel="β", ylabel=ylabel, title=title)
    title = (
        f"Seed {SEED}, {SECTION}: {TITLE}\nf(v) = (1 + ω‖v − q‖²)(v − q) + q, ω = "
        f"{s['omega']:g}, q = R₉₀(u − v₀) + v₀ fixed, K = diag({s['K'][0][0]:g}, "
        f"{s['K'][1][1]:g}); quadratic model p = 2; steps: GD {s['step_gd']:g}, L² "
        f"methods {s['step_l2']:g}, Gauss–Newton {s['step_gauss_newton']:g}; "
        f"β = {s['beta']:g}"
    )
    _common.save(fig, path, title, 11)
