"""Seed 003, "Toy example: not L² loss": natural gradient with the L² metric is biased for
a non-L² loss, and momentum makes up part of the difference.

Function space is the 2D space of `_toy` (Φ = [1, √2 sin 2πx], coefficients c ∈ R²,
‖v‖_{L²} = |c|). The loss is ½‖f(u) − f(v)‖²_K with the radial distortion
f(v) = (1 + ω‖v − q‖²)(v − q) + q, acting on the coefficients. The slides write
q = R(u − v) + v; we read it as a FIXED point q = R(u − v₀) + v₀, with R the rotation by
+90° and v₀ the initial function (the slides do not say whether q follows the iterate;
a moving q would change the loss at every step). f is a bijection of the plane
(radially r ↦ r(1 + ωr²)), so the only minimum is v = u, but the loss is not ½‖u − v‖²:
its Hessian at u is J_fᵀKJ_f, not K, and J_f stretches the direction to q by
1 + 3ω‖v − q‖² against 1 + ω‖v − q‖² across it.

Model (the slides' nonlinear toy manifold, our choice of numbers): p = 2,
`ng.QuadraticModel(basis, B, Q)`, c(θ) = θᵀB + ½θᵀQθ with B = [[1, 0], [0.6, 0.8]],
Q₀₁ = Q₁₀ = (0.5, 0), Q₁₁ = (0, 0.5), Q₀₀ = 0; θ(0) = 0 so v₀ = 0. Since p = m = 2 the
tangent space is the whole plane (the Jacobian of c stays invertible on the paths), so
the L² natural gradient is the L² gradient of the loss in function space, and the
transports differ only through the curvature of θ ↦ c. K = diag(1, 0.2), ω = 1,
u = (1, 1), so q = (−1, 1). The loss is `ng.SumOfSquares` of K^{1/2}(f(c_u) − f(c_v)).

Methods (100 steps, constant steps): GD (α = 0.005; with 0.01 it does not converge);
NGD with the L² metric (`ng.L2`, α = 0.01; with 0.02 it does not converge: the loss's
stiffness, not the parametrisation, limits the step); NGD with the loss's Gauss–Newton
metric (`ng.GaussNewton()`, α = 0.5: the metric of this loss's Hessian, to first order
f(v) moves straight to f(u)); natural heavy-ball with the L² metric and the transports
LM, FD, LG, all with α = 0.01, β = 0.5. LG with the L² metric needs the L² gradient at
the previous iterate, which `ng.LastGradient` does not provide (it requires the
Gauss–Newton metric, where the functional gradient is the loss residual):
`L2LastGradient` below computes it for this toy (w = −α_{k−1}·∇_{L²}L(v_{k−1}), the
library's sign). The natural gradient flow with the L² metric (full run only; time α
per iteration) is the limit of NGD-L².

Measured (100 steps; quick and full runs are the same discrete runs): final loss GD
6.1e-3 > NGD-L² 1.3e-4 > LG 5.2e-7 > LM 1.4e-10 ≈ FD 1.4e-10 > NGD-Gauss–Newton 0
(machine zero; it contracts the loss by (1 − α)² = 1/4 per step, 1e-11 at step 20);
distance |c − u|: GD 4.9e-2, NGD-L² 7.2e-3, LG 4.3e-4, LM/FD 7.5e-6, Gauss–Newton 0.
The L² natural gradient flow (full run) reaches loss 1.6e-4 at time 1 = 100 × α,
next to NGD-L²'s 1.3e-4. Paths: NGD-L² and its flow first run along the stiff
direction (the radial one from q, roughly +c₀; c₁ dips to −0.19 while u has c₁ = 1),
then crawl up the narrow valley to u, zig-zagging: that crawl is what momentum speeds
up. Gauss–Newton heads for u (its first step, α = 0.5, overshoots to c = (1.17, 0.88)
because f is cubic). LM and FD nearly coincide; all L² methods share the first step.
β sweep (`beta_sweep`, α = 0.01): final loss for β = 0.3 / 0.5 / 0.7 / 0.8: LM
8.5e-7 / 1.4e-10 / 7.0e-14 / 2.7e-6, FD 8.5e-7 / 1.4e-10 / 6.3e-13 / 8.3e-6, LG
4.5e-6 / 5.2e-7 / 1.6 / 26 (LG's effective step α(1 + β) passes the stability limit).
The discrete runs agree to all printed digits with an independent NumPy implementation
of the same recursions (checked while writing the figure).

Wall time (2-core machine shared with other jobs, load ~5): full ~40-50 s, quick
~30-35 s, nearly all XLA compilation (one per method, ~3-5 s each under that load,
one more for the flow).
"""

