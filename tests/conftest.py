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


# Compile seconds per test (tracing, lowering, XLA compile), from JAX's own time spans:
# the suite's time is mostly compilation, so this is what to cut. Shown at the end with
# `pytest --compile-report` (the 15 tests that compile longest, and the total).
_compile_seconds: dict[str, float] = {}


def pytest_addoption(parser):
    parser.addoption(
        "--compile-report",
        action="store_true",
        help="list the tests that spend the most seconds compiling",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    from ngflow._loop import Timer

    with Timer() as timer:
        out = yield
    item.user_properties.append(("compile_seconds", timer.compile_time))
    return out


def pytest_runtest_logreport(report):
    # in the main process, also when the tests ran in pytest-xdist workers
    for name, value in report.user_properties:
        if name == "compile_seconds":
            _compile_seconds[report.nodeid] = value


def pytest_terminal_summary(terminalreporter, config):
    if not config.getoption("--compile-report") or not _compile_seconds:
        return
    worst = sorted(_compile_seconds.items(), key=lambda kv: -kv[1])[:15]
    terminalreporter.section("compile seconds per test")
    for nodeid, seconds in worst:
        terminalreporter.write_line(f"{seconds:7.1f} s  {nodeid}")
    terminalreporter.write_line(f"{sum(_compile_seconds.values()):7.1f} s  in all")
