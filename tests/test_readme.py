"""The README: its set-up commands, its script, its links, and the gallery (every figure
on the docs' gallery page, a few in the README)."""

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


def test_the_script_runs_and_prints_what_its_comments_say(capsys):
    scripts = [textwrap.dedent(body) for lang, body in BLOCKS if lang == "python"]
    assert len(scripts) == 1  # the rest of the snippets live on the docs' pages
    assert len(scripts[0].strip().splitlines()) <= 16  # a short script
    ns: dict = {"__name__": "readme"}
    exec(compile(scripts[0], "<README python block>", "exec"), ns)  # noqa: S102
    out = capsys.readouterr().out.splitlines()
    gd, ngd = map(float, out[0].split()[:2])  # GD's and the default NGD's final loss
    assert 1e-2 < gd < 1e-1 and ngd < 1e-12
    error, damping = map(float, out[1].split()[:2])
    assert error < 1e-5 and damping >= 0.0
    assert float(out[2]) < 1e-4  # a catalogue PINN (convection-diffusion), its error


def test_the_readmes_links_lead_to_files():
    links = re.findall(r"\]\(([^)#]+)\)", README)
    local = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in local)
    for link in local:
        assert (ROOT / link).exists(), link


def test_the_gallery_shows_every_figure_and_nothing_else():
    gallery = sorted(p.stem for p in _gallery.GALLERY.glob("*.png"))
    assert gallery == sorted(FIGURES)
    page = _gallery.PAGE.read_text(encoding="utf-8")
    embedded = re.findall(r"!\[(\w+)\]\(gallery/(\w+)\.png\)", page)
    assert (
        [name for name, _ in embedded]
        == [name for _, name in embedded]
        == list(FIGURES)
    )
    for name in FIGURES:  # each image has its heading
        assert f"### `{name}`" in page
        with Image.open(_gallery.GALLERY / f"{name}.png") as image:
            assert image.width <= _gallery.WIDTH
    shown = re.findall(r"!\[(\w+)\]\(paper_figures/gallery/(\w+)\.png\)", README)
    assert 1 <= len(shown) <= 6  # the README shows a few
    for name, file in shown:
        assert name == file and name in FIGURES and f"**`{name}`**" in README


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