import jax
import jax.numpy as jnp
import numpy as np

import ngflow as ng

from . import _common, _momentum_toy as _mt, _toy


NAME = "toy_non_l2"
SEED = "003"
SECTION = "slides, 'Toy example: not L² loss'"
TITLE = "A non-L² loss: NGD with the L² metric is biased; momentum and Gauss–Newton"

B = np.array([[1.0, 0.0], [0.6, 0.8]])
Q_SCALE = 0.5
K = np.diag([1.0, 0.2])
OMEGA = 1.0
U = np.array([1.0, 1.0])
THETA0 = np.zeros(2)
ROTATION_DEG = 90.0
STEP_GD = 0.005
STEP_L2 = 0.01
STEP_GN = 0.5
BETA = 0.5
STEPS = 100
FLOW_SAVES = 201
FLOW_TIME = STEPS * STEP_L2
LANDSCAPE = {"x0": (-0.15, 1.35), "x1": (-0.3, 1.15), "num": 76}

LABELS = {
    "gd": "GD",
    "ngd_l2": "NGD, L² metric",
    "ngd_gn": "NGD, Gauss–Newton metric",
    "lm": "natural heavy-ball LM (L²)",
    "fd": "natural heavy-ball FD (L²)",
    "lg": "natural heavy-ball LG (L²)",
}
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
    """LG with the L² metric for this toy: $w_k = -s_{k-1}\\nabla_{L^2}L(v_{k-1})$ as the
    metric's features $\\sqrt{w_n}\\,g(x_n)$, $g = (\\nabla_c L)^\\top\\Phi$ the $L^2$ Riesz
    representer of $dL(v_{k-1})$ ($\\Phi$ orthonormal). `ng.LastGradient` needs the
    Gauss–Newton metric (its functional gradient is the loss residual)."""

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
    """role -> (problem key, method, description)."""
    gram, a = ng.Pinv(), ng.Constant(STEP_L2)
    hb = lambda transport: ng.HeavyBall(gram, a, beta, transport)
    return {
        "gd": (
            "l2",
            ng.GradientDescent(ng.Constant(STEP_GD)),
            f"ng.GradientDescent(ng.Constant({STEP_GD:g}))",
        ),
        "ngd_l2": (
            "l2",
            ng.NaturalGradient(gram, a),
            f"ng.NaturalGradient(ng.Pinv(), ng.Constant({STEP_L2:g})), ng.L2 metric",
        ),
        "ngd_gn": (
            "gn",
            ng.NaturalGradient(gram, ng.Constant(STEP_GN)),
            f"ng.NaturalGradient(ng.Pinv(), ng.Constant({STEP_GN:g})), "
            "ng.GaussNewton() metric",
        ),
        "lm": (
            "l2",
            hb(ng.LastMomentum()),
            f"ng.HeavyBall(Pinv, Constant({STEP_L2:g}), {beta:g}, LastMomentum()), L2",
        ),
        "fd": (
            "l2",
            hb(ng.FiniteDifference()),
            f"ng.HeavyBall(Pinv, Constant({STEP_L2:g}), {beta:g}, FiniteDifference()), "
            "L2",
        ),
        "lg": (
            "l2",
            hb(L2LastGradient()),
            f"ng.HeavyBall(Pinv, Constant({STEP_L2:g}), {beta:g}, L2LastGradient()), "
            "L2 (toy-specific transport, see the module)",
        ),
    }


def _beta_sweep(probs) -> dict:
    """Final loss of LM, FD, LG over `BETA_SWEEP` (same α; compiled loops reused)."""
    out = {"betas": list(BETA_SWEEP), "step": STEP_L2, "final_loss": {}}
    for role in ("lm", "fd", "lg"):
        losses = []
        for beta in BETA_SWEEP:
            _, method, _ = methods(beta)[role]
            losses.append(float(_mt.solve(probs["l2"], method, STEPS)["final_loss"]))
        out["final_loss"][LABELS[role]] = losses
    return out


