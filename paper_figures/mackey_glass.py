"""Seed 003, slides 'Mackey Glass': a 4-10-1 tanh network (61 parameters) predicting the
Mackey–Glass series x(t+6) from (x(t), x(t−6), x(t−12), x(t−18)); GD, Adam, NGD and the
natural momentum methods (heavy-ball LM, FD, LG; Nesterov), NGD family with Gauss–Newton
metric, `ng.Cholesky(1e-6)` and a step-size grid (every setting in `settings`).

Plotted: training and test loss (median and range over seeds), iterations to the
threshold and the largest loss against β, and the best method's prediction.
Asserted (tests): NGD ends 100× below GD and Adam (training and test); every momentum
variant at β = 0.5 ends within 3× of NGD; Nesterov reaches the threshold faster than NGD;
at β = 0.9 Nesterov stays below twice the initial loss while heavy-ball blows up.
"""

import functools
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import ngflow as ng

from . import _common


NAME = "mackey_glass"
SEED = "003"
SECTION = "slides 'Mackey Glass' (after the momentum toy examples)"
TITLE = "Mackey–Glass series by a 4-10-1 tanh network: GD, NGD and natural momentum"

A, B, TAU = 0.2, 0.1, 17
HISTORY, TRANSIENT = 1.2, 1000  # x = 1.2 on the first TAU + 1 steps; steps discarded
LAGS, HORIZON = (0, 6, 12, 18), 6  # inputs x(t - lag), target x(t + 6)
N_TRAIN, N_TEST, HIDDEN = 500, 500, 10
DAMPING = 1e-6  # Cholesky's relative damping: λ = 1e-6 · tr(G)/p
GRID = {"num": 31, "smallest": 0.5**30, "largest": 1.0}
GD_GRID = {"num": 31, "smallest": 1e-6, "largest": 100.0}
ADAM_LR, BETA, THRESHOLD = 1e-2, 0.5, 3e-5
SIZES = {
    "quick": {"steps": 100, "seeds": (0, 1), "betas": (BETA, 0.9)},
    "full": {"steps": 500, "seeds": (0, 1, 2, 3, 4, 5), "betas": (0.3, 0.5, 0.7, 0.9)},
}
MOMENTUM = ("lm", "fd", "lg", "nesterov")  # the roles swept over β


def mackey_glass(n: int, *, a=A, b=B, tau=TAU, history=HISTORY, transient=TRANSIENT):
    """`n` values of the delay map after `transient` steps from a constant history."""
    x = np.empty(tau + 1 + transient + n)
    x[: tau + 1] = history
    for t in range(tau, x.size - 1):
        d = x[t - tau]
        x[t + 1] = (1 - b) * x[t] + a * d / (1 + d**10)
    return x[tau + 1 + transient :]


def windows(series, times):
    """Inputs (x(t - lag) for lag in LAGS), shape (n, 4), and targets x(t + 6)."""
    times = np.asarray(times)
    inputs = np.stack([series[times - lag] for lag in LAGS], axis=1)
    return inputs, series[times + HORIZON]


def data():
    """The series, training times t = 18..517 and test times (the next 500)."""
    first = max(LAGS)
    series = mackey_glass(first + N_TRAIN + N_TEST + HORIZON)
    return series, first + np.arange(N_TRAIN), first + N_TRAIN + np.arange(N_TEST)


def make_model(seed: int):
    key = jax.random.key(seed)
    return eqx.nn.MLP(4, "scalar", HIDDEN, 1, activation=jnp.tanh, key=key)


@functools.cache
def _data():
    series, train_t, test_t = data()
    train, test = windows(series, train_t), windows(series, test_t)
    return series, train_t, test_t, *(jnp.asarray(v) for v in (*train, *test))


def test_loss(model):
    _, _, _, _, _, x_test, y_test = _data()
    return 0.5 * jnp.mean((jax.vmap(model)(x_test) - y_test) ** 2)


def problem(x) -> ng.Problem:
    _, _, _, x_train, y_train, _, _ = _data()
    loss = ng.LeastSquares(y_train, x_train)
    return ng.Problem(make_model(x["seed"]), loss, ng.GaussNewton())


def labels(beta=BETA) -> dict:
    hb = {r: f"NGD-HB-{r.upper()} (β={beta:g})" for r in ("lm", "fd", "lg")}
    head = {"gd": "GD", "adam": f"Adam (lr {ADAM_LR:g})", "ngd": "NGD"}
    return {**head, **hb, "nesterov": f"NGD-Nesterov (β={beta:g})"}


