"""The Fisher-metric figures (`paper_figures/xor_fisher.py`, `density_kl.py`,
`reparametrisation.py`) in quick mode: each runs, is JSON-serialisable, plots, and its
data show what the figure claims (with margins; the measured numbers are in each
figure's JSON).
"""

import json

import numpy as np
import pytest


pytest.importorskip("matplotlib")  # the figures extra; the test extra lacks it

from paper_figures import (  # noqa: E402
    _common,
    density_kl as dk,
    reparametrisation as rp,
    xor_fisher as xf,
)


def _quick(module, tmp_path_factory):
    data = module.run(True)
    json.dumps(data, allow_nan=False)  # as `python -m paper_figures` writes it
    png = tmp_path_factory.mktemp(module.NAME) / f"{module.NAME}.png"
    module.plot(data, png)
    assert png.stat().st_size > 10_000
    assert data["settings"]["quick"] is True
    for label in data["settings"]["labels"].values():
        record = data["methods"][label]
        assert record["wall_time"] > 0 and np.isfinite(record["final_loss"])
    return data


@pytest.mark.parametrize("module", [rp, xf, dk])
def test_figure_protocol(module):
    assert module.NAME == module.__name__.rsplit(".", 1)[1]
    assert module.SEED in ("001", "003") and module.SECTION and module.TITLE


# -- reparametrisation (seed 001) ------------------------------------------------------


@pytest.fixture(scope="module")
def reparam(tmp_path_factory):
    return _quick(rp, tmp_path_factory)


def _role(data, role):
    return data["methods"][data["settings"]["labels"][role]]


def test_ngd_paths_coincide_under_reparametrisation_gd_paths_do_not(reparam):
    inv = reparam["invariance"]
    assert inv["ngd_max_theta_distance"] < 1e-8
    assert inv["ngd_max_probability_distance"] < 1e-8
    assert inv["gd_max_theta_distance"] > 1.0  # O(1)
    assert inv["gd_max_probability_distance"] > 0.1
    assert inv["starts_ngd_max"] < 1e-8 and inv["starts_gd_min"] > 1e-2
    assert inv["flow_max_theta_distance"] < 1e-6  # the ODE tolerance, not exact
    # Relative damping is not a tensor under A: it breaks the invariance.
    assert inv["damped_max_theta_distance"] > 1e-4
    # The recorded distances are those of the recorded paths.
    a = np.asarray(reparam["settings"]["A"])
    for role in ("gd", "ngd"):
        theta = np.asarray(_role(reparam, f"{role}_theta")["params"])
        x = np.asarray(_role(reparam, f"{role}_x")["params"])
        np.testing.assert_allclose(
            np.abs(x @ a.T - theta).max(1),
            _role(reparam, f"{role}_theta")["distance_between_coordinates"],
            atol=1e-15,
        )


def test_gd_in_x_is_gd_in_theta_preconditioned_by_a_at(reparam):
    # Seed 001: x⁺ = x − s∇_x L(Ax) maps to θ⁺ = θ − s AAᵀ∇_θL(θ); from the same start
    # the first steps differ exactly by AAᵀ.
    a = np.asarray(reparam["settings"]["A"])
    theta = np.asarray(_role(reparam, "gd_theta")["theta_path"])
    mapped = np.asarray(_role(reparam, "gd_x")["theta_path"])
    np.testing.assert_allclose(theta[0], mapped[0], atol=1e-14)
    np.testing.assert_allclose(
        mapped[1] - mapped[0], a @ a.T @ (theta[1] - theta[0]), rtol=1e-10
    )


def test_reparametrisation_losses(reparam):
    star = reparam["optimum"]["loss"]
    ngd_t, ngd_x = _role(reparam, "ngd_theta"), _role(reparam, "ngd_x")
    assert ngd_t["final_loss"] - star < 1e-12 and ngd_x["final_loss"] - star < 1e-12
    gd_t, gd_x = (
        _role(reparam, "gd_theta")["final_loss"],
        _role(reparam, "gd_x")["final_loss"],
    )
    assert gd_x > gd_t > star + 1e-3  # both GD runs far from θ*, differently
    flow = _role(reparam, "ngf_theta")
    assert flow["result"] == "successful" and flow["final_loss"] - star < 1e-8