def _flow(probs) -> dict:
    flow = _mt.solve_flow(
        probs["l2"], ng.NaturalGradientFlow(), FLOW_TIME, FLOW_SAVES, STEP_L2
    )
    flow["f"] = distort(np.asarray(flow["c"]))
    flow["distance_to_u"] = np.linalg.norm(np.asarray(flow["c"]) - U, axis=1)
    flow["limit_of"] = "NGD, L2 metric (time alpha per iteration)"
    return flow


def run(quick: bool) -> dict:
    probs = problems()
    results = {}
    for role, (key, method, text) in methods().items():
        rec = _mt.solve(probs[key], method, STEPS)
        c = np.asarray(rec["c"])
        rec["method"] = text
        rec["f"] = distort(c)
        rec["distance_to_u"] = np.linalg.norm(c - U, axis=1)
        rec["final_distance_to_u"] = float(np.linalg.norm(c[-1] - U))
        results[LABELS[role]] = rec
    sweep = _beta_sweep(probs)
    flows = {}
    if not quick:  # one more XLA compilation (diffrax), ~3-5 s
        flows[FLOW_LABELS["ngf_l2"]] = _flow(probs)
    lo0, hi0 = LANDSCAPE["x0"]
    lo1, hi1 = LANDSCAPE["x1"]
    x0 = np.linspace(lo0, hi0, LANDSCAPE["num"])
    x1 = np.linspace(lo1, hi1, LANDSCAPE["num"])
    grid = np.stack(np.meshgrid(x0, x1), -1)
    final = {LABELS[r]: results[LABELS[r]]["final_loss"] for r in LABELS}
    settings = {
        "quick": quick,
        "labels": LABELS,
        "flow_labels": FLOW_LABELS,
        "model": "ng.QuadraticModel(_toy.basis, B, Q): c(theta) = theta^T B + 1/2 theta^T Q "
        "theta (nonlinear, p = 2)",
        "B": B,
        "Q": Q_tensor(),
        "theta0": THETA0,
        "v0": V0,
        "u": U,
        "K": K,
        "omega": OMEGA,
        "rotation_deg": ROTATION_DEG,
        "q": Q_POINT,
        "f_u": distort(U),
        "q_interpretation": "the slides' q = R(u - v) + v read as the FIXED point "
        "q = R(u - v0) + v0, R the rotation by +90 degrees, v0 the initial function",
        "f": "f(c) = (1 + omega |c - q|^2)(c - q) + q on the coefficients (|.| = L2 norm)",
        "loss": "ng.SumOfSquares(K^{1/2}(f(c_u) - f(c_v))) = 1/2 |f(u) - f(v)|_K^2",
        "basis": "Phi = [1, sqrt(2) sin(2 pi x)] on [0, 1], midpoint rule, "
        f"{_toy.N_QUAD} points (exact)",
        "step_gd": STEP_GD,
        "step_l2": STEP_L2,
        "step_gauss_newton": STEP_GN,
        "beta": BETA,
        "steps": STEPS,
        "flow_time": FLOW_TIME,
        "gram": "ng.Pinv()",
        "final_losses": final,
        "our_choices": [
            "Nonlinear model (QuadraticModel, p = 2) so that the transports LM, FD, LG "
            "differ (with the linear model LM = FD exactly).",
            "Numbers B, Q, K, omega, u, theta0 (slides silent); q fixed (see "
            "q_interpretation).",
            "Constant steps near the largest stable one for GD and NGD-L2 (0.005, 0.01); "
            "Gauss-Newton 0.5; beta = 0.5 for all momentum variants (LG diverges at 0.7).",
            "LG with the L2 metric by a toy-specific transport (L2LastGradient); the "
            "library's ng.LastGradient needs the Gauss-Newton metric.",
        ],
        "versions": {"ngflow": ng.__version__, "jax": jax.__version__},
    }
    return _common.jsonable(
        {
            "settings": settings,
            "methods": results,
            "flows": flows,
            "beta_sweep": sweep,
            "landscape": {"x0": x0, "x1": x1, "loss": loss_of_c(grid)},
        }
    )


def _role_of(s, label):
    return {v: k for k, v in s["labels"].items()}[label]