def method(role, x):
    grid, gram, beta = ng.LogGrid(**GRID), ng.Cholesky(DAMPING), x["beta"]
    hb = {"lm": ng.LastMomentum, "fd": ng.FiniteDifference, "lg": ng.LastGradient}
    if role in hb:
        return ng.HeavyBall(gram, grid, beta, hb[role]())
    return {
        "gd": lambda: ng.GradientDescent(ng.LogGrid(**GD_GRID)),
        "adam": lambda: ng.Optax(optax.adam(ADAM_LR)),
        "ngd": lambda: ng.NaturalGradient(gram, grid),
        "nesterov": lambda: ng.Nesterov(gram, grid, beta),
    }[role]()


# One factory per role, built once: an ensemble solve compiles per factory identity.
METHODS = {role: functools.partial(method, role) for role in labels()}


def _sweep_entry(runs):
    """Across seeds: the final losses, iterations to `THRESHOLD`, largest losses."""
    finals = np.asarray([r["final_loss"] for r in runs], dtype=float)
    curves = [_common.series(_common.jsonable(r["losses"])) for r in runs]
    return {
        "final_losses": finals,
        "final_loss_median": float(np.median(finals)),  # NaN if any run failed
        "iterations_to_threshold": [_common.first_below(c, THRESHOLD) for c in curves],
        "max_loss": [float(np.nanmax(c)) for c in curves],
    }


def _summary(runs):
    tests = [float(np.asarray(r["monitors"]["test_loss"])[-1]) for r in runs]
    return {
        **_sweep_entry(runs),
        "final_test_losses": tests,
        "final_test_loss_median": float(np.median(tests)),
        "loss_band": _common.band([r["losses"] for r in runs]),
        "test_loss_band": _common.band([r["monitors"]["test_loss"] for r in runs]),
        "results": [r["result"] for r in runs],
    }


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    steps, seeds, betas = size["steps"], size["seeds"], size["betas"]
    series, train_t, test_t, *_ = _data()
    name, start = labels(BETA), time.perf_counter()
    methods, models, sweep = {}, {}, {}
    for role, factory in METHODS.items():
        role_betas = betas if role in MOMENTUM else (BETA,)
        grid = np.meshgrid(role_betas, seeds, indexing="ij")
        xs = {"beta": grid[0].ravel(), "seed": grid[1].ravel()}
        sols = _common.sweep(
            problem, factory, xs, steps, monitors={"test_loss": test_loss}
        )
        runs = {}
        for b, sol in zip(xs["beta"], sols, strict=True):
            runs.setdefault(float(b), []).append(_common.record(sol))
        models[role] = sols[list(role_betas).index(BETA) * len(seeds)].model
        if role in MOMENTUM:  # the β sweep (β = 0 is NGD)
            sweep[role] = {f"{b:g}": _sweep_entry(runs[b]) for b in role_betas}
        elif role == "ngd":
            ngd_sweep = _sweep_entry(runs[BETA])
        methods[name[role]] = {
            "method": repr(factory({"beta": BETA})),
            **runs[BETA][0],
            "record_note": f"losses, monitors, stats, final_loss, times: seed {seeds[0]}",
            "seeds": _summary(runs[BETA]),
        }
    methods[name["adam"]]["method"] = (
        f"ng.Optax(optax.adam({ADAM_LR:g})) (b1 0.9, b2 0.999)"
    )
    best = min(name, key=lambda r: methods[name[r]]["seeds"]["final_test_loss_median"])
    all_t = np.concatenate([train_t, test_t])
    inputs, targets = windows(series, all_t)
    settings = {
        "quick": quick,
        "labels": name,
        "series": dict(a=A, b=B, tau=TAU, history=HISTORY, transient=TRANSIENT),
        "inputs": f"x(t - l) for l in {list(LAGS)}, raw (not normalised)",
        "target": f"x(t + {HORIZON})",
        "train_times": [int(train_t[0]), int(train_t[-1])],
        "test_times": [int(test_t[0]), int(test_t[-1])],
        "loss": "ng.LeastSquares: 1/2 mean_i (v(x_i) - y_i)^2 on the training windows",
        "metric": "ng.GaussNewton() (= the L2 metric of the training points)",
        "num_parameters": ng.num_parameters(make_model(seeds[0])),
        "steps": steps,
        "seeds": list(seeds),
        "gram": f"ng.Cholesky({DAMPING:g}): relative damping, λ = {DAMPING:g} tr(G)/p",
        **{"step_grid": GRID, "gd_step_grid": GD_GRID, "adam_lr": ADAM_LR},
        **{"beta": BETA, "betas": list(betas), "threshold": THRESHOLD},
        "best": {"role": best, "label": name[best], "seed": seeds[0]},
        "all_methods_wall_time_s": time.perf_counter() - start,
        "versions": {**_common.versions(), "optax": optax.__version__},
    }
    prediction = {
        "t": all_t + HORIZON,
        "true": targets,
        "predicted": jax.vmap(models[best])(jnp.asarray(inputs)),
        "train_end": int(train_t[-1] + HORIZON),
    }
    beta_sweep = {"ngd": ngd_sweep, "momentum": sweep}
    out = {"settings": settings, "methods": methods, "beta_sweep": beta_sweep}
    return _common.jsonable({**out, "prediction": prediction})


