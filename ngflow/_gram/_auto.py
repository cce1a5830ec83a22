import os
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._linearisation import TangentMap
from ._base import AbstractGramSolver
from ._cg import CG
from ._cholesky import Cholesky
from ._pinv import Pinv
from ._precondition import Nystrom
from ._sketch import Sketch
from ._woodbury import Woodbury


def exact_flops(n: int, p: int, index: int) -> float:
    """Flops of one step of the exact choice `index` for an $N\\times p$ tangent map
    (the products and the factorisation of the curve): `Pinv` on a tall $E$ $2Np^2 +
    10p^3$ (QR, then the SVD of $R$), `Woodbury` $2N^2p + 10N^3$ ($K$, its
    eigendecomposition), chunked `Cholesky` $2Np^2 + 10p^3$; a small wide `Pinv` $10Np\\min(N,p)$."""
    if index == 0:
        return 2 * n * p * p + 10 * p**3 if n >= p else 10 * n * p * min(n, p)
    if index in (1, 2):
        return 2 * n * n * p + 10 * n**3
    if index == 3:
        return 2 * n * p * p + 10 * p**3
    return float("inf")


def available_memory() -> int | None:
    """Bytes the default device can still allocate: `memory_stats()` of an accelerator,
    else the host's `MemAvailable` (Linux) or free physical pages; `None` if unknown."""
    try:
        stats = jax.devices()[0].memory_stats()
        if stats and "bytes_limit" in stats:
            return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    except Exception:  # noqa: BLE001 - a backend without memory_stats
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