# -- XOR ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xor(tmp_path_factory):
    return _quick(xf, tmp_path_factory)


def test_xor_loss_is_the_noisy_expected_cross_entropy():
    inputs, xor_, points, outcomes, weights = xf.data()
    assert np.isclose(weights.sum(), 1.0) and points.shape == (8, 2)
    assert np.isclose(xf.loss_star(), 0.325083, atol=1e-6)  # H(0.1)


def test_fisher_ngd_solves_xor_faster_than_gd(xor):
    m = {role: _role(xor, role) for role in xf.ROLES}
    n = len(xor["settings"]["seeds"])
    assert m["ngd"]["num_solved"] >= n - 2
    assert m["gd"]["num_solved"] >= n - 2
    assert (
        m["ngd"]["iterations_to_solved_median"] * 3
        < m["gd"]["iterations_to_solved_median"]
    )
    for role, record in m.items():
        for run in record["runs"]:
            solved = run["outcome"] == "solved"
            assert solved == (run["iterations_to_solved"] is not None), role
            if solved:  # p(y = XOR) = 0.9 at every input
                target = np.where(xor["settings"]["xor"], 0.9, 0.1)
                np.testing.assert_allclose(run["p_final"], target, atol=1e-3)
            elif run["outcome"] != "diverged":
                assert run["outcome"] == "saddle" or run["outcome"].startswith("local")


def test_xor_decision_field_is_the_best_method(xor):
    best = xor["fields"]["best"]
    record = xor["methods"][best["label"]]

    def median_iterations(rec):  # an unsolved seed counts as infinitely many
        its = [r["iterations_to_solved"] for r in rec["runs"]]
        return np.median([np.inf if i is None else i for i in its])

    fastest = min(median_iterations(r) for r in xor["methods"].values())
    assert median_iterations(record) == fastest < np.inf
    p = np.asarray(best["p"], dtype=float)
    # The field at the 4 inputs (grid points (0, 0), (0, 1), (1, 0), (1, 1)).
    g = np.asarray(best["x"])
    idx = [int(np.argmin(np.abs(g - c))) for c in (0.0, 1.0)]
    at = np.array([p[idx[j], idx[i]] for i, j in ((0, 0), (0, 1), (1, 0), (1, 1))])
    run = next(r for r in record["runs"] if r["seed"] == best["seed"])
    np.testing.assert_allclose(at, run["p_final"], atol=1e-12)


# -- density KL -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def density(tmp_path_factory):
    return _quick(dk, tmp_path_factory)


def test_fisher_ngd_fits_the_density_best(density):
    s = density["settings"]
    for direction in s["directions"]:
        med = {
            role: _role(density, f"{role}_{direction}")["final_loss_median"]
            for role in ("gd", "fisher", "l2")
        }
        assert med["fisher"] < 0.1 * med["gd"], direction
        assert med["fisher"] < 0.5 * med["l2"], direction
        fisher = _role(density, f"fisher_{direction}")["final_losses"]
        gd = _role(density, f"gd_{direction}")["final_losses"]
        assert all(f < g for f, g in zip(fisher, gd, strict=True)), direction


def test_fitted_densities_are_the_recorded_fits(density):
    s, d = density["settings"], density["densities"]
    x = np.asarray(d["x"])
    w = np.full(x.size, x[1] - x[0])
    t = np.asarray(d["target"]) * w
    t = t / t.sum()
    for direction in s["directions"]:
        for role in ("gd", "fisher", "l2"):
            label = s["labels"][f"{role}_{direction}"]
            q = np.asarray(d["fitted_seed0"][label]) * w
            assert np.isclose(q.sum(), 1.0)
            kl = (
                np.sum(t * np.log(t / q))
                if direction == "forward"
                else np.sum(q * np.log(q / t))
            )
            np.testing.assert_allclose(
                kl, density["methods"][label]["final_loss"], rtol=1e-8
            )
            assert (
                _common.series(density["methods"][label]["losses"]).size
                == s["steps"] + 1
            )