STYLE = {  # role -> matplotlib style
    "gd": {"color": "0.5", "ls": "--"},
    "adam": {"color": "tab:brown", "ls": "-."},
    "ngd": {"color": "black", "ls": "-", "lw": 2.0},
    "lm": {"color": "tab:blue", "ls": "-"},
    "fd": {"color": "tab:orange", "ls": "-"},
    "lg": {"color": "tab:green", "ls": "-"},
    "nesterov": {"color": "tab:red", "ls": "-"},
}
BETA_AXIS, LEGEND = "momentum factor β  (β = 0: NGD)", {"loc": "upper left"}


def _curves(ax, data, key, ylabel, title):
    s = data["settings"]
    final = "final_loss_median" if key == "loss_band" else "final_test_loss_median"
    for role, label in s["labels"].items():
        summary, style = data["methods"][label]["seeds"], STYLE[role]
        k = np.arange(len(summary[key]["median"])) + 1
        text = f"{label}: {summary[final]:.1e}"
        line = {"lw": style.get("lw", 1.3), "ls": style["ls"]}
        _common.draw_band(ax, k, summary[key], style["color"], text, **line)
    ax.set(xscale="log", ylim=(None, 2.0))
    ax.axhline(s["threshold"], color="0.3", lw=0.6, ls=":")
    legend = {"loc": "lower left", "title": "final (median)", "title_fontsize": 7}
    title = f"{title} (median, band: {len(s['seeds'])} seeds)"
    _common.finish(ax, legend, xlabel="iteration + 1", ylabel=ylabel, title=title)


def _beta_points(data, field):
    """`role -> (betas, per-β lists of per-seed values)`, NGD as β = 0 of every role."""
    sweep, out = data["beta_sweep"], {}
    for role in MOMENTUM:
        entries = sorted(sweep["momentum"][role].items(), key=lambda kv: float(kv[0]))
        out[role] = (
            [0.0] + [float(b) for b, _ in entries],
            [sweep["ngd"][field]] + [e[field] for _, e in entries],
        )
    return out


def _role_name(data, role):
    return data["settings"]["labels"][role].split(" (")[0]


def _sweep(ax, data):
    s, steps = data["settings"], data["settings"]["steps"]
    points = _beta_points(data, "iterations_to_threshold").items()
    for i, (role, (betas, values)) in enumerate(points):
        color, line = STYLE[role]["color"], []
        for b, iters in zip(betas, values, strict=True):
            v = np.array([np.inf if n is None else n for n in iters], dtype=float)
            med, lo, hi = np.median(v), v.min(), min(v.max(), steps)
            x, miss = b + 0.012 * (i - 1.5), int(np.sum(np.isinf(v)))
            if np.isfinite(med):
                bars = [[med - lo], [hi - med]]
                ax.errorbar([x], [med], bars, fmt="o", color=color, capsize=3, ms=5)
                line.append((x, med))
            else:
                ax.plot([x], [steps], "^", color=color, ms=8)
            if miss:
                at = dict(textcoords="offset points", xytext=(-4, 6 + 9 * i))
                ax.annotate(f"{miss}✗", (x, steps), **at, fontsize=7, color=color)
        label = _role_name(data, role)
        ax.plot(*zip(*line, strict=True), color=color, lw=0.8, alpha=0.7, label=label)
    ax.set(yscale="log", ylim=(10, steps * 3))
    ax.axhline(steps, color="0.3", lw=0.6, ls=":")
    ylabel = f"iterations to training loss ≤ {s['threshold']:g}"
    title = "Speed vs β (median, bars min–max;\nk✗: k seeds never get there)"
    _common.finish(ax, LEGEND, xlabel=BETA_AXIS, ylabel=ylabel, title=title)


