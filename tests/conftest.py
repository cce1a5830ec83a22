import os


# One OpenBLAS thread for the LAPACK calls jax makes (through scipy): on a shared 2-core
# machine threaded LAPACK contends with XLA's threads and solves become 5-10x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import hypothesis  # noqa: E402
import jax  # noqa: E402
import pytest  # noqa: E402

import ngflow  # noqa: E402, F401  (enables float64)


jax.config.update("jax_enable_x64", True)

hypothesis.settings.register_profile(
    "ngflow",
    max_examples=int(os.environ.get("NGFLOW_MAX_EXAMPLES", "15")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.load_profile("ngflow")


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_code():
    """Drops JAX's compiled executables after each test module.

    Each compiled XLA:CPU executable holds its own memory mappings, and the whole suite
    compiles thousands of them: without this the process passed the kernel's limit of
    65 530 mappings (`vm.max_map_count`) near the end of the suite and LLVM crashed
    with a segmentation fault while compiling. Modules still share compiled code
    among their own tests.
    """
    yield
    jax.clear_caches()
