"""mkdocs hooks: files of the repository that the site shows but that live outside docs/.

- `paper_figures/gallery/NAME.png` and `NAME.json` (made by `python -m paper_figures
  --gallery`) become `gallery/NAME.png` and `.json`: the gallery page shows the images
  the README shows, with their data.
"""

import pathlib

from mkdocs.structure.files import File


ROOT = pathlib.Path(__file__).resolve().parent.parent
GALLERY = ROOT / "paper_figures" / "gallery"


def on_files(files, config):
    for path in sorted([*GALLERY.glob("*.png"), *GALLERY.glob("*.json")]):
        files.append(
            File.generated(config, f"gallery/{path.name}", abs_src_path=str(path))
        )
    return files
