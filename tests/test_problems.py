"""The problem catalogue `ng.problems`: every exact solution solves its own discrete
problem, the Burgers reference reproduces Basdevant et al.'s slope, the ENGD Poisson entry
is the peers' problem, entries build for any seed without recompiling a solve."""

import inspect
import pathlib
import sys
import textwrap

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import ngflow as ng

from .test_docstrings import BLOCK, NOT_RUN, PREAMBLE


ROOT = pathlib.Path(__file__).resolve().parents[1]
NAMES = sorted(ng.problems.CATALOGUE)

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_compiles: list[float] = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, secs, **kw: event == COMPILE_EVENT and _compiles.append(secs)
)


@pytest.fixture(scope="module")
def quick():
    """Every entry, quick, for seeds 0 and 1."""
    return {
        name: tuple(ng.problems.get(name, seed=s, quick=True) for s in (0, 1))
        for name in NAMES
    }


def _terms(loss):
    return loss.losses if isinstance(loss, ng.ResidualSum) else (loss,)


@eqx.filter_jit
def _term_losses(loss, u):
    return jnp.stack([term(u) for term in _terms(loss)])


def _flat(model):
    """The flat parameter vector (`ravel_pytree` of the model's arrays)."""
    return ravel_pytree(eqx.filter(model, eqx.is_inexact_array))[0]


class _Zero(eqx.Module):
    shape: tuple = eqx.field(static=True)

    def __call__(self, x):
        return jnp.zeros(self.shape)


# ---------------------------------------------------------------------------------------
# Mathematics: the exact solutions solve the discrete problems


@pytest.mark.parametrize("name", NAMES)
def test_exact_solution_has_zero_residual(name, quick):
    """Every loss term vanishes at u*, relative to its size at the initial model and at
    u = 0 (each term alone, so a small term cannot hide in a big one). Reached: loss
    ratios below 1e-25 for all entries, i.e. residuals 1e-13 relative: round-off, the
    Burgers Cole–Hopf quadrature included (its u_xx agrees with a 3201-node trapezoid
    rule to 1e-14 relative)."""
    b = quick[name][0]
    model = b.problem.model
    out = model(b.points[0]).shape
    at_solution = np.asarray(_term_losses(b.problem.loss, b.solution))
    scale = np.maximum(
        np.asarray(_term_losses(b.problem.loss, model)),
        np.asarray(_term_losses(b.problem.loss, _Zero(out))),
    )
    assert np.all(scale > 0) and np.all(np.isfinite(at_solution))
    assert np.all(at_solution <= 1e-20 * scale), (at_solution, scale)
    # The error monitor measures u* against itself: 0 (the Burgers table: round-off).
    assert float(b.error(b.solution)) <= 1e-14


def test_burgers_reference():
    u = ng.problems.ColeHopf()
    x = jnp.linspace(-1.0, 1.0, 101)
    at = jax.jit(jax.vmap(lambda t, x: u(jnp.stack([t, x]))))
    # (a) the initial condition, and u(t, ±1) = 0, u odd in x
    assert np.max(np.abs(at(jnp.zeros_like(x), x) + jnp.sin(jnp.pi * x))) < 1e-14
    ts = jnp.linspace(0.0, 1.0, 11)
    assert np.max(np.abs(at(ts, jnp.ones_like(ts)))) < 1e-14
    assert np.max(np.abs(at(ts, -jnp.ones_like(ts)))) < 1e-14
    tx = jnp.full_like(x, 0.37)
    assert np.max(np.abs(at(tx, x) + at(tx, -x))) < 1e-14
    # (b) Basdevant et al. (1986): max_t |u_x(t, 0)| = 152.00516 at t = 1.6037/π
    slope = jax.jit(
        jax.vmap(lambda t: jnp.abs(ng.derivative(u, jnp.stack([t, 0.0]), 1)))
    )
    ts = np.linspace(0.3, 0.7, 401)
    for _ in range(3):  # zoom in on the peak
        i = int(np.argmax(slope(jnp.asarray(ts))))
        ts = np.linspace(ts[max(i - 1, 0)], ts[min(i + 1, len(ts) - 1)], 401)
    values = np.asarray(slope(jnp.asarray(ts)))
    peak, t_peak = values.max(), ts[values.argmax()]
    assert abs(peak - 152.00516) < 1e-4, peak
    assert abs(t_peak * np.pi - 1.6037) < 1e-3, t_peak * np.pi
    # The quadrature is resolved: 100 nodes agree with 200 in u and u_xx near the shock.
    z = jnp.stack([jnp.linspace(0.0, 1.0, 64), jnp.linspace(-0.02, 0.02, 64)], -1)
    u_xx = lambda v: jax.vmap(lambda p: ng.laplacian(v, p, axes=(1,)))(z)
    coarse = ng.problems.ColeHopf(num_nodes=100)
    assert np.max(np.abs(jax.vmap(u)(z) - jax.vmap(coarse)(z))) < 1e-13
    assert np.max(np.abs(u_xx(u) - u_xx(coarse))) < 1e-9 * np.max(np.abs(u_xx(u)))


