"""Run every peer on the 2D Poisson problem and print one line per peer x seed.

    python benchmarks/peers/run_all.py --seeds 0 1 2 --iters 200 [--budget 10] [--out peers.json]
    python -m benchmarks.peers.run_all ...          (same, from the repository root)

Columns: rel. L² error at iterations 0/50/100/200 (of `--record`), the median
milliseconds per iteration after compilation, and the wall time (after compilation)
until the error first reaches 1e-7 and 1e-6 ("-" if never). The optax baselines run for a
wall-clock budget (`--budget` seconds) instead of `--iters`; their line also gives the
iterations done and the final error. See benchmarks/peers/README.md.
"""

import os
import sys


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before jax/numpy load OpenBLAS

if __package__ in (None, ""):
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    )

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import warnings  # noqa: E402

import jax  # noqa: E402

from benchmarks.peers import (  # noqa: E402
    jinns_peer,
    optax_baselines,
    optimistix_lm,
    problem,
    randngd_peer,
    reference_engd,
)


PEERS = {
    "reference": ("reference ENGD", reference_engd.run, False),
    "randngd-lm": ("randngd NGDFull+LM", randngd_peer.run_lm, False),
    "randngd-default": ("randngd NGDFull default", randngd_peer.run_default, False),
    "jinns": ("jinns vanilla_ngd", jinns_peer.run, False),
    "optx-lm": ("optimistix LM", optimistix_lm.run, False),
    "adam": ("optax Adam 1e-3", optax_baselines.run_adam, True),
    "lbfgs": ("optax L-BFGS", optax_baselines.run_lbfgs, True),
}


def fmt(x, spec=".1e"):
    if x is None:
        width = "".join(c for c in spec.split(".")[0] if c.isdigit())
        return "-".rjust(int(width)) if width else "-"
    return format(x, spec)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--record", type=int, nargs="+", default=[0, 50, 100, 200])
    ap.add_argument(
        "--budget", type=float, default=10.0, help="seconds for the optax baselines"
    )
    ap.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS))
    ap.add_argument("--out", default=None, help="write every result dict as JSON here")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    rec = tuple(args.record)
    head = " ".join(f"{'err@' + str(r):>8}" for r in rec)
    print(
        f"# jax {jax.__version__}, {platform.platform()}, cpus={os.cpu_count()}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
    )
    print(
        f"{'peer':<26}{'seed':>5} {head} {'ms/iter':>8} {'t->1e-7 s':>10} {'t->1e-6 s':>10}  notes"
    )
    results = []
    for seed in args.seeds:
        for key in args.peers:
            label, fn, budgeted = PEERS[key]
            kw = dict(record_at=rec)
            if budgeted:
                kw["time_budget_s"] = args.budget
            out = fn(seed, args.iters, **kw)
            out["peer"], out["seed"] = key, seed
            results.append(out)
            errs = " ".join(f"{fmt(out['errors'].get(r)):>8}" for r in rec)
            note = ""
            if budgeted:
                note = f"{out['iterations_done']} it in {out['total_time_s']:.1f} s, final {out['final_error']:.1e}"
            elif out.get("stalled"):
                note = "stalled"
            print(
                f"{label:<26}{seed:>5} {errs} {fmt(out['ms_per_iter_median'], '8.2f')} "
                f"{fmt(out['time_to_1e-7_s'], '10.2f')} {fmt(out['time_to_1e-6_s'], '10.2f')}  {note}",
                flush=True,
            )
    print()
    print(
        f"{'median over seeds':<26}{'':>5} {head} {'ms/iter':>8}  reached 1e-7 / 1e-6"
    )
    for key in args.peers:
        rs = [r for r in results if r["peer"] == key]
        med = []
        for r_ in rec:
            vals = [r["errors"][r_] for r in rs if r_ in r["errors"]]
            med.append(fmt(statistics.median(vals)) if vals else "-")
        ms = statistics.median(r["ms_per_iter_median"] for r in rs)
        hit = sum(r["time_to_1e-7_s"] is not None for r in rs)
        hit6 = sum(r["time_to_1e-6_s"] is not None for r in rs)
        print(
            f"{PEERS[key][0]:<26}{'':>5} {' '.join(f'{m:>8}' for m in med)} {ms:8.2f}  "
            f"{hit}/{len(rs)} / {hit6}/{len(rs)}"
        )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                dict(
                    jax=jax.__version__,
                    platform=platform.platform(),
                    problem=problem.__doc__,
                    results=results,
                ),
                fh,
                indent=1,
                default=str,
            )
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