class AutoGram(AbstractGramSolver):
    """Chooses a Gram solve from the shape $N\\times p$ of the tangent map $E$ and the memory
    available (at trace time, i.e. once per compilation).

    With $L$ the number of float64 entries it may materialise (`dense_limit`, by default
    `memory_fraction` of the available memory):

    - a matrix metric (Hessian): [`ngflow.Pinv`][] (it may be indefinite or singular);
    - $N\\ge p$ (tall $E$):
        [`ngflow.Pinv`][] if $Np\\le L$ (the minimum-norm least-squares solve on $E$, by an
        SVD of its QR factor; on the ENGD Poisson problem it converged on 9 of 10 seeds,
        `QR`'s pivoted truncation on 6); else [`ngflow.Cholesky`][]`(1e-8, chunk=...)` if
        $p^2\\le L$ ($G$ accumulated over chunks of points, $E$ never held whole); else
        [`ngflow.Sketch`][] (below);
    - $N<p$ (wide $E$): [`ngflow.Pinv`][] if $Np\\le$ `pinv_limit` (small: the SVD is
        cheap); else the sample-space [`ngflow.Woodbury`][]`()` (an $N\\times N$ system: on
        Poisson with 10k parameters and 1k points 0.8 s per step against 4.5 s for `Pinv`),
        with $E$ formed if $Np\\le L$, else with `chunk=...` if $N^2\\le L$ ($K = EE^\\top$
        from chunks of points); else [`ngflow.Sketch`][] (below);
    - past the limits, [`ngflow.Sketch`][]: when the exact choice above would cost more
        than `flop_limit` flops per step (`exact_flops`: its products and the
        factorisation of its curve) and there are more than `sketch_rows` points, or when
        neither $E$, $K$ nor $G$ fits, the step is
        Gauss--Newton in a random subspace of 32–128 parameters' directions, its
        curvature from 1024 sampled points (see `sketch`). Measured on Poisson 2D
        (`benchmarks/scaling.py`, 2 cores, 60–180 s): with 4k–16k points and 1k–100k
        parameters it reached rel. $L^2$ $5\\cdot10^{-5}$–$4\\cdot10^{-3}$ where the
        exact solves took 2–60 s per step (0.64–0.67 at 4k points) and Adam
        $2\\cdot10^{-3}$–$9\\cdot10^{-2}$. With at most `sketch_rows` points the exact
        step is kept: it would form all of $E$, and at 100k parameters × 1k points the
        exact `Woodbury` reached $1.6\\cdot10^{-7}$ against $2\\cdot10^{-4}$. On an
        accelerator the exact solves are relatively cheaper: raise `flop_limit`.
    - [`ngflow.CG`][] is never chosen any more (`AutoGram.cg(chunk)` gives the
        preconditioned CG it used to take: `CG(1e-8 relative, rtol=1e-6, max_steps=50,
        preconditioner=Nystrom(100), chunk=...)`).

    A chunk holds at most $L/8$ entries of rows of $E$. Every step records `auto_choice`,
    the index into `AutoGram.CHOICES` of the solve taken (with the reason); `describe`
    says it with the numbers.

    **The Levenberg--Marquardt curve** (for [`ngflow.DampedDescent`][], the default's)
    comes from the chosen solve's factorisation (an SVD of $E$ or of its QR factor, an
    eigendecomposition of $K$ or $G$) while $\\min(N, p)\\le$ `curve_limit`; beyond it
    the damped descent takes the chosen solve's direction, scaled. `Sketch`'s curve (an
    SVD of $EQ$, $N\\times k$) is always given. Measured on one core
    (float64): an eigendecomposition of a $2000\\times2000$ matrix costs 1.2 s, of
    $3000\\times3000$ 3.8 s, 10–15× a Cholesky factorisation (an SVD 2.5–3× more again).

    **Arguments:**

    - `dense_limit`: $L$, the largest number of matrix entries to materialise; `None`
        (default): `memory_fraction` × the available memory (see `available_memory`) / 8 B,
        or $5\\cdot10^7$ (400 MB) if that is unknown.
    - `memory_fraction`: the share of the available memory one matrix may take (0.25).
    - `pinv_limit`: below this many entries of a wide $E$, `Pinv` rather than `Woodbury`
        ($10^6$).
    - `curve_limit`: the largest $\\min(N, p)$ for which the curve of an exact solve is
        factorised (2048).
    - `flop_limit`: above this estimate of an exact step's flops, `Sketch` ($2.5\\cdot
        10^{10}$, about a second of dense linear algebra on two cores).
    - `sketch_flops`: the budget that sets the sketch's subspace size ($10^{10}$).
    - `sketch_rows`: the points the sketch samples per step (1024); with $N$ at most
        this, the sketch would form all of $E$, and the exact step is kept.

    ```python
    auto = ng.AutoGram()
    auto.describe(n=1024, p=100_801)  # 'Woodbury: wide E (N < p) ...' and the numbers
    auto.describe(n=4096, p=100_801)  # 'Sketch: ... cost more than flop_limit ...'
    ```
    """

    CHOICES: ClassVar[tuple[str, ...]] = (
        "Pinv: E fits (N·p ≤ L) and is tall, or small",
        "Woodbury: wide E (N < p) that fits (N·p ≤ L): sample space, K = EEᵀ",
        "Woodbury(chunk): wide E too large, K fits (N² ≤ L): K from point chunks",
        "Cholesky(chunk): tall E too large, G fits (p² ≤ L): G from point chunks",
        "CG: no longer chosen (AutoGram.cg(chunk) gives it); kept so indices stay",
        "Sketch: more than sketch_rows points and the exact solve would cost more than "
        "flop_limit per step, or E, K and G do not fit (random-subspace Gauss-Newton)",
    )
    needs_tangent_map: ClassVar[bool] = False
    dense_limit: int | None = eqx.field(default=None, static=True)
    memory_fraction: float = eqx.field(default=0.25, static=True)
    pinv_limit: int = eqx.field(default=1_000_000, static=True)
    curve_limit: int = eqx.field(default=2048, static=True)
    flop_limit: float = eqx.field(default=2.5e10, static=True)
    sketch_flops: float = eqx.field(default=1e10, static=True)
    sketch_rows: int = eqx.field(default=1024, static=True)

    def limit(self) -> int:
        """$L$: `dense_limit`, or the share of the available memory, in float64 entries."""
        if self.dense_limit is not None:
            return int(self.dense_limit)
        free = available_memory()
        if free is None:
            return 50_000_000
        return max(1, int(self.memory_fraction * free) // 8)

    def _choice(self, n, p, limit) -> tuple[int, AbstractGramSolver]:
        index, solver = self._exact(n, p, limit)
        costly = exact_flops(n, p, index) > self.flop_limit and n > self.sketch_rows
        if index == 4 or costly:
            return 5, self.sketch(n, p, limit)
        return index, solver

    def sketch(self, n: int, p: int, limit: int | None = None) -> Sketch:
        """The choice past the limits: [`ngflow.Sketch`][] on 1024 sampled points, with
        the largest subspace (at most 128, at least 32) whose product $E_SQ$ costs at most
        `sketch_flops`, and chunks of rows within the memory limit."""
        limit = self.limit() if limit is None else limit
        rows = min(n, self.sketch_rows)
        size = int(max(32, min(128, self.sketch_flops // (2 * rows * p))))
        chunk = int(min(max(1, limit // (8 * p)), 256, rows))
        return Sketch(size, rows=rows, chunk=chunk)

    def _exact(self, n, p, limit) -> tuple[int, AbstractGramSolver]:
        chunk = lambda width: int(min(max(1, limit // (8 * width)), n))
        if n >= p:
            if n * p <= limit:
                return 0, Pinv()
            if p * p <= limit:
                return 3, Cholesky(1e-8, chunk=chunk(p))
            return 4, self.cg(chunk(p))
        if n * p <= min(limit, self.pinv_limit):
            return 0, Pinv()
        if n * p <= limit:
            return 1, Woodbury()
        if n * n <= limit:
            return 2, Woodbury(chunk=chunk(p))
        return 4, self.cg(chunk(p))

    @staticmethod
    def cg(chunk: int) -> CG:
        """The matrix-free choice: Nyström-preconditioned CG, $\\lambda = 10^{-8}
        \\operatorname{tr}(G)/p$, `rtol=1e-6`, at most 50 iterations."""
        return CG(
            rtol=1e-6,
            max_steps=50,
            damping=1e-8,
            relative=True,
            preconditioner=Nystrom(100),
            chunk=chunk,
        )

    def _for(self, metric) -> tuple[int, AbstractGramSolver]:
        if not isinstance(metric, TangentMap):
            return 0, Pinv()
        return self._choice(*metric.shape, self.limit())

    def select(self, metric) -> AbstractGramSolver:
        """The solve this would use for `metric`."""
        return self._for(metric)[1]

    def describe(
        self, metric=None, *, n: int | None = None, p: int | None = None
    ) -> str:
        """The choice for a tangent map (or for the shape `n`, `p`), with the reason."""
        if metric is not None:
            if not isinstance(metric, TangentMap):
                return "Pinv: a matrix metric (Hessian)"
            n, p = metric.shape
        limit = self.limit()
        index, solver = self._choice(n, p, limit)
        chunk = getattr(solver, "chunk", None)
        return (
            f"{self.CHOICES[index]} (N={n}, p={p}"
            + (f", chunk={chunk}" if chunk is not None else "")
            + f", L={limit:.3g} entries = {8 * limit / 2**30:.3g} GiB)"
        )

    def form(self, shape):
        if shape is None:
            return Pinv().form(shape)
        return self._choice(*shape, self.limit())[1].form(shape)

    def solve(self, metric, gradient):
        index, solver = self._for(metric)
        h, stats, ok = solver.solve(metric, gradient)
        return h, {**stats, "auto_choice": jnp.asarray(index)}, ok

    def curve(self, metric, gradient):
        index, solver = self._for(metric)
        if not isinstance(solver, Sketch) and min(metric.shape) > self.curve_limit:
            return None
        out = solver.curve(metric, gradient)
        if out is None:
            return None
        curve, stats, ok = out
        return curve, {**stats, "auto_choice": jnp.asarray(index)}, ok