def test_engd_poisson_is_the_peers_problem():
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.peers import problem as peers
    finally:
        sys.path.remove(str(ROOT))
    for seed in (0, 7):
        b = ng.problems.poisson2d(seed=seed)
        theta = _flat(b.problem.model)
        reference = peers.init_params(seed)
        assert theta.dtype == reference.dtype == jnp.float64
        np.testing.assert_array_equal(np.asarray(theta), np.asarray(reference))
        ours, theirs = float(b.problem.loss(b.problem.model)), float(peers.loss(theta))
        assert abs(ours - theirs) <= 1e-12 * abs(theirs), (ours, theirs)
        assert b.num_residuals == 784 + 116 and b.points.shape == (10_000, 2)
        # the error monitor is the peers' relative L² error
        np.testing.assert_allclose(
            float(b.error(b.problem.model)),
            float(peers.rel_l2_error(theta)),
            rtol=1e-12,
        )


# ---------------------------------------------------------------------------------------
# Entries: shapes, seeds, compiled code


@pytest.mark.parametrize("name", NAMES)
def test_entry_builds_for_two_seeds(name, quick):
    b0, b1 = quick[name]
    assert (b0.name, b0.seed, b1.seed, b0.quick) == (name, 0, 1, True)
    assert isinstance(b0, ng.problems.Benchmark)
    x = b0.points[0]
    assert b0.solution(x).shape == b0.problem.model(x).shape
    assert isinstance(b0.error, ng.RelativeL2Error) and b0.error.points is b0.points
    assert 0 < b0.tol < 1 and 0 < b0.steps
    assert not np.array_equal(_flat(b0.problem.model), _flat(b1.problem.model))
    np.testing.assert_array_equal(b0.points, b1.points)  # the seed is the init only
    for b in (b0, b1):
        initial = _term_losses(b.problem.loss, b.problem.model)
        assert np.all(np.isfinite(np.asarray(initial)))
        assert np.isfinite(float(b.error(b.problem.model)))


@pytest.mark.parametrize("name", ["least_squares", "convection_diffusion"])
def test_second_seed_does_not_recompile(name):
    method = ng.NaturalGradient(ng.Pinv(), ng.LogGrid())
    first = ng.problems.get(name, seed=0, quick=True).solve(method, steps=2)
    before = len(_compiles)
    second = ng.problems.get(name, seed=1, quick=True).solve(method, steps=2)
    assert len(_compiles) == before, f"{len(_compiles) - before} compilations"
    assert first.losses[0] != second.losses[0]
    assert np.all(np.isfinite(second.monitors["error"]))


def test_get_errors_and_options():
    with pytest.raises(ValueError, match="unknown problem 'poisson'.*burgers.*wave"):
        ng.problems.get("poisson")
    with pytest.raises(TypeError, match="seed"):
        ng.problems.get("heat", seed=1.5)
    small, full = ng.problems.get("heat", seed=3, quick=True), ng.problems.heat(seed=3)
    assert (small.seed, small.quick, full.quick) == (3, True, False)
    assert small.num_residuals < full.num_residuals and small.steps < full.steps
    np.testing.assert_array_equal(_flat(small.problem.model), _flat(full.problem.model))
    assert ng.problems.get("poisson2d", quick=True, n=10).num_residuals == 100 + 44
    assert set(ng.problems.CATALOGUE) >= {
        "least_squares", "poisson2d", "poisson2d_seed000", "poisson5d", "poisson10d",
        "heat", "convection_diffusion", "burgers", "kovasznay", "wave",
    }  # fmt: skip


# ---------------------------------------------------------------------------------------
# Docstrings: ng.problems is a module, so tests/test_docstrings.py does not see it.


@pytest.mark.parametrize("name", ng.problems.__all__)
def test_docstring_example(name):
    obj = getattr(ng.problems, name)
    doc = inspect.getdoc(obj) if name != "CATALOGUE" else ng.problems.__doc__
    blocks = [textwrap.dedent(c) for c in BLOCK.findall(doc or "")]
    assert blocks, f"ng.problems.{name} has no ```python example"
    ns: dict = {"__name__": "ngflow_docstring_example"}
    exec(compile(PREAMBLE, "<preamble>", "exec"), ns)
    for i, code in enumerate(blocks):
        if not code.lstrip().startswith(NOT_RUN):
            exec(compile(code, f"<ng.problems.{name} example {i}>", "exec"), dict(ns))
