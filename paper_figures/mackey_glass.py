"""Seed 003, slides 'Mackey Glass': a 4-10-1 tanh network predicting a chaotic series.

The slides' "less toy example" (after Park, Amari & Fukumizu 2000): the Mackey–Glass
delay map $x(t+1) = (1-b)x(t) + a\\,x(t-\\tau)/(1 + x(t-\\tau)^{10})$, $a = 0.2$, $b = 0.1$,
$\\tau = 17$; inputs $(x(t), x(t-6), x(t-12), x(t-18))$, target $x(t+6)$; a shallow tanh
network with 10 neurons, 61 parameters. The slides show no numbers, so this figure
compares GD, NGD and the natural momentum methods of the slides (heavy-ball LM, FD, LG
and natural Nesterov) on it, with Adam as a first-order baseline.

Our choices (recorded in `settings`): history x = 1.2 on the first 18 steps, 1000
transient steps discarded (the series then stays in [0.37, 1.34]); 500 training windows
at consecutive times t = 18..517 and 500 test windows at the next 500 times (a held-out
future stretch); raw inputs. Loss ½ mean squared error (`ng.LeastSquares`), Gauss–Newton
(= L² of the training points) metric, Gram solve `ng.Cholesky(1e-6)` (relative
Levenberg–Marquardt damping, λ = 1e-6·tr(G)/p) for NGD and for projecting the momentum,
best of `ng.LogGrid(31, 2^-30, 1)` for every NGD-family step (the momentum part is not
searched: the grid picks s along −h from θ + βm); GD: best of `ng.LogGrid(31, 1e-6,
100)`; Adam: optax defaults, lr 1e-2. β = 0.5 in the main comparison, swept over
{0.3, 0.5, 0.7, 0.9}. 500 iterations, initialisation seeds 0-5 (`--quick`: 100
iterations, seeds 0-1, β ∈ {0.5, 0.9}). Panels: training and test loss (median and range
over seeds), iterations to reach training loss 3e-5 (≈ 3× the floor) and the largest
loss of the run against β, and the series with the prediction of the method with the
lowest median test loss.

Why damped: the undamped minimum-norm natural gradient stalls here. `ng.Pinv()` (rcond
1e-7) ended 300 iterations at 1.2e-2, 1.1e-3, 9.5e-2 (seeds 0-2; step sizes ~1e-5, the
direction dominated by tiny singular values) and `ng.QR()` 1000 iterations at 1.4e-2,
6e-6, 4.6e-2, 0.41 (seeds 0-3), while `ng.Cholesky(1e-6)` reaches ~1e-5 on every seed.

Measured (full run, 6 seeds, median [min, max]):

- final training loss: GD 5.9e-3 [5.5e-3, 6.1e-3], Adam 4.5e-3 [3.9e-3, 5.9e-3], NGD
  1.0e-5 [7.9e-6, 1.3e-5]; at β = 0.5 LM 9.3e-6 [7.3e-6, 1.6e-5], FD 8.5e-6 [7.0e-6,
  1.4e-5], LG 9.4e-6 [7.5e-6, 1.1e-5], Nesterov 1.0e-5 [8.0e-6, 1.2e-5]. Test loss:
  GD 5.8e-3, Adam 4.5e-3, the NGD family 1.2e-5 to 1.5e-5 (no overfitting: the test
  RMSE is ~2% of the series' standard deviation 0.235).
- NGD is ~500× below GD and Adam after 500 iterations; GD is ahead only in the first
  ~10 iterations.
- Momentum does not lower the loss floor (every variant ends within the seed spread of
  NGD). It can shorten the descent: iterations to 3e-5, NGD 33.5 [20, 66]; at β = 0.5
  LM 30.5, FD 33.5, LG 27, Nesterov 18 [16, 100]; at β = 0.7 Nesterov 19 [16, 23] (every
  seed faster than NGD's median), LG 23.5, LM 31 (one seed never), FD 49.5 (slower).
- Heavy-ball is unstable at large β: at β = 0.9 the loss of the worst seed reaches 1.9e3
  (LM), 3.1e3 (FD), 1.0e2 (LG) and 2, 5 and 1 of 6 seeds never reach 3e-5; natural
  Nesterov at β = 0.9 stays below 2.4 and every seed reaches 3e-5 (median 22.5).
- Time (shared 2-core CPU, load 4-5, so rough): ~0.6-1.9 ms per NGD-family iteration
  (heavy-ball and Nesterov also project the momentum; XLA shares the factorization),
  0.4-0.6 GD, ~0.1 Adam; compilation 2-7 s per method. Whole run 90-110 s; `--quick` ~40 s, 30 s of it the 7 compilations.
- `--quick` (100 iterations, seeds 0-1): final loss GD 7.3e-3, Adam 1.6e-2, NGD 1.3e-5,
  momentum (β = 0.5) 1.1e-5 to 1.3e-5; iterations to 3e-5 NGD 37, Nesterov 24.5; at
  β = 0.9 heavy-ball's worst loss 1.9e3 (LM), 16 (FD), 1.0e2 (LG), Nesterov's 0.58.
"""

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import ngflow as ng

