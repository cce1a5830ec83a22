"""Peer runners for the 2D Poisson E-NGD comparison (see README.md in this folder).

Every runner module exposes ``run(seed, iters, *, record_at=..., time_budget_s=None)``
returning a dict with the same keys; the problem itself (network, initialisation,
points, loss, error) lives in :mod:`benchmarks.peers.problem`.
"""

import os


# One OpenBLAS thread for LAPACK (jax's CPU lstsq/svd/cholesky call scipy's OpenBLAS):
# on this busy 2-core machine a threaded OpenBLAS contends with XLA's own threads and
# made a 129 x 129 lstsq take ~280 ms instead of ~1.5 ms. This only takes effect if
# nothing has loaded OpenBLAS yet: importers should set it before importing jax/numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
