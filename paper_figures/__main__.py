"""`python -m paper_figures [NAME ...] [--list] [--quick] [--gallery] [--out DIR]`: writes
`OUT/NAME.json` (the plotted data and every setting) and `OUT/NAME.png` per figure
(default: all); `--gallery` also updates `paper_figures/gallery/` and the docs' gallery page
(full runs only). A figure that raises is reported and the others still run; the exit
status is 1 if any failed.
"""

import argparse
import json
import os
import pathlib
import platform
import sys
import time
import traceback
import warnings

import jax

import ngflow as ng

from . import _gallery, FIGURES, load


DEFAULT_OUT = pathlib.Path(__file__).resolve().parent / "out"


def _parse(argv):
    text = "Reproduce the seed papers' figures."
    parser = argparse.ArgumentParser(prog="python -m paper_figures", description=text)
    text = "figures to make (default: all)"
    parser.add_argument("names", nargs="*", metavar="NAME", help=text)
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    parser.add_argument("--quick", action="store_true", help="small, fast settings")
    text = "also copy each figure into paper_figures/gallery/ (full runs only)"
    parser.add_argument("--gallery", action="store_true", help=text)
    text = f"output directory (default {DEFAULT_OUT})"
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help=text)
    args = parser.parse_args(argv)
    if args.gallery and args.quick:
        parser.error("--gallery takes full runs only; drop --quick")
    unknown = [name for name in args.names if name not in FIGURES]
    if unknown:
        valid = ", ".join(FIGURES)
        parser.error(f"unknown figure(s) {', '.join(unknown)}; valid names: {valid}")
    return args


def _fmt(value) -> str:
    return "NaN" if value is None else f"{value:.3e}"


def _make(name: str, quick: bool, out: pathlib.Path, say, gallery: bool = False):
    module = load(name)
    mode = "quick" if quick else "full"
    say(f"{name}: seed {module.SEED} {module.SECTION} ({mode}) ...")
    start = time.perf_counter()
    # One bar counts the figure's solves (on a terminal). Warnings (e.g. from a run the
    # figure shows diverging) are collected and printed one line each, attributed.
    progress = ng.progress_group(name, leave=False)
    with progress, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        data = module.run(quick)
    for warning in seen:
        say(f"  warning: {str(warning.message).split('. ')[0]}")  # its first sentence
    run_time = time.perf_counter() - start
    meta = {"name": module.NAME, "seed": module.SEED, "section": module.SECTION}
    meta |= {"title": module.TITLE, "quick": quick, "run_wall_time_s": run_time}
    meta["machine"] = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    data = {"figure": meta, **data}
    json_path, png_path = out / f"{name}.json", out / f"{name}.png"
    text = json.dumps(data, indent=1, allow_nan=False, ensure_ascii=False)
    json_path.write_text(text + "\n", encoding="utf-8")
    module.plot(data, png_path)
    if gallery:
        say(f"  gallery: {_gallery.update(name, out)}")
    for label, result in data.get("methods", {}).items():  # the figures' convention
        wall = result.get("wall_time", float("nan"))
        loss = _fmt(result.get("final_loss"))
        say(f"  {label:16s} final loss {loss}  wall time {wall:.1f} s")
    done = time.perf_counter() - start
    say(f"{name}: done in {done:.1f} s -> {json_path}, {png_path}")


def main(argv=None) -> int:
    args = _parse(argv)
    if args.list:
        for name in FIGURES:
            module = load(name)
            print(f"{name:22s} seed {module.SEED}, {module.SECTION} — {module.TITLE}")
        return 0
    names = args.names or list(FIGURES)
    args.out.mkdir(parents=True, exist_ok=True)
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(names, desc="figures", unit="fig")

    def say(message, file=sys.stdout):
        (bar.write if bar is not None else print)(message, file=file)

    failed = []
    start = time.perf_counter()
    for name in bar if bar is not None else names:
        try:
            _make(name, args.quick, args.out, say, args.gallery)
        except Exception:  # noqa: BLE001 - report and go on with the other figures
            failed.append(name)
            say(f"{name}: FAILED\n{traceback.format_exc()}", file=sys.stderr)
        finally:
            jax.clear_caches()  # figures share no compiled code; free its memory maps
    if args.gallery:
        _gallery.write_page(FIGURES)
    made = len(names) - len(failed)
    took = time.perf_counter() - start
    say(f"{made} of {len(names)} figure(s) written to {args.out} in {took:.0f} s")
    if failed:
        text = f"{len(failed)} of {len(names)} figure(s) failed: {', '.join(failed)}"
        say(text, sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