from . import _common
from .least_squares_shallow import compile_timer, timed_solve, timing


NAME = "mackey_glass"
SEED = "003"
SECTION = "slides 'Mackey Glass' (after the momentum toy examples)"
TITLE = "Mackey–Glass series by a 4-10-1 tanh network: GD, NGD and natural momentum"

# The delay map and the data set.
A, B, TAU = 0.2, 0.1, 17
HISTORY = 1.2  # x(t) = 1.2 for the first TAU + 1 steps
TRANSIENT = 1000  # steps of the map discarded after the constant history
LAGS = (0, 6, 12, 18)  # inputs x(t - lag)
HORIZON = 6  # target x(t + 6)
N_TRAIN, N_TEST = 500, 500
HIDDEN = 10

# The methods.
DAMPING = 1e-6  # Cholesky's relative damping: λ = 1e-6 · tr(G)/p
GRID = {"num": 31, "smallest": 0.5**30, "largest": 1.0}
GD_GRID = {"num": 31, "smallest": 1e-6, "largest": 100.0}
ADAM_LR = 1e-2
BETA = 0.5  # the momentum factor of the main comparison
THRESHOLD = 3e-5  # "converged": training loss at most this (about 3x the loss floor)
SIZES = {
    "quick": {"steps": 100, "seeds": (0, 1), "betas": (BETA, 0.9)},
    "full": {"steps": 500, "seeds": (0, 1, 2, 3, 4, 5), "betas": (0.3, 0.5, 0.7, 0.9)},
}
MOMENTUM = ("lm", "fd", "lg", "nesterov")  # the roles swept over β


# -- data ---------------------------------------------------------------------------


def mackey_glass(n: int, *, a=A, b=B, tau=TAU, history=HISTORY, transient=TRANSIENT):
    """`n` values of the Mackey–Glass delay map
    $x(t+1) = (1-b)x(t) + a\\,x(t-\\tau)/(1 + x(t-\\tau)^{10})$, started from the constant
    history $x = $ `history` on $\\tau + 1$ steps, after discarding `transient` steps."""
    x = np.empty(tau + 1 + transient + n)
    x[: tau + 1] = history
    for t in range(tau, x.size - 1):
        d = x[t - tau]
        x[t + 1] = (1 - b) * x[t] + a * d / (1 + d**10)
    return x[tau + 1 + transient :]


def windows(series, times):
    """Inputs $(x(t - \\ell))_{\\ell\\in\\text{LAGS}}$, shape `(n, 4)`, and targets
    $x(t + 6)$ at the given times (indices into `series`)."""
    times = np.asarray(times)
    inputs = np.stack([series[times - lag] for lag in LAGS], axis=1)
    return inputs, series[times + HORIZON]


