"""Seed 003's momentum toy figures (`toy_local_minimum`, `toy_non_l2`) in quick mode: each
runs, plots, and shows what it claims (the measured numbers are in each figure's JSON).

- toy_local_minimum: GD, NGD and LG stop at the local minimum; natural heavy-ball LM and
  FD and natural Nesterov reach the global minimum.
- toy_non_l2: the final losses are ordered GD > NGD-L² > LG > LM ≈ FD > NGD-Gauss–Newton;
  NGD-L² first moves away from u.

Each quick run is one module-scoped fixture (XLA compiles each method's loop once).
"""

import json

import numpy as np
import pytest


pytest.importorskip("matplotlib")  # the figures extra; the test extra lacks it

from paper_figures import _common, toy_local_minimum, toy_non_l2  # noqa: E402


def _check_protocol(module, data, tmp_path):
    json.dumps(data, allow_nan=False)  # JSON-serialisable as __main__ writes it
    png = tmp_path / f"{module.NAME}.png"
    module.plot(data, png)
    assert png.stat().st_size > 10_000
    s = data["settings"]
    assert s["quick"] is True
    assert module.SEED == "003"
    methods = {role: data["methods"][label] for role, label in s["labels"].items()}
    for result in methods.values():
        assert result["result"] == "successful"
        assert result["num_steps"] == s["steps"]
        assert result["wall_time"] > 0
        assert result["final_loss"] is not None
    return s, methods


@pytest.fixture(scope="module")
def local_minimum():
    return toy_local_minimum.run(True)


@pytest.fixture(scope="module")
def non_l2():
    return toy_non_l2.run(True)


def test_local_minimum_figure(local_minimum, tmp_path):
    s, m = _check_protocol(toy_local_minimum, local_minimum, tmp_path)
    facts = s["stationary_points"]
    gap = facts["loss_local"] - facts["loss_global"]
    assert gap > 0.5  # a real local minimum, well above the global one
    assert facts["loss_barrier"] > facts["loss_local"] + 0.5
    assert facts["theta_local"] < facts["theta_barrier"] < 0 < facts["theta_global"]
    assert s["theta0"] < facts["theta_local"]  # started in the local basin
    # The first iterate is the start, in the local basin.
    for result in m.values():
        assert result["theta"][0][0] == s["theta0"]

    def final_theta(role):
        return m[role]["final_theta"]

    # GD, NGD (and LG) stop at the local minimum.
    for role in ("gd", "ngd", "lg"):
        assert abs(final_theta(role) - facts["theta_local"]) < 1e-3, role
        assert m[role]["final_loss"] > facts["loss_global"] + 0.5 * gap, role
        assert m[role]["outcome"] == "local"
        # ... and never left its basin.
        theta = _common.series([t[0] for t in m[role]["theta"]])
        assert np.all(theta < facts["theta_barrier"]), role
    # Natural heavy-ball LM, FD and natural Nesterov cross the barrier and end at the
    # global minimum.
    for role in ("lm", "fd", "nesterov"):
        assert abs(final_theta(role) - facts["theta_global"]) < 0.02, role
        assert m[role]["final_loss"] < facts["loss_global"] + 1e-3 * gap, role
        assert m[role]["outcome"] == "global"
    # Function-space coordinates lie on the parabola c = (θ, θ²).
    c = np.asarray(m["lm"]["c"], dtype=float)
    theta = _common.series([t[0] for t in m["lm"]["theta"]])
    np.testing.assert_allclose(c[:, 0], theta, atol=1e-12)
    np.testing.assert_allclose(c[:, 1], theta**2, atol=1e-10)
    # Robustness grid: LM escapes at every (β, α) tried, GD/NGD/LG nowhere.
    table = local_minimum["robustness"]["table"]
    label = s["labels"]
    assert {o for row in table[label["lm"]]["outcome"] for o in row} == {"global"}
    for role in ("gd", "ngd", "lg"):
        assert {o for row in table[label[role]]["outcome"] for o in row} == {"local"}


def test_non_l2_figure(non_l2, tmp_path):
    s, m = _check_protocol(toy_non_l2, non_l2, tmp_path)
    # q is the fixed point R(u − v₀) + v₀ with R the rotation by 90°.
    u, v0, q = (np.asarray(s[k], dtype=float) for k in ("u", "v0", "q"))
    np.testing.assert_allclose(q - v0, [-(u - v0)[1], (u - v0)[0]], atol=1e-14)
    loss = {role: m[role]["final_loss"] for role in m}
    dist = {role: m[role]["final_distance_to_u"] for role in m}
    # Ordering of the final losses, each by at least a factor 10:
    # GN < LM ≈ FD < LG < NGD-L² < GD.
    assert loss["ngd_gn"] < 1e-20
    assert loss["lm"] < 1e-8 and loss["fd"] < 1e-8
    assert 0.5 < loss["lm"] / loss["fd"] < 2  # LM and FD nearly coincide
    assert max(loss["lm"], loss["fd"]) < loss["lg"] / 100
    assert loss["lg"] < loss["ngd_l2"] / 10
    assert loss["ngd_l2"] < loss["gd"] / 10
    assert loss["gd"] < 0.1  # ... but all converge
    # The same order for the distance to u.
    assert dist["ngd_gn"] < 1e-10
    assert max(dist["lm"], dist["fd"]) < dist["lg"] / 10 < dist["ngd_l2"] / 10
    assert dist["ngd_l2"] < dist["gd"]
    # NGD with the L² metric is biased: it first moves away from u (c₁ < 0, u has
    # c₁ = 1); Gauss–Newton does not.
    c_l2 = np.asarray(m["ngd_l2"]["c"], dtype=float)
    c_gn = np.asarray(m["ngd_gn"]["c"], dtype=float)
    assert c_l2[:, 1].min() < -0.1
    assert c_gn[:, 1].min() > -1e-3
    # p = m = 2 and the tangent map stays invertible: the tangent space is the plane.
    for role in ("ngd_l2", "ngd_gn", "lm", "fd", "lg"):
        assert set(m[role]["stats"]["rank"]) == {2}, role
    # All L² methods take the same first step.
    for role in ("lm", "fd", "lg"):
        np.testing.assert_allclose(m[role]["c"][1], m["ngd_l2"]["c"][1], atol=1e-12)
    # β sweep: at β = 0.7 LM/FD gain more, LG (step α(1 + β)) is worse than NGD-L².
    sweep = non_l2["beta_sweep"]
    i = sweep["betas"].index(0.7)
    final = sweep["final_loss"]
    assert final[s["labels"]["lm"]][i] < 1e-12
    assert final[s["labels"]["lg"]][i] > loss["ngd_l2"]
