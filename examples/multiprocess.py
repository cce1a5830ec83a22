"""Natural gradient over several processes (`jax.distributed`): the points are sharded over
the devices of every process, each process builds only its own rows, and `ng.solve` is the
same call as on one device — XLA reduces EᵀE, Eᵀr and EEᵀ across processes.

A least-squares fit of a [2, 16, 16, 1] tanh MLP on 256 points (512 without `--quick`),
Gauss–Newton metric, 4 steps of `NaturalGradient` with `Cholesky(1e-4)` + `LogGrid()`, the
default, chunked `Cholesky`/`Woodbury`, `Sketch` (its random subspace drawn from the
loss's leading bits, so the same on every process and in the one-process run; its rows
sampled from the global points) and `CG`, and the default on a Poisson residual whose
points are redrawn every step (`box.sampler(..., sharding=...)`); `--launch 2` starts 2 local processes with 2 host devices each (gloo collectives
on 127.0.0.1, a free port, both killed if one fails or after `--timeout` seconds) and
compares their iterates with one process on the same points. Claim: equal up to what
reordering the sums changes, relative difference ≤ 1e-8. Exits non-zero otherwise.

    python examples/multiprocess.py --launch 2 [--quick]
    python examples/multiprocess.py --process-id I --num-processes N --coordinator HOST:PORT
        # one process of a run (what --launch starts); on a cluster or GPUs the same code
        # with jax.distributed.initialize() and no arguments
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--launch", type=int, metavar="N", help="start N local processes"
    )
    parser.add_argument("--process-id", type=int)
    parser.add_argument("--num-processes", type=int)
    parser.add_argument("--coordinator", help="HOST:PORT of process 0")
    parser.add_argument("--local-devices", type=int, default=2, help="host CPU devices")
    parser.add_argument("--out", help="process 0 writes its iterates here (JSON)")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def points_at(rows, key_seed=0):
    """Points number `rows` (an index range): point i is uniform on [0, 1]², drawn from
    fold_in(key, i), so any process builds exactly its own rows."""
    import jax

    import ngflow  # noqa: F401  (float64)

    key = jax.random.key(key_seed)
    return jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i), (2,)))(
        rows
    )


def target(x):
    import jax.numpy as jnp

    return jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])


def poisson(u, x):
    import jax.numpy as jnp

    import ngflow as ng

    return ng.laplacian(u, x) + 2 * jnp.pi**2 * target(x)


def solve_all(points, sharding=None):
    """The iterates on `points` (a global, possibly sharded array) of two methods, and of
    the default on a Poisson residual whose 128 points are redrawn every step (each
    device draws its own rows when `sharding` is given)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    import ngflow as ng

    model = eqx.nn.MLP(2, "scalar", 16, 2, activation=jnp.tanh, key=jax.random.key(1))
    problem = ng.Problem(model, ng.LeastSquares(target, points), ng.GaussNewton())
    out = {}
    for name, method in (
        (
            "Cholesky(1e-4), LogGrid()",
            ng.NaturalGradient(ng.Cholesky(1e-4), ng.LogGrid()),
        ),
        ("NaturalGradient()", ng.NaturalGradient()),
        ("Cholesky(1e-4, chunk=32)", ng.NaturalGradient(ng.Cholesky(1e-4, chunk=32))),
        ("Woodbury(1e-4, chunk=32)", ng.NaturalGradient(ng.Woodbury(1e-4, chunk=32))),
        (
            "Sketch(8, rows=64, chunk=16)",
            ng.NaturalGradient(ng.Sketch(8, rows=64, chunk=16)),
        ),
        (
            "CG(damping=1e-4)",
            ng.NaturalGradient(
                ng.CG(rtol=1e-13, max_steps=300, damping=1e-4), ng.LogGrid()
            ),
        ),
    ):
        sol = ng.solve(problem, method, steps=4, save_params=True, progress=False)
        params = sol.params
        if jax.process_count() > 1:  # replicated, so every process can read it whole
            from jax.experimental import multihost_utils

            params = multihost_utils.process_allgather(params, tiled=True)
        out[name] = {
            "params": np.asarray(params).tolist(),
            "losses": sol.to_dict()["losses"],
        }
    box = ng.Box([0, 0], [1, 1])
    loss = ng.Residual(poisson, box.sampler(128, every=1, sharding=sharding))
    sol = ng.solve(
        ng.Problem(model, loss, ng.Energy()), ng.NaturalGradient(), steps=4,
        save_params=True, progress=False, key=jax.random.key(3),
    )  # fmt: skip
    params = sol.params
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        params = multihost_utils.process_allgather(params, tiled=True)
    out["resampled Poisson, default"] = {
        "params": np.asarray(params).tolist(), "losses": sol.to_dict()["losses"],
    }  # fmt: skip
    return out


def one_process(args):
    os.environ["XLA_FLAGS"] = (
        f"--xla_force_host_platform_device_count={args.local_devices}"
    )
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        args.coordinator, num_processes=args.num_processes, process_id=args.process_id
    )
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    n = 256 if args.quick else 512
    mesh = Mesh(np.array(jax.devices()), ("points",))
    sharding = NamedSharding(mesh, PartitionSpec("points"))

    def rows(index):  # only this device's rows are built
        start, stop, _ = index[0].indices(n)
        return np.asarray(points_at(np.arange(start, stop)))

    points = jax.make_array_from_callback((n, 2), sharding, rows)
    out = solve_all(points, sharding)
    if args.process_id == 0 and args.out:
        meta = {"processes": jax.process_count(), "devices": jax.device_count()}
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"meta": meta, "runs": out}, f)
    print(f"process {args.process_id}: done", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args) -> int:
    start = time.perf_counter()
    port, out = free_port(), os.path.join(tempfile.mkdtemp(), "iterates.json")
    procs = []
    for i in range(args.launch):
        cmd = [sys.executable, __file__, "--process-id", str(i), "--num-processes",
               str(args.launch), "--coordinator", f"127.0.0.1:{port}", "--out", out,
               "--local-devices", str(args.local_devices)] + ["--quick"] * args.quick  # fmt: skip
        procs.append(
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    try:
        for p in procs:
            p.wait(timeout=max(1.0, args.timeout - (time.perf_counter() - start)))
    except subprocess.TimeoutExpired:
        print(f"a process did not finish in {args.timeout:.0f} s")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    failed = [i for i, p in enumerate(procs) if p.wait() != 0]
    if failed:
        for i in failed:
            print(f"--- process {i} (exit {procs[i].returncode}):")
            print(procs[i].stdout.read().decode()[-3000:])
        return 1
    with open(out, encoding="utf-8") as f:
        multi = json.load(f)
    import numpy as np

    n = 256 if args.quick else 512
    single = solve_all(points_at(np.arange(n)))
    meta = multi["meta"]
    print(f"{meta['processes']} processes, {meta['devices']} devices, {n} points; "
          f"{time.perf_counter() - start:.1f} s in all")  # fmt: skip
    worst = 0.0
    for name, run in single.items():
        a, b = np.asarray(multi["runs"][name]["params"]), np.asarray(run["params"])
        gap = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
        worst = max(worst, gap)
        loss = multi["runs"][name]["losses"][-1]
        print(f"  {name:28s} final loss {loss:.6e}; iterates vs one process: {gap:.1e}")
    if not worst <= 1e-8:
        print(f"claim failed: relative difference {worst:.1e} > 1e-8")
        return 1
    return 0


if __name__ == "__main__":
    arguments = parse()
    if arguments.launch:
        sys.exit(launch(arguments))
    one_process(arguments)