def data():
    """The series and the training / test windows: training at t = 18..517 (the first
    times with all lags), test at the next 500 times (a held-out future stretch)."""
    first = max(LAGS)
    series = mackey_glass(first + N_TRAIN + N_TEST + HORIZON)
    train_t = first + np.arange(N_TRAIN)
    test_t = first + N_TRAIN + np.arange(N_TEST)
    return series, train_t, test_t


def make_model(seed: int):
    return eqx.nn.MLP(
        4, "scalar", HIDDEN, 1, activation=jnp.tanh, key=jax.random.key(seed)
    )


# -- methods ------------------------------------------------------------------------


def labels(beta=BETA) -> dict:
    """The roles of the methods -> their labels in the JSON."""
    return {
        "gd": "GD",
        "adam": f"Adam (lr {ADAM_LR:g})",
        "ngd": "NGD",
        "lm": f"NGD-HB-LM (β={beta:g})",
        "fd": f"NGD-HB-FD (β={beta:g})",
        "lg": f"NGD-HB-LG (β={beta:g})",
        "nesterov": f"NGD-Nesterov (β={beta:g})",
    }


def _grid_text(g):
    return f"ng.LogGrid({g['num']}, {g['smallest']:.3g}, {g['largest']:g})"


def ngflow_methods(beta=BETA) -> dict:
    """`role -> (method, description)` for the ngflow methods; the momentum ones at `beta`."""
    grid, gram = ng.LogGrid(**GRID), ng.Cholesky(DAMPING)
    g, c = _grid_text(GRID), f"ng.Cholesky({DAMPING:g})"
    hb = "ng.HeavyBall({c}, {g}, beta={b:g}, transport=ng.{t}())"
    return {
        "gd": (
            ng.GradientDescent(ng.LogGrid(**GD_GRID)),
            f"ng.GradientDescent({_grid_text(GD_GRID)})",
        ),
        "ngd": (ng.NaturalGradient(gram, grid), f"ng.NaturalGradient({c}, {g})"),
        "lm": (
            ng.HeavyBall(gram, grid, beta, ng.LastMomentum()),
            hb.format(c=c, g=g, b=beta, t="LastMomentum"),
        ),
        "fd": (
            ng.HeavyBall(gram, grid, beta, ng.FiniteDifference()),
            hb.format(c=c, g=g, b=beta, t="FiniteDifference"),
        ),
        "lg": (
            ng.HeavyBall(gram, grid, beta, ng.LastGradient()),
            hb.format(c=c, g=g, b=beta, t="LastGradient"),
        ),
        "nesterov": (
            ng.Nesterov(gram, grid, beta),
            f"ng.Nesterov({c}, {g}, beta={beta:g}, natural=True)",
        ),
    }


@eqx.filter_jit
def _adam_run(model, loss, monitors, steps: int, lr):
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt = optax.adam(lr)

    def evaluate(p):
        m = eqx.combine(p, static)
        return loss(m), {name: fn(m) for name, fn in monitors.items()}

    def body(carry, _):
        p, state = carry
        value, grad = jax.value_and_grad(lambda q: loss(eqx.combine(q, static)))(p)
        _, mons = evaluate(p)
        updates, state = opt.update(grad, state, p)
        return (optax.apply_updates(p, updates), state), (value, mons)

    (p, _), (values, mons) = jax.lax.scan(
        body, (params, opt.init(params)), None, length=steps
    )
    last, last_mons = evaluate(p)
    losses = jnp.concatenate([values, last[None]])
    mons = {k: jnp.concatenate([v, last_mons[k][None]]) for k, v in mons.items()}
    return losses, mons, eqx.combine(p, static)


def adam_solve(problem, steps, monitors):
    """Adam on `problem.loss` (plain JAX + optax, one jitted `lax.scan`): a record with
    the keys of `_common.record` that make sense for it, and the final model."""
    with compile_timer() as compile_s:
        start = time.perf_counter()
        losses, mons, model = _adam_run(
            problem.model, problem.loss, monitors, steps, ADAM_LR
        )
        losses = np.asarray(jax.block_until_ready(losses))
        wall = time.perf_counter() - start
    final = float(losses[-1])
    rec = {
        "losses": losses,
        "monitors": {k: np.asarray(v) for k, v in mons.items()},
        "final_loss": final,
        "num_steps": steps,
        "successful": bool(np.isfinite(final)),
        "result": "successful" if np.isfinite(final) else "nonfinite",
        "wall_time_s": wall,
        "wall_time_note": "one jitted lax.scan of optax.adam, JIT compilation included",
    }
    return rec, compile_s[0], model


