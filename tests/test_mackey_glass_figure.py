"""Seed 003's Mackey–Glass figure (`paper_figures/mackey_glass.py`) in quick mode: the
series and windows are right, the network has 61 parameters, the figure runs and plots,
and the data show what the figure claims: NGD far below GD and Adam, momentum at β = 0.5
near NGD, natural Nesterov faster to the threshold, heavy-ball blowing up at β = 0.9 and
Nesterov not. The measured numbers are in the figure's JSON; the bounds below are loose.
"""

import json

import numpy as np
import pytest


pytest.importorskip("matplotlib")  # the figures extra; the test extra lacks it

import ngflow as ng  # noqa: E402
from paper_figures import _common, mackey_glass as mg  # noqa: E402


def test_series_satisfies_the_delay_map():
    tau, a, b = mg.TAU, mg.A, mg.B
    x = mg.mackey_glass(3000)
    assert x.shape == (3000,)
    d = x[: -tau - 1]
    expected = (1 - b) * x[tau:-1] + a * d / (1 + d**10)
    np.testing.assert_allclose(x[tau + 1 :], expected, rtol=1e-14, atol=0)
    assert 0.2 < x.min() < 0.5 and 1.2 < x.max() < 1.4
    assert x.std() > 0.15  # oscillating, not settled on a fixed point
    # The transient is a prefix of a longer run of the same map.
    longer = mg.mackey_glass(3000 + 500, transient=mg.TRANSIENT - 500)
    np.testing.assert_array_equal(longer[500:], x)


def test_windows_and_split():
    series, train_t, test_t = mg.data()
    assert train_t.size == mg.N_TRAIN == 500 and test_t.size == mg.N_TEST
    assert train_t[0] == 18 and test_t[0] == train_t[-1] + 1  # disjoint, test after
    inputs, targets = mg.windows(series, test_t)
    assert inputs.shape == (mg.N_TEST, 4)
    t = test_t[7]
    np.testing.assert_array_equal(
        inputs[7], [series[t], series[t - 6], series[t - 12], series[t - 18]]
    )
    assert targets[7] == series[t + 6]
    assert test_t[-1] + 6 == series.size - 1  # the series is exactly long enough


def test_network_has_61_parameters():
    assert ng.num_parameters(mg.make_model(0)) == 61  # 4*10 + 10 + 10 + 1


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    data = mg.run(True)
    json.dumps(data, allow_nan=False)  # JSON-serialisable as __main__ writes it
    png = tmp_path_factory.mktemp("mackey_glass") / "mackey_glass.png"
    mg.plot(data, png)
    return data, png


def _roles(data):
    return {
        role: data["methods"][label]
        for role, label in data["settings"]["labels"].items()
    }


def test_quick_run_records(quick):
    data, png = quick
    assert png.stat().st_size > 10_000
    s = data["settings"]
    assert s["quick"] is True and s["num_parameters"] == 61
    assert set(s["labels"]) == {"gd", "adam", "ngd", "lm", "fd", "lg", "nesterov"}
    for role, result in _roles(data).items():
        assert result["final_loss"] > 0 and result["wall_time"] > 0
        assert result["num_steps"] == s["steps"]
        assert len(result["losses"]) == s["steps"] + 1
        assert len(result["monitors"]["test_loss"]) == s["steps"] + 1
        assert len(result["seeds"]["final_losses"]) == len(s["seeds"])
        if role != "adam":  # at β = 0.5 every method completes on every seed
            assert result["seeds"]["results"] == ["successful"] * len(s["seeds"])
    sweep = data["beta_sweep"]["momentum"]
    assert set(sweep) == set(mg.MOMENTUM)
    for entry in sweep.values():
        assert set(entry) == {f"{b:g}" for b in s["betas"]}


def test_quick_run_claims(quick):
    data, _ = quick
    m = _roles(data)
    med = {role: r["seeds"]["final_loss_median"] for role, r in m.items()}
    test = {role: r["seeds"]["final_test_loss_median"] for role, r in m.items()}
    # NGD ends orders of magnitude below GD and Adam, on training and test data.
    assert med["ngd"] < 1e-2 * med["gd"] and med["ngd"] < 1e-2 * med["adam"]
    assert test["ngd"] < 1e-2 * test["gd"] and test["ngd"] < 1e-2 * test["adam"]
    # Momentum (β = 0.5) does not change the floor: every variant ends near NGD.
    for role in mg.MOMENTUM:
        assert med["ngd"] / 3 < med[role] < 3 * med["ngd"], role
    # ... natural Nesterov gets there in fewer iterations.
    iters = {
        role: m[role]["seeds"]["iterations_to_threshold"]
        for role in ("ngd", "nesterov")
    }
    assert None not in iters["ngd"] and None not in iters["nesterov"]
    assert np.median(iters["nesterov"]) < 0.8 * np.median(iters["ngd"])
    # At β = 0.9 heavy-ball blows up (its extrapolation is not searched); Nesterov not.
    sweep = data["beta_sweep"]["momentum"]
    initial = max(_common.series(r["seeds"]["loss_band"]["max"])[0] for r in m.values())
    nesterov = max(sweep["nesterov"]["0.9"]["max_loss"])
    assert nesterov < 2 * initial
    for role in ("lm", "fd", "lg"):
        assert max(sweep[role]["0.9"]["max_loss"]) > 10 * nesterov, role


def test_prediction_is_the_best_methods_model(quick):
    data, _ = quick
    s, pred = data["settings"], data["prediction"]
    best = data["methods"][s["best"]["label"]]
    medians = [r["seeds"]["final_test_loss_median"] for r in data["methods"].values()]
    assert best["seeds"]["final_test_loss_median"] == min(medians)
    t = np.asarray(pred["t"])
    err = _common.series(pred["predicted"]) - _common.series(pred["true"])
    test_part = t > pred["train_end"]
    assert test_part.sum() == mg.N_TEST
    # The plotted prediction is the model whose test loss was recorded (seed 0).
    recorded = best["monitors"]["test_loss"][-1]
    np.testing.assert_allclose(0.5 * np.mean(err[test_part] ** 2), recorded, rtol=1e-8)
    np.testing.assert_allclose(
        0.5 * np.mean(err[~test_part] ** 2), best["final_loss"], rtol=1e-8
    )
