"""Seed 000 figures 1-3 (greedy natural gradient, OGA) in quick mode: each runs, plots,
and shows what it claims: NGD (E-NGD) ends far below GD and NGD-OGA; NGD-OGA leaves the
initial plateau first but stalls, as its k greedy tangent vectors capture less and less
of the functional gradient. The measured numbers are in each figure's JSON; the early
lead of OGA is what these keys show, not a law. The bounds below are loose.
"""

import json

import numpy as np
import pytest


pytest.importorskip("matplotlib")  # the figures extra; the test extra lacks it

from paper_figures import (  # noqa: E402
    _common,
    least_squares_mlp,
    least_squares_shallow,
    poisson_oga,
)


EARLY = 20  # the iteration at which OGA is compared with NGD during the descent


def _make(module, tmp_path):
    data = module.run(True)
    json.dumps(data, allow_nan=False)  # JSON-serialisable as __main__ writes it
    png = tmp_path / "x.png"
    module.plot(data, png)
    assert png.stat().st_size > 10_000
    s = data["settings"]
    assert s["quick"] is True
    methods = {role: data["methods"][label] for role, label in s["labels"].items()}
    for result in methods.values():
        assert result["result"] == "successful"
        assert result["num_steps"] == s["steps"]
        assert result["wall_time"] > 0 and result["ms_per_iter"] >= 0
    return s, methods


def _check_greedy(oga, k, steps):
    greedy = oga["greedy"]
    assert greedy["k"] == k
    assert greedy["rank"] == [k] * steps  # k vectors chosen at every step
    left = _common.series(greedy["residual_fraction"])
    assert np.all((left >= -1e-8) & (left <= 1 + 1e-8))
    # The residual left by the greedy steps never grows from one greedy step to the next.
    curve = _common.series(greedy["last_step"]["residual_fraction"])
    assert np.all(np.diff(curve) <= 1e-10)
    # k vectors capture most of ∇_u L at the start, little of it at the end.
    assert left[0] < 0.1
    assert left[-1] > 0.5


def _loss(result, i):
    return _common.series(result["losses"])[i]


@pytest.mark.parametrize("module", [least_squares_shallow, least_squares_mlp])
def test_least_squares_figures(module, tmp_path):
    s, m = _make(module, tmp_path)
    gd, ngd, oga = (m[role]["final_loss"] for role in ("gd", "ngd", "oga"))
    assert ngd < 1e-3 * gd  # NGD far below GD
    assert oga < 1e-2 * gd  # OGA far below GD too ...
    assert ngd < 1e-3 * oga  # ... but ends far above NGD
    assert _loss(m["oga"], EARLY) < 0.5 * _loss(m["ngd"], EARLY)  # OGA descends first
    _check_greedy(m["oga"], s["greedy_k"], s["steps"])


def test_poisson_oga_figure(tmp_path):
    s, m = _make(poisson_oga, tmp_path)
    ngd_err = _common.series(m["ngd"]["monitors"]["error"])
    oga_err = _common.series(m["oga"]["monitors"]["error"])
    assert ngd_err[-1] < 1e-5  # E-NGD solves the PDE
    assert oga_err[-1] < oga_err[0] / 20  # E-NGD-OGA's error decreases ...
    assert oga_err[-1] > 100 * ngd_err[-1]  # ... but stays far above E-NGD's
    assert _loss(m["oga"], EARLY) < 0.5 * _loss(m["ngd"], EARLY)
    assert s["clip"] == 1000.0 and s["boundary_weight"] == 100.0
    _check_greedy(m["oga"], s["greedy_k"], s["steps"])