# -- run ----------------------------------------------------------------------------


def _first_below(losses, threshold):
    hit = np.nonzero(np.asarray(losses) <= threshold)[0]
    return int(hit[0]) if hit.size else None


def _band(curves):
    """Median, min and max over seeds of equally long curves (NaN-aware)."""
    c = np.asarray([_common.series(_common.jsonable(v)) for v in curves], dtype=float)
    with np.errstate(all="ignore"):
        return {
            "median": np.nanmedian(c, axis=0),
            "min": np.nanmin(c, axis=0),
            "max": np.nanmax(c, axis=0),
        }


def _sweep_entry(runs):
    """Across seeds: the final losses, iterations to `THRESHOLD`, largest losses."""
    finals = np.asarray([r["final_loss"] for r in runs], dtype=float)
    curves = [_common.series(_common.jsonable(r["losses"])) for r in runs]
    return {
        "final_losses": finals,
        "final_loss_median": float(np.median(finals)),  # NaN if any run failed
        "iterations_to_threshold": [_first_below(c, THRESHOLD) for c in curves],
        "max_loss": [float(np.nanmax(c)) for c in curves],
    }


def _summary(runs):
    """`_sweep_entry` plus the test losses and the median/range bands of the curves."""
    tests = [float(np.asarray(r["monitors"]["test_loss"])[-1]) for r in runs]
    return {
        **_sweep_entry(runs),
        "final_test_losses": tests,
        "final_test_loss_median": float(np.median(tests)),
        "loss_band": _band([r["losses"] for r in runs]),
        "test_loss_band": _band([r["monitors"]["test_loss"] for r in runs]),
        "results": [r["result"] for r in runs],
        "ms_per_iter": [r["ms_per_iter"] for r in runs],
    }