def plot(data: dict, path) -> None:
    s = data["settings"]
    fig = _mt.grid_figure(17, 10.5)
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
    ax_c.plot(
        [v0[0], u[0]],
        [v0[1], u[1]],
        color="0.6",
        ls=":",
        lw=1,
        label="straight line v₀ → u",
    )
    flows = [(label, rec) for label, rec in data["flows"].items()]
    for label, rec in flows:
        fc, ff = _mt.xy(rec["c"]), _mt.xy(rec["f"])
        ax_c.plot(fc[:, 0], fc[:, 1], color=FLOW_COLOR, **_mt.FLOW_STYLE, label=label)
        ax_f.plot(ff[:, 0], ff[:, 1], color=FLOW_COLOR, **_mt.FLOW_STYLE, label=label)
    for label, rec in data["methods"].items():
        st = _mt.STYLE[_role_of(s, label)]
        kw = dict(
            color=st["color"],
            ls=st["ls"],
            marker=st["marker"],
            ms=3,
            lw=0.9,
            markevery=2,
            label=label,
        )
        c, f = _mt.xy(rec["c"]), _mt.xy(rec["f"])
        ax_c.plot(c[:, 0], c[:, 1], **kw)
        ax_f.plot(f[:, 0], f[:, 1], **kw)
        ax_l.semilogy(
            _common.series(rec["losses"]), color=st["color"], ls=st["ls"], label=label
        )
        ax_d.semilogy(
            _common.series(rec["distance_to_u"]),
            color=st["color"],
            ls=st["ls"],
            label=label,
        )
    for label, rec in flows:
        it = _common.series(rec["iteration"])
        kw = dict(color=FLOW_COLOR, **_mt.FLOW_STYLE, label=f"{label} (time / α)")
        ax_l.semilogy(it, _common.series(rec["losses"]), **kw)
        ax_d.semilogy(it, _common.series(rec["distance_to_u"]), **kw)
    ax_c.plot(*u, "k*", ms=12, label="target u")
    ax_c.plot(*v0, "ko", ms=6, mfc="none", label="start v₀")
    ax_c.annotate(
        f"q = ({q[0]:g}, {q[1]:g}) (outside)",
        xy=(0.02, 0.97),
        xycoords="axes fraction",
        fontsize=8,
        va="top",
    )
    ax_c.set(
        xlabel="c₀ (coefficient of 1)",
        ylabel="c₁ (coefficient of √2 sin 2πx)",
        title="(a) function space: loss contours and iterates",
        xlim=(lx0[0], lx0[-1]),
        ylim=(lx1[0], lx1[-1]),
    )
    ax_c.set_aspect("equal")
    ax_c.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax_f.plot(*s["f_u"], "k*", ms=12, label="f(u)")
    ax_f.set(
        xlabel="f(c)₀",
        ylabel="f(c)₁",
        title="(b) the same iterates in f-coordinates (loss = ½|f(u) − f(v)|²_K)",
    )
    ax_f.set_aspect("equal")
    ax_f.legend(fontsize=7, loc="best")
    ax_l.set(
        xlabel="iteration",
        ylabel="loss ½‖f(u) − f(v)‖²_K",
        title="(c) loss per iteration",
        ylim=(1e-16, None),
    )
    ax_d.set(
        xlabel="iteration",
        ylabel="‖v − u‖ (L² norm)",
        title="(d) distance to u",
        ylim=(1e-9, None),
    )
    sweep = data["beta_sweep"]
    for label, losses in sweep["final_loss"].items():
        st = _mt.STYLE[_role_of(s, label)]
        ax_b.semilogy(
            sweep["betas"],
            _common.series(losses),
            color=st["color"],
            ls=st["ls"],
            marker=st["marker"],
            label=label,
        )
    ngd_l2 = data["methods"][s["labels"]["ngd_l2"]]["final_loss"]
    ax_b.axhline(ngd_l2, color="black", lw=1, label="NGD, L² metric (β = 0)")
    ax_b.set(
        xlabel="β",
        ylabel=f"final loss after {s['steps']} steps",
        title=f"(e) final loss over β, α = {sweep['step']:g} (β = {s['beta']:g}: panels a-d)",
    )
    for ax in (ax_l, ax_d, ax_b):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(
        f"Seed {SEED}, {SECTION}: {TITLE}\nf(v) = (1 + ω‖v − q‖²)(v − q) + q, ω = "
        f"{s['omega']:g}, q = R₉₀(u − v₀) + v₀ fixed, K = diag({s['K'][0][0]:g}, "
        f"{s['K'][1][1]:g}); quadratic model p = 2; steps: GD {s['step_gd']:g}, L² "
        f"methods {s['step_l2']:g}, Gauss–Newton {s['step_gauss_newton']:g}; "
        f"β = {s['beta']:g}",
        fontsize=11,
    )
    _common.save(fig, path)
