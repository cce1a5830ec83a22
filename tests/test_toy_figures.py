"""Seed 003's toy figures (`toy_linear`, `toy_nonisotropic`, `toy_nonlinear`) in quick
mode: each runs, plots, and its data show the mathematics the slides claim.

The claims are checked on the recorded trajectories against closed forms computed here:
in function space (c, the coefficients of v in the orthonormal basis Φ) a linear model
under GD moves by c ← c − sA(c − c*) with A = BᵀBK, under NGD with the L² metric A = K,
under NGD with the loss Hessian A = I (the straight line to u); the flows follow
c(t) = c* + e^{−tA}(c₀ − c*). Natural gradient flows do not depend on the
parametrisation, so the quadratic model's NG flows follow the same curves.
"""

import json

import numpy as np
import pytest
import scipy.linalg


pytest.importorskip("matplotlib")  # the figures extra; the test extra lacks it

from paper_figures import (  # noqa: E402
    _common,
    toy_linear,
    toy_nonisotropic,
    toy_nonlinear,
)


@pytest.fixture(scope="module")
def make(tmp_path_factory):
    """Runs a figure (quick) once per test module, plots it, checks the protocol."""
    cache = {}

    def _make(module):
        if module.NAME not in cache:
            data = module.run(True)
            json.dumps(data, allow_nan=False)  # JSON-serialisable as __main__ writes it
            png = tmp_path_factory.mktemp(module.NAME) / "x.png"
            module.plot(data, png)
            assert png.stat().st_size > 10_000
            s = data["settings"]
            assert s["quick"] is True
            assert set(data["methods"]) == set(s["labels"].values())
            for result in data["methods"].values():
                assert result["result"] == "successful"
                assert result["wall_time"] >= 0 and np.isfinite(result["final_loss"])
            cache[module.NAME] = data
        return cache[module.NAME]

    return _make


def _m(data, role):
    return data["methods"][data["settings"]["labels"][role]]


def _arr(record, key):
    return np.asarray(record[key], dtype=float)


def _off_line(points, start, end):
    """Largest distance of `points` from the line start → end and the range of their
    positions along it, both relative to |end − start|."""
    d = np.asarray(end, float) - np.asarray(start, float)
    rel = (np.asarray(points, float) - start) / np.linalg.norm(d)
    along = rel @ d / np.linalg.norm(d)
    across = rel @ np.array([-d[1], d[0]]) / np.linalg.norm(d)
    return np.max(np.abs(across)), along.min(), along.max()


def _flow_path(A, c0, cs, ts):
    return np.stack([cs + scipy.linalg.expm(-t * A) @ (c0 - cs) for t in ts])


def _euler_residual(c, A, cs, s):
    """max |c_{k+1} − (c_k − sA(c_k − c*))|: zero iff the iterates are Euler steps of
    dc/dt = −A(c − c*)."""
    return np.max(np.abs(c[1:] - (c[:-1] - s * (c[:-1] - cs) @ np.asarray(A).T)))


def _ends(s):
    return np.asarray(s["c_start"], float), np.asarray(s["c_target"], float)


def test_toy_linear(make):
    data = make(toy_linear)
    s = data["settings"]
    c0, cs = _ends(s)
    step = s["step"]
    # B = I: G = I, gradient descent is natural gradient descent.
    for a, b in (("gd_identity", "ngd_identity"), ("gf_identity", "ngf_identity")):
        assert (
            np.max(np.abs(_arr(_m(data, a), "theta") - _arr(_m(data, b), "theta")))
            < 1e-9
        )
    # B mixing: in function space NGD moves by c ← c − s(c − c*), along the segment
    # c0 → u; GD by c ← c − sBᵀB(c − c*), off it.
    B = np.asarray(s["B_cases"]["mixed"])
    c_gd, c_ngd = _arr(_m(data, "gd"), "c"), _arr(_m(data, "ngd"), "c")
    assert _euler_residual(c_ngd, np.eye(2), cs, step) < 1e-12
    assert _euler_residual(c_gd, B.T @ B, cs, step) < 1e-12
    dist, lo, hi = _off_line(c_ngd, c0, cs)
    assert dist < 1e-10 and lo > -1e-12 and hi < 1 + 1e-12
    assert np.all(np.diff(np.linalg.norm(c_ngd - cs, axis=1)) <= 1e-15)  # monotone
    assert _off_line(c_gd, c0, cs)[0] > 0.1  # GD is biased in function space
    # The flows: the NG flow is the straight line, the gradient flow bends.
    ngf, gf = _m(data, "ngf"), _m(data, "gf")
    ts = _arr(ngf, "ts")
    assert ts[-1] == pytest.approx(s["steps"] * step)
    assert _off_line(_arr(ngf, "c"), c0, cs)[0] < 1e-8
    assert _off_line(_arr(gf, "c"), c0, cs)[0] > 0.1
    assert np.max(np.abs(_arr(ngf, "c") - _flow_path(np.eye(2), c0, cs, ts))) < 1e-6
    assert np.max(np.abs(_arr(gf, "c") - _flow_path(B.T @ B, c0, cs, ts))) < 1e-6
    # NGD with step 1 reaches u in one step.
    unit = _m(data, "ngd_unit")
    assert unit["losses"][0] > 1.0 and unit["losses"][1] < 1e-20
    assert np.max(np.abs(_arr(unit, "c")[1] - cs)) < 1e-10
    assert _m(data, "ngd")["final_loss"] < 1e-6 * _m(data, "gd")["final_loss"]
    assert _m(data, "ngf")["final_loss"] < 1e-6 * _m(data, "gf")["final_loss"]


