"""Seed 003's PINN-with-minibatches figure (energy NGD vs natural momentum) in quick mode:
it runs, plots, and shows what it claims. The measured numbers are in the figure's JSON;
the claims below are only those that hold with a margin on the quick seeds.
"""

import json

import pytest


pytest.importorskip("matplotlib")  # the figures extra; the test extra lacks it

from paper_figures import _common, pinn_momentum  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return pinn_momentum.run(True)


def test_pinn_momentum_figure(data, tmp_path):
    json.dumps(data, allow_nan=False)  # JSON-serialisable as __main__ writes it
    png = tmp_path / "pinn_momentum.png"
    pinn_momentum.plot(data, png)
    assert png.stat().st_size > 10_000

    s = data["settings"]
    assert s["quick"] is True
    assert s["eps"] == 0.05 and s["m"] == 200 and s["beta"] == 0.5
    assert set(s["labels"]) == {"ngd", "lm", "fd", "lg", "nesterov"}
    m = {role: data["methods"][label] for role, label in s["labels"].items()}
    steps, seeds = s["steps"], s["seeds"]
    for result in m.values():
        assert result["wall_time"] > 0
        assert [r["seed"] for r in result["runs"]] == seeds
        for r in result["runs"]:
            assert len(r["error"]) == len(r["losses"]) == steps + 1
            assert len(r["final_values"]) == len(data["exact"]["x"])
            # `failed` is what the module says it is
            final = r["final_error"]
            assert r["failed"] == (
                final is None or not final <= pinn_momentum.FAIL_ERROR
            )
        assert result["summary"]["failures"] == sum(r["failed"] for r in result["runs"])

    # NGD, natural Nesterov and FD converge on every quick seed.
    for role in ("ngd", "nesterov", "fd"):
        assert m[role]["summary"]["failures"] == 0
        for r in m[role]["runs"]:
            assert r["result"] == "successful"
            assert r["final_error"] < 1e-3
    for role in ("ngd", "nesterov"):
        assert m[role]["summary"]["final_error_max"] < 1e-4

    # Nesterov leaves the initial plateau well before NGD on each quick seed, and is the
    # figure's best method.
    for nesterov, ngd in zip(m["nesterov"]["runs"], m["ngd"]["runs"], strict=True):
        assert nesterov["plateau_exit"] + 10 <= ngd["plateau_exit"]
    assert m["nesterov"]["summary"]["exits_before_ngd"] == len(seeds)
    assert s["best"] == s["labels"]["nesterov"]

    # Natural heavy-ball with the last momentum / last gradient can fail (on seed 1).
    assert m["lm"]["summary"]["failures"] + m["lg"]["summary"]["failures"] >= 1

    # Momentum does not make the converged solution more accurate than NGD (all at the
    # minibatch noise level): no converged run is 100x below NGD's best.
    ngd_best = m["ngd"]["summary"]["final_error_min"]
    for result in m.values():
        finals = [r["final_error"] for r in result["runs"] if not r["failed"]]
        assert all(f > ngd_best / 100 for f in finals)

    errors = _common.series(m["nesterov"]["runs"][0]["error"])
    assert errors[0] > 0.5  # starts on the plateau (relative error ~0.8)