def run(quick: bool) -> dict:
    size = SIZES["quick" if quick else "full"]
    steps, seeds, betas = size["steps"], size["seeds"], size["betas"]
    series, train_t, test_t = data()
    x_train, y_train = (jnp.asarray(v) for v in windows(series, train_t))
    x_test, y_test = (jnp.asarray(v) for v in windows(series, test_t))

    def test_loss(model):
        return 0.5 * jnp.mean((jax.vmap(model)(x_test) - y_test) ** 2)

    monitors = {"test_loss": test_loss}
    loss = ng.LeastSquares(y_train, x_train)
    problems = {s: ng.Problem(make_model(s), loss, ng.GaussNewton()) for s in seeds}
    name = labels(BETA)

    start = time.perf_counter()
    per_seed, models, compile_total = {role: [] for role in name}, {}, 0.0
    descriptions = {}
    for role, (method, description) in ngflow_methods(BETA).items():
        descriptions[role] = description
        for s in seeds:
            solution, compile_s = timed_solve(problems[s], method, steps, monitors)
            rec = {**_common.record(solution), **timing(solution, compile_s)}
            per_seed[role].append(rec)
            models[role, s] = solution.model
            compile_total += compile_s
    descriptions["adam"] = f"optax.adam({ADAM_LR:g}) (b1 0.9, b2 0.999, eps 1e-8)"
    for s in seeds:
        rec, compile_s, model = adam_solve(problems[s], steps, monitors)
        per_seed["adam"].append({**rec, **_adam_timing(rec, compile_s)})
        models["adam", s] = model
        compile_total += compile_s

    # The β sweep (β = BETA is the main comparison's runs; β = 0 is NGD).
    sweep = {role: {f"{BETA:g}": _sweep_entry(per_seed[role])} for role in MOMENTUM}
    for beta in betas:
        if beta == BETA:
            continue
        table = ngflow_methods(beta)
        for role in MOMENTUM:
            runs = []
            for s in seeds:
                solution, compile_s = timed_solve(
                    problems[s], table[role][0], steps, monitors
                )
                runs.append(_common.record(solution))
                compile_total += compile_s
            sweep[role][f"{beta:g}"] = _sweep_entry(runs)
    ngd_entry = _sweep_entry(per_seed["ngd"])

    # The records: initialisation seed seeds[0], plus the summary over all seeds.
    methods = {}
    for role, label in name.items():
        runs = per_seed[role]
        methods[label] = {
            "method": descriptions[role],
            **runs[0],
            "record_note": f"losses, monitors, stats, final_loss, times: seed {seeds[0]}",
            "seeds": _summary(runs),
            "wall_time_s_all_seeds": float(sum(r["wall_time_s"] for r in runs)),
        }

    # The prediction of the best method (lowest median final test loss), seed seeds[0].
    best = min(name, key=lambda r: methods[name[r]]["seeds"]["final_test_loss_median"])
    all_t = np.concatenate([train_t, test_t])
    inputs, targets = windows(series, all_t)
    predicted = jax.vmap(models[best, seeds[0]])(jnp.asarray(inputs))

    settings = {
        "quick": quick,
        "labels": name,
        "series": {
            "map": "x(t+1) = (1-b) x(t) + a x(t-tau) / (1 + x(t-tau)^10)",
            "a": A,
            "b": B,
            "tau": TAU,
            "history": f"x = {HISTORY} on the first tau + 1 = {TAU + 1} steps",
            "transient": TRANSIENT,
            "range": [float(series.min()), float(series.max())],
        },
        "inputs": f"x(t - l) for l in {list(LAGS)}, raw (not normalised)",
        "target": f"x(t + {HORIZON})",
        "train": f"{N_TRAIN} consecutive times t = {train_t[0]}..{train_t[-1]} "
        "(t indexes the series after the transient)",
        "test": f"the next {N_TEST} times t = {test_t[0]}..{test_t[-1]} (held out)",
        "loss": "ng.LeastSquares(targets, inputs): 1/2 mean_i (v(x_i) - y_i)^2 "
        "on the training windows",
        "test_loss": "the same 1/2 mean squared error on the test set (monitor `test_loss`)",
        "metric": "ng.GaussNewton() (= the L2 metric of the training points)",
        "model": f"eqx.nn.MLP(4, 'scalar', {HIDDEN}, 1, activation=tanh), key = seed",
        "num_parameters": ng.num_parameters(problems[seeds[0]].model),
        "steps": steps,
        "seeds": list(seeds),
        "gram": f"ng.Cholesky({DAMPING:g}): relative damping, λ = {DAMPING:g} tr(G)/p",
        "step_grid": {
            **GRID,
            "note": "best of the grid (early exit), for every ngflow method but GD",
        },
        "gd_step_grid": GD_GRID,
        "adam_lr": ADAM_LR,
        "beta": BETA,
        "betas": list(betas),
        "threshold": THRESHOLD,
        "best": {"role": best, "label": name[best], "seed": seeds[0]},
        "our_choices": [
            "The slides give the map, the inputs, the target and the 4-10-1 network only; "
            "the initial history, the transient, the training/test split, the damping, "
            "the step grids, β, the iteration count and the seeds are ours.",
            "NGD's Gram solve is damped (Levenberg–Marquardt): undamped minimum-norm "
            "directions (ng.Pinv(), ng.QR() at rcond 1e-7) stall on this problem, see "
            "the module docstring.",
            "Records are of initialisation seed 0; `seeds` summarises all seeds.",
        ],
        "compile_time_s_total": compile_total,
        "all_methods_wall_time_s": time.perf_counter() - start,
        "versions": {
            "ngflow": ng.__version__,
            "jax": jax.__version__,
            "equinox": eqx.__version__,
            "optax": optax.__version__,
        },
    }
    out = {
        "settings": settings,
        "methods": methods,
        "beta_sweep": {"ngd": ngd_entry, "momentum": sweep},
        "prediction": {
            "t": all_t + HORIZON,
            "true": targets,
            "predicted": predicted,
            "train_end": int(train_t[-1] + HORIZON),
        },
    }
    return _common.jsonable(out)