def _blowup(ax, data):
    s = data["settings"]
    for i, (role, (betas, values)) in enumerate(_beta_points(data, "max_loss").items()):
        color = STYLE[role]["color"]
        x = np.array(betas) + 0.012 * (i - 1.5)
        for xb, v in zip(x, values, strict=True):
            ax.plot(np.full(len(v), xb), v, ".", color=color, alpha=0.45, ms=4)
        worst = [max(v) for v in values]
        ax.plot(x, worst, "o-", color=color, ms=5, lw=0.9, label=_role_name(data, role))
    bands = [m["seeds"]["loss_band"]["max"] for m in data["methods"].values()]
    first = max(_common.series(b)[0] for b in bands)
    ax.axhline(first, color="0.3", lw=0.6, ls=":")
    ax.text(0.0, first * 1.4, "largest initial loss", fontsize=7)
    ax.set_yscale("log")
    title = f"Stability vs β (dots: {len(s['seeds'])} seeds, line: the worst)"
    ylabel = "largest training loss of the run"
    _common.finish(ax, LEGEND, xlabel=BETA_AXIS, ylabel=ylabel, title=title)


def _prediction(ax, data):
    s, pred = data["settings"], data["prediction"]
    t, end = np.asarray(pred["t"]), pred["train_end"]
    true, fit = _common.series(pred["true"]), _common.series(pred["predicted"])
    ax.plot(t, true, color="0.2", lw=1.2, label="x(t + 6), Mackey–Glass")
    label = f"prediction, {s['best']['label']}, seed {s['best']['seed']}"
    ax.plot(t, fit, color=STYLE[s["best"]["role"]]["color"], lw=1, ls="--", label=label)
    ax.axvline(end + 0.5, color="0.4", lw=0.8, ls=":")
    ax.text(end - 5, 0.22, "training ←", ha="right", fontsize=8)
    ax.text(end + 5, 0.22, "→ test", ha="left", fontsize=8)
    err = ax.twinx()
    err.plot(t, fit - true, color="tab:purple", lw=0.6, alpha=0.8)
    bound = 1.1 * np.nanmax(np.abs(fit - true))
    err.set_ylim(-4 * bound, bound)
    err.set_ylabel("prediction − truth", color="tab:purple")
    err.tick_params(axis="y", colors="tab:purple")
    title = "The series and the prediction of the best method (lowest median test loss)"
    ax.set(xlabel="t + 6", ylabel="x", title=title, ylim=(0.15, 1.75))
    ax.legend(fontsize=7, loc="upper left")


def plot(data: dict, path) -> None:
    s = data["settings"]
    grid, gd = s["step_grid"], s["gd_step_grid"]
    fig = _common.canvas(16, 10)
    ax = fig.subplot_mosaic([["loss", "test", "speed"], ["series", "series", "blowup"]])
    for key, kind, title in (
        ("loss", "training", "Training"),
        ("test", "test", "Held-out test"),
    ):
        band = "loss_band" if key == "loss" else "test_loss_band"
        _curves(ax[key], data, band, f"{kind} loss ½ mean (v − y)²", f"{title} loss")
    _sweep(ax["speed"], data)
    _blowup(ax["blowup"], data)
    _prediction(ax["series"], data)
    title = (
        f"Seed {SEED} {SECTION}: {TITLE}\n"
        f"{N_TRAIN} training / {N_TEST} test windows (x(t), x(t−6), x(t−12), x(t−18)) → "
        f"x(t+6); {s['num_parameters']} parameters; {s['steps']} iterations\n"
        f"NGD family: Gauss–Newton metric, {s['gram']}, best of {grid['num']} step sizes "
        f"in [2^-30, 1]; GD: best of {gd['num']} in [{gd['smallest']:g}, {gd['largest']:g}]; "
        f"Adam: optax defaults, lr {s['adam_lr']:g}"
    )
    _common.save(fig, path, title)
