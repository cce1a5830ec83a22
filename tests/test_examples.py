"""Concept examples (`examples/*.py --quick`) run and hold their claims.

Each script exits non-zero (SystemExit) if its claim fails; the examples with their own
test elsewhere: poisson2d/5d, heat, convection_diffusion (test_pde_problems),
momentum, flow, fisher, gram_solves.
"""

import pathlib
import runpy
import sys

import pytest


EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("name", ["least_squares", "metrics", "oga"])
def test_example_runs_and_holds_its_claim(name, monkeypatch):
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--quick"])
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")


def test_every_example_is_run_by_a_test():
    tests = pathlib.Path(__file__).resolve().parent
    text = "\n".join(p.read_text(encoding="utf-8") for p in tests.glob("test_*.py"))
    for script in EXAMPLES.glob("*.py"):
        name = script.stem
        assert f'"{name}"' in text or f"{name}.py" in text, (
            f"examples/{name}.py has no test"
        )
        assert "--quick" in script.read_text(encoding="utf-8"), (
            f"{name}.py has no --quick"
        )