def _adam_timing(rec, compile_s):
    run_s = max(rec["wall_time_s"] - compile_s, 0.0)
    return {
        "compile_time_s": compile_s,
        "run_time_s": run_s,
        "ms_per_iter": 1e3 * run_s / rec["num_steps"],
    }


# -- plot ---------------------------------------------------------------------------


STYLE = {  # role -> matplotlib style
    "gd": {"color": "0.5", "ls": "--"},
    "adam": {"color": "tab:brown", "ls": "-."},
    "ngd": {"color": "black", "ls": "-", "lw": 2.0},
    "lm": {"color": "tab:blue", "ls": "-"},
    "fd": {"color": "tab:orange", "ls": "-"},
    "lg": {"color": "tab:green", "ls": "-"},
    "nesterov": {"color": "tab:red", "ls": "-"},
}


def _curves(ax, data, key, ylabel, title):
    s = data["settings"]
    final = "final_loss_median" if key == "loss_band" else "final_test_loss_median"
    for role, label in s["labels"].items():
        summary = data["methods"][label]["seeds"]
        band = summary[key]
        med = _common.series(band["median"])
        k = np.arange(med.size) + 1
        style = STYLE[role]
        ax.loglog(
            k,
            med,
            label=f"{label}: {summary[final]:.1e}",
            lw=style.get("lw", 1.3),
            ls=style["ls"],
            color=style["color"],
        )
        ax.fill_between(
            k,
            _common.series(band["min"]),
            _common.series(band["max"]),
            color=style["color"],
            alpha=0.12,
            lw=0,
        )
    ax.axhline(s["threshold"], color="0.3", lw=0.6, ls=":")
    n = len(s["seeds"])
    ax.set(
        xlabel="iteration + 1",
        ylabel=ylabel,
        title=f"{title} (median, band: {n} seeds)",
    )
    ax.set_ylim(top=2.0)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left", title="final (median)", title_fontsize=7)


