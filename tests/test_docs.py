"""The documentation site (`docs/`, `mkdocs.yml`): it builds strictly, every public name
has an API entry, and every page's snippets run.

Each page's ```` ```python ```` blocks run in order in one fresh namespace (a page is
self-contained: its first block imports what it uses); a block whose first line is
`# not run` is illustrative only (a multi-host recipe) and is skipped. Claims in a
snippet are `assert`s, so a page whose mathematics stops holding fails here.
"""

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap
import types

import pytest

import ngflow as ng


ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.S | re.M)
NOT_RUN = "# not run"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [textwrap.dedent(code) for _, code in BLOCK.findall(text)]


def test_all_is_the_public_namespace():
    public = {
        n
        for n in dir(ng)
        if not n.startswith("_") and not isinstance(getattr(ng, n), types.ModuleType)
    }
    assert set(ng.__all__) == public | {"problems"}
    assert len(ng.__all__) == len(set(ng.__all__))


def test_every_public_name_has_one_api_entry():
    text = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "api").glob("*.md"))
    entries = re.findall(r"^::: (ngflow[\w.]*)$", text, re.M)
    expected = {f"ngflow.{n}" for n in ng.__all__}
    expected |= {f"ngflow.problems.{n}" for n in ng.problems.__all__}
    assert sorted(set(entries)) == sorted(expected)
    assert len(entries) == len(set(entries)), "a name documented twice"


def test_the_site_builds_strictly(tmp_path):
    """Broken cross-references (`[`ngflow.X`][]` to an undocumented name), links to
    missing pages or anchors, and pages left out of the nav all fail the build."""
    site = tmp_path / "site"
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-5000:]
    for page in PAGES:
        if page.startswith("_") or "/_" in page:
            continue
        stem = page.removesuffix(".md").removesuffix("index").rstrip("/")
        assert (site / stem / "index.html").exists(), page  # stem "": the home page
    api = (site / "api" / "gram" / "index.html").read_text(encoding="utf-8")
    assert 'id="ngflow.Sketch"' in api  # mkdocstrings rendered the docstrings
    for png in (ROOT / "paper_figures" / "gallery").glob("*.png"):
        assert (site / "gallery" / png.name).exists()


def test_getting_started_is_the_readmes_script():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert python_blocks("getting-started.md")[0] == first


def test_examples_page_shows_current_runs_of_every_script():
    spec = importlib.util.spec_from_file_location("_generate", DOCS / "_generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    for name in generate.names():
        path = generate.RECORDS / f"{name}.json"
        assert path.exists(), (
            f"no run of examples/{name}.py: python {spec.origin} examples {name}"
        )
        record = json.loads(path.read_text(encoding="utf-8"))
        script = generate.EXAMPLES / f"{name}.py"
        assert record["script_sha256"] == generate.digest(script), (
            f"examples/{name}.py changed since its recorded run: "
            f"python docs/_generate.py examples {name}"
        )
        assert record["returncode"] == 0, record.get("stderr_tail")
    assert generate.PAGE.read_text(encoding="utf-8") == generate.page_text()


# Getting started is the README's script (run by test_readme); the Examples page shows
# the example scripts (run by their own tests), included from examples/.
RUN = [
    p
    for p in PAGES
    if python_blocks(p) and p not in ("getting-started.md", "examples.md")
]


@pytest.mark.parametrize("page", RUN)
def test_page_snippets_run(page):
    ns: dict = {"__name__": f"docs_{page}"}
    ran = 0
    for i, code in enumerate(python_blocks(page)):
        if code.lstrip().startswith(NOT_RUN):
            continue
        exec(compile(code, f"<docs/{page} block {i}>", "exec"), ns)  # noqa: S102
        ran += 1
    assert ran, f"docs/{page}: every block is marked {NOT_RUN!r}"
