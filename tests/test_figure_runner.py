"""`python -m paper_figures`: --list, subsets, a failing figure reported while the others
still run, the exit code, and the refusal of --gallery with --quick."""

import json
import types

import pytest

import paper_figures.__main__ as runner


def _module(name, fail=False):
    def run(quick):
        if fail:
            raise RuntimeError(f"{name} broke on purpose")
        return {"settings": {"quick": quick}, "methods": {"m": {"final_loss": 0.5}}}

    def plot(data, path):
        path.write_bytes(b"png")

    return types.SimpleNamespace(
        NAME=name,
        SEED="000",
        SECTION="§0",
        TITLE=f"title of {name}",
        run=run,
        plot=plot,
    )


@pytest.fixture
def fake(monkeypatch):
    modules = {"good": _module("good"), "bad": _module("bad", fail=True)}
    monkeypatch.setattr(runner, "FIGURES", list(modules))
    monkeypatch.setattr(runner, "load", modules.__getitem__)
    return modules


def test_a_failing_figure_is_reported_and_the_others_still_run(fake, tmp_path, capsys):
    code = runner.main(["bad", "good", "--quick", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "bad: FAILED" in err and "RuntimeError: bad broke on purpose" in err
    assert "1 of 2 figure(s) failed: bad" in err
    assert "1 of 2 figure(s) written" in out
    data = json.loads((tmp_path / "good.json").read_text(encoding="utf-8"))
    assert data["figure"]["quick"] and data["settings"] == {"quick": True}
    assert (tmp_path / "good.png").exists() and not (tmp_path / "bad.json").exists()
    assert runner.main(["good", "--quick", "--out", str(tmp_path)]) == 0


def test_list_and_argument_errors(fake, capsys):
    assert runner.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "good" in out and "title of bad" in out and "§0" in out
    for argv in (["nonexistent"], ["--gallery", "--quick"]):
        with pytest.raises(SystemExit) as exit_:
            runner.main(argv)
        assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown figure(s) nonexistent; valid names: good, bad" in err
    assert "--gallery takes full runs only" in err


def test_gallery_page_is_generated_from_the_committed_numbers():
    from paper_figures import _gallery, FIGURES

    text = _gallery.PAGE.read_text(encoding="utf-8")
    block = text[
        text.index(_gallery.BEGIN) : text.index(_gallery.END) + len(_gallery.END)
    ]
    assert block == _gallery.block(FIGURES)
