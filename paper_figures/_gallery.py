"""The README gallery: committed, downscaled copies of full-run figures.

`paper_figures/out` is not committed (a run rewrites it); `python -m paper_figures
--gallery` copies each figure it made into `paper_figures/gallery/NAME.png`, at most
`WIDTH` pixels wide with a 256-colour palette (about 0.1 MB each), so the README shows
the figures of the last full run. Quick runs are refused: the gallery shows the
figures as the papers' settings produce them.
"""

import json
import pathlib

from PIL import Image


GALLERY = pathlib.Path(__file__).resolve().parent / "gallery"
WIDTH = 1200


def update(
    name: str, out: pathlib.Path, gallery: pathlib.Path = GALLERY
) -> pathlib.Path:
    """Copies `out/NAME.png` into the gallery, after checking `out/NAME.json` is a full run."""
    meta = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))["figure"]
    if meta["quick"]:
        raise ValueError(f"{name}: a --quick run; the gallery takes full runs only.")
    image = Image.open(out / f"{name}.png").convert("RGB")
    scale = min(1.0, WIDTH / image.width)
    size = (round(image.width * scale), round(image.height * scale))
    image = image.resize(size, Image.Resampling.LANCZOS)
    image = image.quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    gallery.mkdir(parents=True, exist_ok=True)
    path = gallery / f"{name}.png"
    image.save(path, "PNG", optimize=True)
    return path
