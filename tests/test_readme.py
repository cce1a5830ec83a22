"""The README: its set-up commands, its first script, and its gallery of every figure."""

import json
import pathlib
import re
import textwrap

import numpy as np
import pytest
from PIL import Image

from paper_figures import _gallery, FIGURES


ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, re.S)


def test_readme_starts_with_the_two_setup_commands():
    assert README.index("```") < README.index("\n## ")  # before any section
    lang, body = BLOCKS[0]
    lines = [line for line in body.splitlines() if line.strip()]
    assert lang == "bash" and len(lines) == 2
    assert "paper_figures" in lines[0] and "pytest" in lines[1]
    assert all(line.startswith("python3 -m pip install -e ") for line in lines)


def test_the_scripts_run_in_order_and_print_what_their_comments_say(capsys):
    scripts = [textwrap.dedent(body) for lang, body in BLOCKS if lang == "python"]
    assert len(scripts[0].strip().splitlines()) <= 16  # the first: a short script
    ns: dict = {"__name__": "readme"}
    for i, code in enumerate(scripts):  # each continues the ones before it
        exec(compile(code, f"<README python block {i}>", "exec"), ns)  # noqa: S102
    out = capsys.readouterr().out.splitlines()
    gd, ngd = map(float, out[0].split()[:2])  # GD's and the default NGD's final loss
    assert 1e-2 < gd < 1e-1 and ngd < 1e-12
    error, damping = map(float, out[1].split()[:2])
    assert error < 1e-5 and damping >= 0.0
    assert float(out[2]) < 1e-4  # a catalogue PINN (convection-diffusion), its error
    assert float(out[3]) == 0.0  # the hand-written PINN is the catalogue's
    assert float(out[4]) < 1e-7  # the PINN's error after 100 steps
    hb, nes, t_final = map(
        float, out[5].split()[:3]
    )  # momentum and a flow, 1st problem
    assert max(hb, nes) < 1e-6 and t_final <= 20.0
    first, last = map(float, out[6].split()[:2])  # the Fisher classifier
    assert last < 1e-2 * first


def test_the_gallery_shows_every_figure_and_nothing_else():
    gallery = sorted(p.stem for p in _gallery.GALLERY.glob("*.png"))
    assert gallery == sorted(FIGURES)
    embedded = re.findall(r"!\[(\w+)\]\(paper_figures/gallery/(\w+)\.png\)", README)
    assert (
        [name for name, _ in embedded]
        == [name for _, name in embedded]
        == list(FIGURES)
    )
    for name in FIGURES:  # each image has its one line, which names it
        assert f"**`{name}`**" in README
        with Image.open(_gallery.GALLERY / f"{name}.png") as image:
            assert image.width <= _gallery.WIDTH


def test_the_gallery_takes_full_runs_only_and_downscales(tmp_path):
    rgb = np.zeros((300, 2400, 3), np.uint8)
    rgb[:, :1200] = (255, 0, 0)
    Image.fromarray(rgb).save(tmp_path / "fig.png")
    for quick in (True, False):
        meta = {
            "figure": {
                "quick": quick,
                "name": "fig",
                "seed": "000",
                "section": "§1",
                "title": "a test",
            },
            "methods": {"NGD": {"final_loss": 1e-9}},
        }
        (tmp_path / "fig.json").write_text(json.dumps(meta), encoding="utf-8")
        if quick:
            with pytest.raises(ValueError, match="full runs only"):
                _gallery.update("fig", tmp_path, tmp_path / "gallery")
        else:
            path = _gallery.update("fig", tmp_path, tmp_path / "gallery")
    record = json.loads((tmp_path / "gallery" / "fig.json").read_text(encoding="utf-8"))
    assert record["final_loss"] == {"NGD": 1e-9} and record["seed"] == "000"
    with Image.open(path) as image:
        assert image.size == (_gallery.WIDTH, 150)
        pixels = np.asarray(image.convert("RGB"))
    assert (pixels[:, :590] == (255, 0, 0)).all() and (pixels[:, 610:] == 0).all()