def test_toy_nonisotropic(make):
    data = make(toy_nonisotropic)
    s = data["settings"]
    c0, cs = _ends(s)
    step, B, K = s["step"], np.asarray(s["B"]), np.asarray(s["K"])
    c = {role: _arr(_m(data, role), "c") for role in ("gd", "ngd", "ngd_k")}
    assert _euler_residual(c["gd"], B.T @ B @ K, cs, step) < 1e-12
    assert _euler_residual(c["ngd"], K, cs, step) < 1e-12
    assert _euler_residual(c["ngd_k"], np.eye(2), cs, step) < 1e-12
    # Only the loss Hessian in the metric goes straight to u; the L² metric is biased.
    assert _off_line(c["ngd_k"], c0, cs)[0] < 1e-10
    assert _off_line(c["ngd"], c0, cs)[0] > 0.1
    assert _off_line(c["gd"], c0, cs)[0] > 0.1
    ts = _arr(_m(data, "gf"), "ts")
    for role, A in (("gf", B.T @ B @ K), ("ngf", K), ("ngf_k", np.eye(2))):
        path = _arr(_m(data, role), "c")
        assert np.max(np.abs(path - _flow_path(A, c0, cs, ts))) < 1e-6, role
    assert _off_line(_arr(_m(data, "ngf_k"), "c"), c0, cs)[0] < 1e-6
    assert _off_line(_arr(_m(data, "ngf"), "c"), c0, cs)[0] > 0.1
    # For a linear model the loss-Hessian metric is Newton: one unit step solves it,
    # and the iterates coincide with Newton's for any step.
    unit = _m(data, "ngd_k_unit")
    assert unit["losses"][1] < 1e-20 < 1.0 < unit["losses"][0]
    for a, b in (("newton", "ngd_k"), ("newton_unit", "ngd_k_unit")):
        assert (
            np.max(np.abs(_arr(_m(data, a), "theta") - _arr(_m(data, b), "theta")))
            < 1e-10
        )
    gd = _m(data, "gd")["final_loss"]
    assert max(_m(data, r)["final_loss"] for r in ("ngd", "ngd_k")) < 1e-2 * gd


def test_toy_nonlinear(make):
    data = make(toy_nonlinear)
    s = data["settings"]
    c0, cs = _ends(s)
    K, B = np.asarray(s["K"]), np.asarray(s["B"])
    g = data["geometry"]
    theta0, theta_star = np.asarray(g["theta_start"]), np.asarray(g["theta_target"])
    ts = _arr(_m(data, "gf"), "ts")
    # The NG flows in function space are those of the linear model: the straight line
    # (loss Hessian) and e^{−tK} (L²), whatever the parametrisation ...
    ngf_k, ngf = _arr(_m(data, "ngf_k"), "c"), _arr(_m(data, "ngf"), "c")
    assert _off_line(ngf_k, c0, cs)[0] < 1e-5
    assert np.max(np.abs(ngf - _flow_path(K, c0, cs, ts))) < 1e-5
    # ... while in θ they are curved, and GD's function-space path has changed.
    assert _off_line(_arr(_m(data, "ngf_k"), "theta"), theta0, theta_star)[0] > 0.05
    gf = _arr(_m(data, "gf"), "c")
    assert np.max(np.abs(gf - _flow_path(B.T @ B @ K, c0, cs, ts))) > 0.1
    # Discrete steps leave the line by O(s²) each: close to it, but not on it.
    assert 1e-4 < _off_line(_arr(_m(data, "ngd_k"), "c"), c0, cs)[0] < 0.05
    assert _off_line(_arr(_m(data, "gd"), "c"), c0, cs)[0] > 0.1
    # Step 1 (Gauss–Newton) no longer solves it in one step, but converges quadratically.
    loss = _common.series(_m(data, "ngd_k_unit")["losses"])
    assert loss[1] > 0.1 * loss[0]
    assert loss[3] <= loss[2] ** 2 and loss[4] <= loss[3] ** 2 and loss[5] < 1e-15
    # Everyone converges to the same θ* (one sheet of θ -> c), natural gradients first.
    for role in ("ngd", "ngd_k", "ngd_k_unit", "ngf", "ngf_k"):
        assert np.linalg.norm(_arr(_m(data, role), "theta")[-1] - theta_star) < 1e-2, (
            role
        )
    assert np.linalg.norm(_arr(_m(data, "gd"), "theta")[-1] - theta_star) < 0.1
    gd = _m(data, "gd")["final_loss"]
    assert max(_m(data, r)["final_loss"] for r in ("ngd", "ngd_k")) < 1e-2 * gd
    assert data["checks"]["det_J_range"][0] > 0.1