def _beta_points(data, field):
    """`role -> (betas, per-β lists of per-seed values)`, NGD as β = 0 of every role."""
    sweep = data["beta_sweep"]
    out = {}
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
    s = data["settings"]
    steps = s["steps"]
    for i, (role, (betas, values)) in enumerate(
        _beta_points(data, "iterations_to_threshold").items()
    ):
        color = STYLE[role]["color"]
        shift = 0.012 * (i - 1.5)
        line = []
        for b, iters in zip(betas, values, strict=True):
            v = np.array([np.inf if n is None else n for n in iters], dtype=float)
            med, lo, hi, miss = (
                np.median(v),
                v.min(),
                min(v.max(), steps),
                int(np.sum(np.isinf(v))),
            )
            x = b + shift
            if np.isfinite(med):
                ax.errorbar(
                    [x],
                    [med],
                    yerr=[[med - lo], [hi - med]],
                    fmt="o",
                    color=color,
                    capsize=3,
                    ms=5,
                )
                line.append((x, med))
            else:
                ax.plot([x], [steps], "^", color=color, ms=8)
            if miss:
                ax.annotate(
                    f"{miss}✗",
                    (x, steps),
                    textcoords="offset points",
                    xytext=(-4, 6 + 9 * i),
                    fontsize=7,
                    color=color,
                )
        ax.plot(
            *zip(*line, strict=True),
            color=color,
            lw=0.8,
            alpha=0.7,
            label=_role_name(data, role),
        )
    ax.set_yscale("log")
    ax.set_ylim(10, steps * 3)
    ax.axhline(steps, color="0.3", lw=0.6, ls=":")
    ax.set(
        xlabel="momentum factor β  (β = 0: NGD)",
        ylabel=f"iterations to training loss ≤ {s['threshold']:g}",
        title="Speed vs β (median, bars min–max;\nk✗: k seeds never get there)",
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")


def _blowup(ax, data):
    s = data["settings"]
    for i, (role, (betas, values)) in enumerate(_beta_points(data, "max_loss").items()):
        color = STYLE[role]["color"]
        x = np.array(betas) + 0.012 * (i - 1.5)
        for xb, v in zip(x, values, strict=True):
            ax.plot(np.full(len(v), xb), v, ".", color=color, alpha=0.45, ms=4)
        ax.plot(
            x,
            [max(v) for v in values],
            "o-",
            color=color,
            ms=5,
            lw=0.9,
            label=_role_name(data, role),
        )
    first = max(
        _common.series(data["methods"][label]["seeds"]["loss_band"]["max"])[0]
        for label in s["labels"].values()
    )
    ax.axhline(first, color="0.3", lw=0.6, ls=":")
    ax.text(0.0, first * 1.4, "largest initial loss", fontsize=7)
    ax.set_yscale("log")
    ax.set(
        xlabel="momentum factor β  (β = 0: NGD)",
        ylabel="largest training loss of the run",
        title=f"Stability vs β (dots: {len(s['seeds'])} seeds, line: the worst)",
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")


def _prediction(ax, data):
    s, pred = data["settings"], data["prediction"]
    t = np.asarray(pred["t"])
    true, fit = _common.series(pred["true"]), _common.series(pred["predicted"])
    ax.plot(t, true, color="0.2", lw=1.2, label="x(t + 6), Mackey–Glass")
    ax.plot(
        t,
        fit,
        color=STYLE[s["best"]["role"]]["color"],
        lw=1.0,
        ls="--",
        label=f"prediction, {s['best']['label']}, seed {s['best']['seed']}",
    )
    ax.axvline(pred["train_end"] + 0.5, color="0.4", lw=0.8, ls=":")
    ax.text(pred["train_end"] - 5, 0.22, "training ←", ha="right", fontsize=8)
    ax.text(pred["train_end"] + 5, 0.22, "→ test", ha="left", fontsize=8)
    err = ax.twinx()
    err.plot(t, fit - true, color="tab:purple", lw=0.6, alpha=0.8)
    bound = 1.1 * np.nanmax(np.abs(fit - true))
    err.set_ylim(-4 * bound, bound)
    err.set_ylabel("prediction − truth", color="tab:purple")
    err.tick_params(axis="y", colors="tab:purple")
    ax.set_ylim(0.15, 1.75)
    ax.set(
        xlabel="t + 6",
        ylabel="x",
        title="The series and the prediction of the best method (lowest median test loss)",
    )
    ax.legend(fontsize=7, loc="upper left")


def plot(data: dict, path) -> None:
    s = data["settings"]
    fig = Figure(figsize=(16, 10), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplot_mosaic([["loss", "test", "speed"], ["series", "series", "blowup"]])
    _curves(
        ax["loss"], data, "loss_band", "training loss ½ mean (v − y)²", "Training loss"
    )
    _curves(
        ax["test"],
        data,
        "test_loss_band",
        "test loss ½ mean (v − y)²",
        "Held-out test loss",
    )
    _sweep(ax["speed"], data)
    _blowup(ax["blowup"], data)
    _prediction(ax["series"], data)
    grid = s["step_grid"]
    fig.suptitle(
        f"Seed {SEED} {SECTION}: {TITLE}\n"
        f"{N_TRAIN} training / {N_TEST} test windows (x(t), x(t−6), x(t−12), x(t−18)) → "
        f"x(t+6); {s['num_parameters']} parameters; {s['steps']} iterations\n"
        f"NGD family: Gauss–Newton metric, {s['gram']}, best of {grid['num']} step sizes "
        f"in [2^-30, 1]; GD: best of {s['gd_step_grid']['num']} in "
        f"[{s['gd_step_grid']['smallest']:g}, {s['gd_step_grid']['largest']:g}]; "
        f"Adam: optax defaults, lr {s['adam_lr']:g}",
        fontsize=10,
    )
    _common.save(fig, path)
