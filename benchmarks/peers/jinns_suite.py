"""PyPI ``jinns``: ``jinns.optimizers.vanilla_ngd`` on the problems of ``ng.problems``.

For ``benchmarks/suite.py``: a "jinns vanilla_ngd" row next to ngflow's methods, on
every catalogue entry that jinns' API can express exactly. The approach is
:mod:`benchmarks.peers.jinns_peer`'s (one problem, ENGD's Poisson) made general:

    b = ng.problems.get("heat", seed=0, quick=True)
    available("heat")        # True, or a one-line reason
    r = run(b, steps=20)     # default b.steps
    r["errors"], r["ms_per_step"], r["loss_check"], r["settings"]

``run`` returns ``iterations`` (0..K), ``errors`` (relative L² error of every iterate,
``b.error`` on the ngflow model rebuilt from jinns' parameters), ``final_error``,
``ms_per_step``, ``wall_s`` (jinns' "Training took", compilation excluded), ``steps``
(K; fewer than asked only if jinns stopped on non-finite parameters), ``settings``,
``loss_check`` and the extra checks below, ``compile_s``, ``result``,
``linesearch_failure_messages`` (optax's "linesearch failed" prints). ``run`` raises
``NotImplementedError`` for an entry jinns cannot express (none at present, see the
table) or whose loss terms no longer have the structure this module expects.

Common set-up (jinns 1.10.2; every point, weight and initial value are ngflow's):

- network: ``jinns.nn.PINN_MLP.create(eq_type=..., eqx_network=b.problem.model)``:
  jinns wraps ngflow's own ``eqx.nn.MLP`` (tanh), so ``nn_params`` is ngflow's θ0
  (``ravel_pytree`` equal to ``ng.FlatModel(model).theta0``, checked) and the network
  computes the same function (max |u_jinns − u_ngflow| on 64 evaluation points = 0,
  must be ≤ 1e-12). Non-stationary entries take the point as (t, x), as ngflow's do.
- PDE residuals: ``jinns.loss.PDEStatio`` / ``PDENonStatio`` subclasses written with
  jinns' operators (``laplacian_rev``, the trace of a reverse-mode Hessian) or
  ``jax.grad`` / ``jax.hessian`` of the jinns network, or jinns' own classes
  (``BurgersEquation``, ``NavierStokesMassConservation2DStatio``); source terms and
  exact data reuse ngflow's module-level functions (``_sine_product_source``,
  ``_seed000_source`` (poisson2d_seed000's rounding of f),
  ``_sum_of_sines``, ``_kovasznay_solution``, ``_two_sines``).
- loss: ``jinns.loss.LossPDEStatio`` / ``LossPDENonStatio``; a jinns term is
  ``weight · mean_i Σ_c r_c(x_i)²``, its boundary term is the *sum over facets* of the
  facet means (so an ngflow weight w on a boundary split into F equal facets is jinns
  weight w/F), its initial term a mean. jinns' NGD weighs sample i of a term by
  ``sqrt(w / (n · n_eq))``; every term here is scalar (n_eq = 1), so the loss NGD
  minimises (jinns' reported train loss) equals ``loss.evaluate`` and ngflow's loss.
- data: ``jinns.data.CubicMeshPDEStatio`` / ``CubicMeshPDENonStatio`` (and
  ``DataGeneratorObservations`` where noted) whose point arrays are replaced with
  ``eqx.tree_at`` by ngflow's points, full batch for fixed points. Resampled entries
  (``ng.Box.sampler(n, every=1)``): ngflow's points of steps 0..K−1
  (``resample(b.problem, b.key, k)``, as ``ng.solve(key=b.key)`` draws them) are
  stacked into one pool of K·n points and jinns' minibatch of size n reads it in order:
  its counter is preset so that no reshuffle happens (jinns.solve calls ``get_batch``
  once before its loop and once per iteration), so jinns' iteration k uses exactly
  ngflow's step-k points. jinns alone would draw one pool and reshuffle it every epoch
  (same distribution, other points); injecting ngflow's draws makes the problem the
  same, not only the distribution.
- optimizer: ``jinns.optimizers.vanilla_ngd()`` with its defaults: SGD learning rate 1,
  ridge 1e-5 (``solve(G + 1e-5 I, g)``, G = Σ_i w_i ∇r_i ∇r_iᵀ over all terms), then
  ``optax.scale_by_backtracking_linesearch(max_backtracking_steps=15, verbose=True)``
  (Armijo backtracking from step 1, decrease 0.8, slope_rtol 1e-4) on the NGD loss of
  the current batch.
- loop: ``jinns.solve(n_iter=K, tracked_params=<all nn_params>, ahead_of_time=True)``:
  one compiled ``lax.while_loop``; stdout captured, "Training took" / "Compilation
  took" parsed. jinns stores the parameters after every iteration, so the error history
  is exact.

Checks (every run; the numbers are in the result):

- ``function_check``: max |u_jinns − u_ngflow| at θ0 (≤ 1e-12, else AssertionError);
- ``loss_check``: |L_jinns − L_ngflow| / L_ngflow at θ0, with L_jinns = jinns'
  ``loss.evaluate`` on the batch of iteration 0 and L_ngflow = ``b.problem.loss(model)``
  (for resampled entries the loss of ng.solve's step 0, ``resample(b.problem, b.key,
  0).loss``: ``b.problem``'s own points are a construction-time draw that no step uses);
  ≤ 1e-10, else AssertionError. Observed: ≤ 5e-16 on every entry (no constant factor);
- ``loss_trace_check``: max over iterations k of the relative difference between
  jinns' NGD train loss at θ_k (on its batch k) and ngflow's loss at θ_k on step k's
  points. It checks the points of every step and the objective; it grows as the loss
  falls (the residuals come from different AD code and agree to ~1e-13 absolutely);
  ``points_check`` is the same over iterations 0..4 (≤ 1e-8, else ``result`` says
  "set-up mismatch");
- ``jinns_peer_check`` (full-size ``poisson2d`` only): the relative difference of this
  set-up's jinns loss at θ0 and :func:`benchmarks.peers.jinns_peer.check_setup`'s (0.0).

Timing caveat (as jinns_peer): the loop is one compiled ``while_loop``, so there is no
per-iteration clock: ``ms_per_step`` is the *mean* ``Training took / K``.

Catalogue entries (all supported, exactly: same network, θ0, points at every step,
residuals and weights; ``loss_check`` ≤ 1e-10 relative, no constant multiple):

- ``poisson2d`` / ``poisson2d_seed000`` — supported. ``PDEStatio``:
  ``laplacian_rev(x) + 2π² sin πx sin πy``; ``jinns.loss.Dirichlet()`` on the
  ``boundary_grid`` points grouped into jinns' 4 facets (x = 0, x = 1, y = 0, y = 1) by
  walking the perimeter (each side takes the corner it starts at; m = n + 1 points per
  facet); weights ``dyn_loss = 1``, ``boundary_loss = w/4`` (w = 4, resp. 100); f
  rounded as each entry does. Fixed points, full batch. For poisson2d this is
  jinns_peer's set-up (the same loss at θ0).
- ``poisson5d`` / ``poisson10d`` (any ``poisson{d}d``) — supported. ``PDEStatio``:
  ``laplacian_rev(x) + π² Σ sin πx_i``. The boundary term u = Σ sin πx_i is a jinns
  *observation* term (``DataGeneratorObservations``, value g(b_j), residual
  g(b_j) − u(b_j), weight 1): jinns' ``CubicMeshPDEStatio`` cannot generate or hold
  boundary points for d > 2 (NotImplementedError) and ``Dirichlet()`` is u = 0 only.
  Interior and boundary points resampled as above (pools of K·2000 and K·250 points,
  quick K·400 and K·100; ``omega_batch_size`` / ``obs_batch_size`` the per-step
  counts).
- ``heat`` — supported. ``PDENonStatio``: ``∂_t u − ¼ laplacian_rev(t_x)`` (jinns'
  spatial Laplacian); ``initial_condition_fun(x) = sin πx`` at t0 = 0 (weight 100);
  ``Dirichlet()`` on the two sides x = 0, 1 (2 facets of n + 2 points, weight 100/2).
  Fixed points, full batch.
- ``wave`` — supported. ``PDENonStatio``: ``u_tt − u_xx`` from ``jax.hessian``;
  ``initial_condition_fun(x) = sin πx + ½ sin 3πx`` (weight 100); jinns has one
  initial condition (on u), so u_t(0, x) = 0 is the third facet of a
  ``BoundaryConditionAbstract`` subclass whose facets are x = 0, x = 1 (u = 0) and the
  t = 0 points (√2 · u_t = 0): 3 facets of n + 2 points, ``boundary_loss = 100/2``, the
  factor √2 = √(w_v/(w_bd/2)) giving the velocity term its weight 100. Fixed points.
- ``convection_diffusion`` — supported. ``PDEStatio`` in 1D:
  ``−ε laplacian_rev(x) + u'(x) − 1`` (ε = 0.05); ``Dirichlet()`` on jinns' 1D border
  {0, 1} (2 facets of one point, weight 1/2). Interior resampled as above (pool of
  K·200, quick K·100).
- ``burgers`` — supported. ``jinns.loss.BurgersEquation()`` (eq_params ν = 0.01/π,
  ``u_t + u u_x − ν u_xx`` by reverse-mode ``grad``); ``initial_condition_fun(x) =
  −sin πx`` (weight 10); ``Dirichlet()`` on x = ±1 (2 facets of 50, quick 20, weight
  10/2). Interior resampled as above (pool of K·1200, quick K·300); initial and side
  points fixed.
- ``kovasznay`` — supported. ``jinns.loss.NavierStokesMassConservation2DStatio()``
  (eq_params ρ = 1, ν = 1/Re) as a *tuple of 3 scalar dynamic losses* (x-, y-momentum,
  mass; each returns one component of jinns' residual; weights 1, 1, 1): with one
  3-vector term jinns' NGD weighs samples by 1/(3N) while ``loss.evaluate`` uses 1/N,
  so it cannot match ngflow's ``w/N Σ_i |R_i|²`` in both (the split costs the
  Navier-Stokes residual once per component). Boundary data u, v (whole boundary) and
  p (outlet x = 1) as 3 jinns observation sets (``obs_slice`` 0:1, 1:2, 2:3; values the
  exact solution; weights 1): ``Dirichlet()`` is u = 0 only and facets need equal
  point counts (the outlet has one more point than a side). Fixed points.
- ``least_squares`` — supported, although not a PDE: ``LossPDEStatio(dynamic_loss=None,
  boundary_condition=None)`` with one observation term (``DataGeneratorObservations``
  on ngflow's points, values g(x_i)), weight 0.5 for ngflow's ½ mean. ngflow's problem
  carries the ``ng.L2(points)`` metric; jinns' NGD builds its own Gram matrix, here
  ``0.5/N JᵀJ = ½ G_L2`` with gradient ``½ ∇L`` (the same Gauss-Newton direction up to
  the ridge 1e-5).

Per entry, ``settings`` lists the network, PDE, boundary/initial/observation terms,
loss weights, points, ``deviations`` (how the problem was expressed where jinns'
built-ins do not fit; none changes the problem) and the optimizer/loop/timing set-up.
What differs between the rows of the suite is the method (jinns' damped Gauss-Newton
with Armijo backtracking vs ngflow's natural gradient methods) and the implementation
(jinns computes per-sample Jacobians by ``jacrev`` of each term and the residuals by
reverse-mode AD), which is the comparison.
"""

import os


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before jax/numpy load OpenBLAS

import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from importlib.metadata import PackageNotFoundError, version as _version  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import ngflow as ng  # noqa: E402
from ngflow._domains import has_samplers, resample  # noqa: E402
from ngflow.problems import (
    _burgers as _B,  # noqa: E402
    _entries as _E,  # noqa: E402
)


LABEL = "jinns vanilla_ngd"
FUNCTION_TOL = 1e-12  # max |u_jinns − u_ngflow| at θ0
LOSS_TOL = 1e-10  # relative |L_jinns − L_ngflow| at θ0
POINTS_TOL = 1e-8  # relative, jinns' NGD loss vs ngflow's, iterates 0..4 (same points)

_SUPPORTED = (
    "least_squares",
    "poisson2d",
    "poisson2d_seed000",
    "poisson5d",
    "poisson10d",
    "heat",
    "wave",
    "convection_diffusion",
    "burgers",
    "kovasznay",
)


def _jinns_version():
    try:
        return _version("jinns")
    except PackageNotFoundError:
        return None


def available(name: str) -> bool | str:
    """True if the catalogue entry `name` can be run by jinns exactly; else the reason."""
    if _jinns_version() is None:
        return "jinns is not installed (pip install jinns==1.10.2, the `bench` extra)"
    if name in _SUPPORTED or re.fullmatch(r"poisson\d+d", str(name)):
        return True
    if name not in ng.problems.CATALOGUE:
        return f"{name!r} is not an entry of ng.problems.CATALOGUE"
    return f"{name!r}: no jinns set-up written for this entry"


# ---------------------------------------------------------------- helpers


class _Mismatch(NotImplementedError):
    pass


def _terms(b, spec):
    """The loss terms of `b.problem`, checked against `spec`: a tuple of (type, fn or
    None, sampled) per term; raises NotImplementedError if the entry has changed."""
    loss = b.problem.loss
    losses = getattr(loss, "losses", (loss,))
    if len(losses) != len(spec):
        raise _Mismatch(
            f"{b.name}: expected {len(spec)} loss terms, found {len(losses)}; the "
            "catalogue entry changed and the jinns set-up was not updated"
        )
    for term, (kind, fn, sampled) in zip(losses, spec, strict=True):
        ok = isinstance(term, kind)
        if ok and fn is not None:
            ok = getattr(term, "fn", getattr(term, "target", None)) is fn
        if ok and kind is ng.Residual:
            ok = (term.sampler is not None) == sampled
            if sampled:
                ok = ok and term.sampler.every == 1
        if not ok:
            raise _Mismatch(
                f"{b.name}: loss term {term!r:.80} is not the expected "
                f"{kind.__name__}({getattr(fn, '__name__', fn)}, sampled={sampled}); "
                "the catalogue entry changed and the jinns set-up was not updated"
            )
    return losses


def _weight(term):
    return float(term.weight)


@eqx.filter_jit
def _step_points(problem, key, index: int, steps: int):
    """The points of loss term `index` at steps 0..steps-1 of ng.solve, stacked."""

    def at(k):
        p = resample(problem, key, k)
        return p.loss.losses[index].points

    return jax.vmap(at)(jnp.arange(steps))


def _pool(b, index, steps):
    pts = _step_points(b.problem, b.key, index, steps)  # (steps, n, d)
    return pts.reshape(-1, pts.shape[-1]), int(pts.shape[1])


def _pinn(model, eq_type):
    import jinns

    u, nn_params = jinns.nn.PINN_MLP.create(eq_type=eq_type, eqx_network=model)
    return u, nn_params


def _clear_eq_params():
    """jinns registers one EqParams class per Python session, with the keys of the
    first Params built; different keys later fail (ValueError). `EqParams.clear()` is
    jinns' documented reset, done before each set-up and after each run."""
    from jinns.parameters._params import EqParams

    EqParams.clear()


def _params(nn_params, **eq_params):
    import jinns

    _clear_eq_params()
    return jinns.parameters.Params(
        nn_params=nn_params, eq_params={k: jnp.asarray(v) for k, v in eq_params.items()}
    )


def _scalar(u, params):
    return lambda z: jnp.squeeze(u(z, params))


def _start_at_zero(data, field, bs):
    """Set a jinns minibatch counter so that the k-th batch of the loop is rows
    [k·bs, (k+1)·bs) of the (unshuffled) pool: jinns.solve calls get_batch once before
    its loop (for shapes) and then once per iteration, and each call first advances
    the counter by bs; starting at −2·bs makes iteration 0 read rows [0, bs)."""
    return eqx.tree_at(lambda d: getattr(d, field), data, -2 * bs)


def _obs_data(pinn_in, values, batch_size=None):
    """A jinns.data.DataGeneratorObservations of one or more data sets; with
    `batch_size`, the pools are read in order (see `_start_at_zero`)."""
    import jinns

    obs = jinns.data.DataGeneratorObservations(
        key=jax.random.key(0),
        obs_batch_size=batch_size,
        observed_pinn_in=pinn_in,
        observed_values=values,
    )
    if batch_size is not None:
        obs = eqx.tree_at(
            lambda d: d.curr_idx, obs, tuple(-2 * batch_size for _ in obs.curr_idx)
        )
    return obs


def _statio_data(domain, dim, lo, hi, *, batch=None, border=None, nb=None):
    import jinns

    data = jinns.data.CubicMeshPDEStatio(
        key=jax.random.key(0),
        n=int(domain.shape[0]),
        nb=nb,
        omega_batch_size=batch,
        dim=dim,
        min_pts=tuple(float(v) for v in lo),
        max_pts=tuple(float(v) for v in hi),
        method="uniform",
    )
    data = eqx.tree_at(lambda d: d.omega, data, jnp.asarray(domain))
    if batch is not None:
        data = _start_at_zero(data, "curr_omega_idx", batch)
    if border is not None:
        data = eqx.tree_at(lambda d: d.omega_border, data, jnp.asarray(border))
    return data


def _nonstatio_data(domain, border, initial, *, batch=None):
    """Space-time (t, x) on [0, 1] × [lo, hi] (1D space)."""
    import jinns

    lo = float(jnp.min(initial))
    hi = float(jnp.max(initial))
    data = jinns.data.CubicMeshPDENonStatio(
        key=jax.random.key(0),
        n=int(domain.shape[0]),
        nb=2 * int(border.shape[0]),
        ni=int(initial.shape[0]),
        domain_batch_size=batch,
        dim=1,
        min_pts=(lo,),
        max_pts=(hi,),
        tmin=0.0,
        tmax=1.0,
        method="uniform",
    )
    data = eqx.tree_at(
        lambda d: (d.domain, d.border, d.initial),
        data,
        (jnp.asarray(domain), jnp.asarray(border), jnp.asarray(initial)),
    )
    if batch is not None:
        data = _start_at_zero(data, "curr_domain_idx", batch)
    return data


def _square_facets(points, lower, upper):
    """The boundary_grid(m) points of a rectangle (4m points) as jinns' (m, 2, 4) facet
    array, walking the perimeter: bottom from (x0, y0), right from (x1, y0), top from
    (x1, y1), left from (x0, y1), each side taking the corner it starts at. Returns the
    array and the permutation that it applies."""
    p = np.asarray(points)
    (x0, y0), (x1, y1) = np.asarray(lower), np.asarray(upper)
    x, y = p[:, 0], p[:, 1]
    sides = [
        np.flatnonzero((y == y0) & (x < x1))[np.argsort(x[(y == y0) & (x < x1)])],
        np.flatnonzero((x == x1) & (y < y1))[np.argsort(y[(x == x1) & (y < y1)])],
        np.flatnonzero((y == y1) & (x > x0))[np.argsort(-x[(y == y1) & (x > x0)])],
        np.flatnonzero((x == x0) & (y > y0))[np.argsort(-y[(x == x0) & (y > y0)])],
    ]
    m = len(sides[0])
    if any(len(s) != m for s in sides) or sum(map(len, sides)) != len(p):
        raise _Mismatch("boundary points are not a boundary_grid of the rectangle")
    bottom, right, top, left = (p[s] for s in sides)
    # jinns' facet order: x = x0, x = x1, y = y0, y = y1
    return jnp.asarray(np.stack([left, right, bottom, top], axis=-1)), m


# ---------------------------------------------------------------- set-ups


@dataclasses.dataclass
class _Setup:
    u: object
    params: object
    loss: object
    data: object
    obs_data: object
    settings: dict


def _loss_weights_statio(**kw):
    import jinns

    return jinns.loss.LossWeightsPDEStatio(**kw)


def _loss_weights_nonstatio(**kw):
    import jinns

    return jinns.loss.LossWeightsPDENonStatio(**kw)


def _setup_poisson2d(b, steps):
    import jinns

    # poisson2d_seed000 rounds f as seed 000's figure does; the same rounding here.
    seed000 = b.name == "poisson2d_seed000"
    residual = _E._seed000_interior if seed000 else _E._poisson2d_interior
    source = _E._seed000_source if seed000 else _E._sine_product_source
    interior, boundary = _terms(
        b,
        (
            (ng.Residual, residual, False),
            (ng.Residual, _E._zero_dirichlet, False),
        ),
    )
    w_in, w_bd = _weight(interior), _weight(boundary)
    border, m = _square_facets(boundary.points, (0.0, 0.0), (1.0, 1.0))
    u, nn = _pinn(b.problem.model, "PDEStatio")
    params = _params(nn)

    class Poisson(jinns.loss.PDEStatio):
        def equation(self, x, u, params):
            lap = jinns.loss.laplacian_rev(x, u, params, eq_type="PDEStatio")
            return jnp.reshape(lap + source(x), (1,))

    loss = jinns.loss.LossPDEStatio(
        u=u,
        loss_weights=_loss_weights_statio(dyn_loss=w_in, boundary_loss=w_bd / 4),
        dynamic_loss=Poisson(),
        boundary_condition=jinns.loss.Dirichlet(),
        params=params,
    )
    data = _statio_data(interior.points, 2, (0, 0), (1, 1), border=border, nb=4 * m)
    settings = dict(
        network="jinns.nn.PINN_MLP.create(eq_type='PDEStatio', eqx_network=b.problem.model)",
        pde="PDEStatio: jinns.loss.laplacian_rev(x) + 2π² sin πx sin πy (trace of Hessian)",
        boundary=f"jinns.loss.Dirichlet() on 4 facets of {m} points (perimeter walk, "
        "each side takes the corner it starts at)",
        loss_weights=f"dyn_loss={w_in:g}, boundary_loss={w_bd:g}/4 (jinns sums the 4 "
        f"facet means: (w/4)·Σ_f mean_f = w·mean over the {4 * m} points)",
        points=f"fixed: ngflow's {interior.points.shape[0]} interior and {4 * m} "
        "boundary points, full batch",
    )
    return _Setup(u, params, loss, data, None, settings)


def _setup_poisson_cube(b, steps):
    import jinns

    interior, boundary = _terms(
        b,
        (
            (ng.Residual, _E._poisson_interior, True),
            (ng.Residual, _E._poisson_boundary, True),
        ),
    )
    w_in, w_bd = _weight(interior), _weight(boundary)
    dim = int(interior.points.shape[1])
    pool_in, n_in = _pool(b, 0, steps)
    pool_bd, n_bd = _pool(b, 1, steps)
    u, nn = _pinn(b.problem.model, "PDEStatio")
    params = _params(nn)

    class Poisson(jinns.loss.PDEStatio):
        def equation(self, x, u, params):
            lap = jinns.loss.laplacian_rev(x, u, params, eq_type="PDEStatio")
            f = _E.PI**2 * jnp.sum(jnp.sin(_E.PI * x))
            return jnp.reshape(lap + f, (1,))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Missing boundary condition."
        loss = jinns.loss.LossPDEStatio(
            u=u,
            loss_weights=_loss_weights_statio(dyn_loss=w_in, observations=w_bd),
            dynamic_loss=Poisson(),
            boundary_condition=None,
            params=params,
        )
    data = _statio_data(pool_in, dim, [0.0] * dim, [1.0] * dim, batch=n_in)
    g = jax.vmap(_E._sum_of_sines)(pool_bd)[:, None]
    obs = _obs_data(pool_bd, g, batch_size=n_bd)
    settings = dict(
        network="jinns.nn.PINN_MLP.create(eq_type='PDEStatio', eqx_network=b.problem.model)",
        pde=f"PDEStatio: jinns.loss.laplacian_rev(x) + π² Σ sin πx_i, d = {dim}",
        boundary="u = Σ sin πx_i as a jinns observation term (DataGeneratorObservations, "
        "value g(b_j) at the boundary points, residual g(b_j) − u(b_j)): jinns' "
        f"CubicMeshPDEStatio cannot generate or hold boundary points for d = {dim} > 2 "
        "(NotImplementedError), and its Dirichlet() is u = 0 only",
        loss_weights=f"dyn_loss={w_in:g}, observations={w_bd:g}",
        points=f"resampled: the points of ng.solve(key=b.key) at every step ({n_in} "
        f"interior + {n_bd} boundary), stacked into pools of {steps}×{n_in} and "
        f"{steps}×{n_bd} and read in order as jinns minibatches (omega_batch_size="
        f"{n_in}, obs_batch_size={n_bd}; counters preset, no shuffle): iteration k "
        "uses exactly ngflow's step-k points",
    )
    return _Setup(u, params, loss, data, obs, settings)


def _setup_convection_diffusion(b, steps):
    import jinns

    interior, boundary = _terms(
        b,
        (
            (ng.Residual, _E._convection_diffusion, True),
            (ng.Residual, _E._zero_dirichlet, False),
        ),
    )
    w_in, w_bd = _weight(interior), _weight(boundary)
    if not np.array_equal(np.asarray(boundary.points).ravel(), [0.0, 1.0]):
        raise _Mismatch("convection_diffusion: boundary points are not {0, 1}")
    pool_in, n_in = _pool(b, 0, steps)
    u, nn = _pinn(b.problem.model, "PDEStatio")
    params = _params(nn)
    eps = _E.EPSILON

    class ConvectionDiffusion(jinns.loss.PDEStatio):
        def equation(self, x, u, params):
            du = jax.grad(_scalar(u, params))(x)[0]
            lap = jinns.loss.laplacian_rev(x, u, params, eq_type="PDEStatio")
            return jnp.reshape(-eps * lap + du - 1.0, (1,))

    loss = jinns.loss.LossPDEStatio(
        u=u,
        loss_weights=_loss_weights_statio(dyn_loss=w_in, boundary_loss=w_bd / 2),
        dynamic_loss=ConvectionDiffusion(),
        boundary_condition=jinns.loss.Dirichlet(),
        params=params,
    )
    data = _statio_data(pool_in, 1, (0.0,), (1.0,), batch=n_in, nb=2)
    settings = dict(
        network="jinns.nn.PINN_MLP.create(eq_type='PDEStatio', eqx_network=b.problem.model)",
        pde=f"PDEStatio: −ε laplacian_rev(x) + jax.grad(u)(x) − 1, ε = {eps}",
        boundary="jinns.loss.Dirichlet() on jinns' 1D border {0, 1} (2 facets of 1 point)",
        loss_weights=f"dyn_loss={w_in:g}, boundary_loss={w_bd:g}/2 (sum of the 2 facets "
        "= 2 × mean)",
        points=f"resampled interior: the points of ng.solve(key=b.key) at every step "
        f"({n_in}), a pool of {steps}×{n_in} read in order (omega_batch_size={n_in}, "
        "counter preset, no shuffle): iteration k uses exactly ngflow's step-k points",
    )
    return _Setup(u, params, loss, data, None, settings)


def _space_time_border(sides, extra=None):
    """ngflow's side points (x = lo then x = hi, equal counts) as jinns' (m, 2, F)
    non-stationary border; `extra` (m, 2) is appended as a third facet."""
    s = np.asarray(sides)
    xs = np.unique(s[:, 1])
    if len(xs) != 2:
        raise _Mismatch("side points are not on two lines x = const")
    facets = [s[s[:, 1] == v] for v in xs]
    facets = [f[np.argsort(f[:, 0])] for f in facets]
    if extra is not None:
        facets.append(np.asarray(extra))
    m = len(facets[0])
    if any(len(f) != m for f in facets):
        raise _Mismatch("facets of unequal size")
    return jnp.asarray(np.stack(facets, axis=-1)), m


def _setup_heat(b, steps):
    import jinns

    pde, initial, sides = _terms(
        b,
        (
            (ng.Residual, _E._heat, False),
            (ng.Residual, _E._sine_initial, False),
            (ng.Residual, _E._zero_dirichlet, False),
        ),
    )
    w_in, w_ic, w_bd = _weight(pde), _weight(initial), _weight(sides)
    t0 = np.asarray(initial.points)
    if not np.all(t0[:, 0] == 0.0):
        raise _Mismatch("heat: initial points are not at t = 0")
    border, m = _space_time_border(sides.points)
    u, nn = _pinn(b.problem.model, "PDENonStatio")
    params = _params(nn)

    class Heat(jinns.loss.PDENonStatio):
        def equation(self, t_x, u, params):
            du_dt = jax.grad(_scalar(u, params))(t_x)[0]
            lap = jinns.loss.laplacian_rev(t_x, u, params, eq_type="PDENonStatio")
            return jnp.reshape(du_dt - 0.25 * lap, (1,))

    loss = jinns.loss.LossPDENonStatio(
        u=u,
        loss_weights=_loss_weights_nonstatio(
            dyn_loss=w_in, initial_condition=w_ic, boundary_loss=w_bd / 2
        ),
        dynamic_loss=Heat(),
        boundary_condition=jinns.loss.Dirichlet(),
        initial_condition_fun=lambda x: jnp.sin(_E.PI * x),
        t0=0.0,
        params=params,
    )
    data = _nonstatio_data(pde.points, border, t0[:, 1:])
    settings = dict(
        network="jinns.nn.PINN_MLP.create(eq_type='PDENonStatio', eqx_network=b.problem.model); input (t, x)",
        pde="PDENonStatio: jax.grad(u)(t, x)[0] − ¼ laplacian_rev(t_x) (spatial Laplacian)",
        initial="initial_condition_fun(x) = sin πx at t0 = 0 (jinns' initial term)",
        boundary=f"jinns.loss.Dirichlet() on the 2 sides x = 0, 1 ({m} points each)",
        loss_weights=f"dyn_loss={w_in:g}, initial_condition={w_ic:g}, "
        f"boundary_loss={w_bd:g}/2 (sum of 2 facet means)",
        points=f"fixed: ngflow's {pde.points.shape[0]} interior, {t0.shape[0]} initial "
        f"and {2 * m} side points, full batch",
    )
    return _Setup(u, params, loss, data, None, settings)


def _setup_wave(b, steps):
    import jinns

    pde, initial, velocity, sides = _terms(
        b,
        (
            (ng.Residual, _E._wave, False),
            (ng.Residual, _E._wave_initial, False),
            (ng.Residual, _E._wave_initial_velocity, False),
            (ng.Residual, _E._zero_dirichlet, False),
        ),
    )
    w_in, w_ic, w_v, w_bd = map(_weight, (pde, initial, velocity, sides))
    t0 = np.asarray(initial.points)
    if not (np.all(t0[:, 0] == 0.0) and np.array_equal(t0, velocity.points)):
        raise _Mismatch("wave: initial points differ from the velocity points")
    border, m = _space_time_border(sides.points, extra=t0)
    u, nn = _pinn(b.problem.model, "PDENonStatio")
    params = _params(nn)
    c2 = _E.WAVE_SPEED**2
    # one boundary weight for all facets: the velocity facet's residual is scaled so
    # that (w_bd/2)·mean(s·u_t)² = w_v·mean u_t²
    scale = float(np.sqrt(w_v / (w_bd / 2)))

    class Wave(jinns.loss.PDENonStatio):
        def equation(self, t_x, u, params):
            h = jax.hessian(_scalar(u, params))(t_x)
            return jnp.reshape(h[0, 0] - c2 * h[1, 1], (1,))

    class SidesAndVelocity(jinns.loss.BoundaryConditionAbstract):
        """Facets 0, 1: u = 0 on x = 0, 1; facet 2: u_t = 0 at t = 0."""

        def equation_u(self, inputs, u, params):
            du_dt = jax.grad(_scalar(u, params))(inputs[:, 2])[0]
            return (
                u(inputs[:, 0], params),
                u(inputs[:, 1], params),
                scale * jnp.reshape(du_dt, (1,)),
            )

        def equation_f(self, inputs, params, gridify=False):
            return tuple(jnp.zeros((1,)) for _ in range(3))

    loss = jinns.loss.LossPDENonStatio(
        u=u,
        loss_weights=_loss_weights_nonstatio(
            dyn_loss=w_in, initial_condition=w_ic, boundary_loss=w_bd / 2
        ),
        dynamic_loss=Wave(),
        boundary_condition=SidesAndVelocity(),
        initial_condition_fun=lambda x: (
            jnp.sin(_E.PI * x) + 0.5 * jnp.sin(3 * _E.PI * x)
        ),
        t0=0.0,
        params=params,
    )
    data = _nonstatio_data(pde.points, border, t0[:, 1:])
    settings = dict(
        network="jinns.nn.PINN_MLP.create(eq_type='PDENonStatio', eqx_network=b.problem.model); input (t, x)",
        pde="PDENonStatio: u_tt − c² u_xx from jax.hessian(u)(t, x), c = 1",
        initial="initial_condition_fun(x) = sin πx + ½ sin 3πx at t0 = 0",
        boundary=f"a jinns BoundaryConditionAbstract subclass on 3 facets of {m} points: "
        "u = 0 on x = 0 and x = 1, and the initial velocity u_t = 0 on the t = 0 points "
        "(jinns has one initial condition, on u only, so u_t(0, x) = 0 goes in the "
        f"boundary term); the velocity residual is multiplied by √(w_v/(w_bd/2)) = "
        f"{scale:g} because jinns has one weight for all facets",
        loss_weights=f"dyn_loss={w_in:g}, initial_condition={w_ic:g}, "
        f"boundary_loss={w_bd:g}/2",
        points=f"fixed: ngflow's {pde.points.shape[0]} interior, {m} initial (used for "
        f"u and u_t) and {2 * m} side points, full batch",
    )
    return _Setup(u, params, loss, data, None, settings)


def _setup_burgers(b, steps):
    import jinns

    pde, initial, sides = _terms(
        b,
        (
            (ng.Residual, _B._burgers, True),
            (ng.Residual, _B._burgers_initial, False),
            (ng.Residual, _B._zero_dirichlet, False),
        ),
    )
    w_in, w_ic, w_bd = _weight(pde), _weight(initial), _weight(sides)
    t0 = np.asarray(initial.points)
    if not np.all(t0[:, 0] == 0.0):
        raise _Mismatch("burgers: initial points are not at t = 0")
    border, m = _space_time_border(sides.points)
    pool_in, n_in = _pool(b, 0, steps)
    u, nn = _pinn(b.problem.model, "PDENonStatio")
    params = _params(nn, nu=_B.VISCOSITY)
    loss = jinns.loss.LossPDENonStatio(
        u=u,
        loss_weights=_loss_weights_nonstatio(
            dyn_loss=w_in, initial_condition=w_ic, boundary_loss=w_bd / 2
        ),
        dynamic_loss=jinns.loss.BurgersEquation(),
        boundary_condition=jinns.loss.Dirichlet(),
        initial_condition_fun=lambda x: -jnp.sin(_B.PI * x),
        t0=0.0,
        params=params,
    )
    data = _nonstatio_data(pool_in, border, t0[:, 1:], batch=n_in)
    settings = dict(
        network="jinns.nn.PINN_MLP.create(eq_type='PDENonStatio', eqx_network=b.problem.model); input (t, x)",
        pde="jinns.loss.BurgersEquation() (u_t + u u_x − ν u_xx by reverse-mode grad), "
        "eq_params nu = 0.01/π",
        initial="initial_condition_fun(x) = −sin πx at t0 = 0",
        boundary=f"jinns.loss.Dirichlet() on the 2 sides x = ±1 ({m} points each)",
        loss_weights=f"dyn_loss={w_in:g}, initial_condition={w_ic:g}, "
        f"boundary_loss={w_bd:g}/2",
        points=f"interior resampled: the points of ng.solve(key=b.key) at every step "
        f"({n_in}), a pool of {steps}×{n_in} read in order (domain_batch_size={n_in}, "
        f"counter preset, no shuffle); fixed {t0.shape[0]} initial and {2 * m} side points",
    )
    return _Setup(u, params, loss, data, None, settings)


def _setup_kovasznay(b, steps):
    import jinns

    pde, velocity, pressure = _terms(
        b,
        (
            (ng.Residual, _E._navier_stokes, False),
            (ng.Residual, _E._kovasznay_velocity, False),
            (ng.Residual, _E._kovasznay_pressure, False),
        ),
    )
    w = tuple(map(_weight, (pde, velocity, pressure)))
    u, nn = _pinn(b.problem.model, "PDEStatio")
    params = _params(nn, rho=1.0, nu=1.0 / _E.REYNOLDS)
    ns = jinns.loss.NavierStokesMassConservation2DStatio()

    class Component(jinns.loss.PDEStatio):
        """Component c of jinns' Navier-Stokes residual (x-, y-momentum, mass)."""

        c: int = eqx.field(static=True, kw_only=True)

        def equation(self, x, u, params):
            return ns.equation(x, u, params)[self.c : self.c + 1]

    edge = jnp.asarray(velocity.points)
    outlet = jnp.asarray(pressure.points)
    ref_edge = jax.vmap(_E._kovasznay_solution)(edge)
    ref_out = jax.vmap(_E._kovasznay_solution)(outlet)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Missing boundary condition."
        loss = jinns.loss.LossPDEStatio(
            u=u,
            loss_weights=_loss_weights_statio(
                dyn_loss=(w[0], w[0], w[0]), observations=(w[1], w[1], w[2])
            ),
            dynamic_loss=tuple(Component(c=c) for c in range(3)),
            boundary_condition=None,
            obs_slice=(jnp.s_[0:1], jnp.s_[1:2], jnp.s_[2:3]),
            params=params,
        )
    lo = np.min(np.asarray(b.points), axis=0)
    hi = np.max(np.asarray(b.points), axis=0)
    data = _statio_data(pde.points, 2, lo, hi)
    obs = _obs_data(
        (edge, edge, outlet), (ref_edge[:, 0:1], ref_edge[:, 1:2], ref_out[:, 2:3])
    )
    settings = dict(
        network="jinns.nn.PINN_MLP.create(eq_type='PDEStatio', eqx_network=b.problem.model); output (u, v, p)",
        pde="jinns.loss.NavierStokesMassConservation2DStatio() (eq_params rho = 1, "
        "nu = 1/Re), as a tuple of 3 scalar dynamic losses (x-, y-momentum, mass), "
        "each a slice of jinns' residual: jinns' NGD weighs a vector residual by "
        "1/(N·3) while loss.evaluate weighs it by 1/N, so one 3-vector term cannot "
        "match ngflow's w/N Σ_i |R_i|² in both; three scalar terms of weight w do",
        boundary="u and v on the whole boundary and p on the outlet as 3 jinns "
        "observation data sets (obs_slice 0:1, 1:2, 2:3, values the exact solution): "
        "jinns' Dirichlet() is u = 0 only and its facets need equal point counts "
        "(the outlet has one point more than a side)",
        loss_weights=f"dyn_loss=({w[0]:g},)*3, observations=({w[1]:g}, {w[1]:g}, {w[2]:g})",
        points=f"fixed: ngflow's {pde.points.shape[0]} interior, {edge.shape[0]} "
        f"boundary and {outlet.shape[0]} outlet points, full batch",
        cost_note="the 3 scalar dynamic losses each evaluate jinns' full Navier-Stokes "
        "residual (XLA may or may not merge the repeated forward work)",
    )
    return _Setup(u, params, loss, data, obs, settings)


def _setup_least_squares(b, steps):
    (term,) = _terms(b, ((ng.LeastSquares, _E._two_sines, False),))
    pts = jnp.asarray(term.points)
    n = pts.shape[0]
    if not np.allclose(np.asarray(term.weights), 1.0 / n, rtol=1e-15, atol=0):
        raise _Mismatch("least_squares: quadrature weights are not 1/N")
    import jinns

    u, nn = _pinn(b.problem.model, "PDEStatio")
    params = _params(nn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Missing boundary condition."
        loss = jinns.loss.LossPDEStatio(
            u=u,
            loss_weights=_loss_weights_statio(observations=0.5),
            dynamic_loss=None,
            boundary_condition=None,
            params=params,
        )
    data = _statio_data(pts, 2, (0.0, 0.0), (1.0, 1.0))
    obs = _obs_data(pts, jax.vmap(_E._two_sines)(pts)[:, None])
    settings = dict(
        network="jinns.nn.PINN_MLP.create(eq_type='PDEStatio', eqx_network=b.problem.model)",
        pde="none: jinns.loss.LossPDEStatio(dynamic_loss=None, boundary_condition=None) "
        "with only an observation term (jinns' data-fitting loss)",
        observations=f"DataGeneratorObservations on ngflow's {n} points, values g(x_i), "
        "residual g(x_i) − u(x_i), full batch",
        loss_weights="observations=0.5 (ngflow's ½ mean; jinns' mean has no ½)",
        points=f"fixed: ngflow's {n} points (jinns' domain batch is unused)",
        metric_note="ngflow's problem uses ng.L2(points); jinns' NGD Gram matrix is "
        "0.5/N·JᵀJ = ½ G_L2 with gradient ½∇L: the same direction up to the ridge",
    )
    return _Setup(u, params, loss, data, obs, settings)


_BUILDERS = {
    "least_squares": _setup_least_squares,
    "poisson2d": _setup_poisson2d,
    "poisson2d_seed000": _setup_poisson2d,
    "heat": _setup_heat,
    "wave": _setup_wave,
    "convection_diffusion": _setup_convection_diffusion,
    "burgers": _setup_burgers,
    "kovasznay": _setup_kovasznay,
}


_INJECTED = (
    "the per-step points are ngflow's own draws (resample(b.problem, b.key, k)), "
    "injected as ordered jinns minibatches; jinns by itself would draw one pool of "
    "points once and reshuffle it per epoch (same distribution, other points)"
)

_DEVIATIONS = {
    _setup_poisson2d: "none: same network, points and weights; the boundary points are "
    "grouped into jinns' 4 facets",
    _setup_poisson_cube: "the Dirichlet term is a jinns observation term (the same "
    "residual u − g at the same points with the same weight); " + _INJECTED,
    _setup_convection_diffusion: "none in the problem; " + _INJECTED,
    _setup_heat: "none: same network, points and weights",
    _setup_wave: "the initial-velocity term u_t(0, x) = 0 is a third facet of a custom "
    "jinns boundary condition, its residual scaled by √(w_v/(w_bd/2)) so that one "
    "boundary weight gives both terms their weight (exact)",
    _setup_burgers: "none in the problem; " + _INJECTED,
    _setup_kovasznay: "the vector PDE residual is 3 scalar jinns dynamic losses and the "
    "boundary data are 3 jinns observation sets (exact loss; the Navier-Stokes residual "
    "is evaluated once per component)",
    _setup_least_squares: "not a PDE: a jinns loss with only an observation term, weight "
    "0.5 for ngflow's ½; ngflow's problem has the ng.L2(points) metric, jinns' NGD uses "
    "its own Gram matrix (½ G_L2 with gradient ½∇L: the same direction up to the ridge)",
}


def build(b, steps=None):
    """The jinns set-up (network, params, loss, data, observations, settings) of `b`
    for `steps` iterations (default `b.steps`; resampled entries need the number of
    steps to stack their points). Raises NotImplementedError where jinns cannot express
    the entry exactly."""
    reason = available(b.name)
    if reason is not True:
        raise NotImplementedError(reason)
    steps = b.steps if steps is None else int(steps)
    make = _BUILDERS.get(b.name)
    if make is None and re.fullmatch(r"poisson\d+d", b.name):
        make = _setup_poisson_cube
    setup = make(b, steps)
    setup.settings["deviations"] = _DEVIATIONS[make]
    return setup


# ---------------------------------------------------------------- checks and run


def _first_batch(s):
    """The batch of jinns' iteration 0, drawn as jinns.solve draws it (one get_batch
    before the loop, one at the start of iteration 0)."""
    from jinns.data._utils import append_obs_batch

    data, obs = s.data, s.obs_data
    for _ in range(2):
        data, batch = data.get_batch()
        if obs is not None:
            obs, obs_batch = obs.get_batch()
            batch = append_obs_batch(batch, obs_batch)
    return batch


def _problem_at(b, k):
    return resample(b.problem, b.key, k) if has_samplers(b.problem) else b.problem


def check_setup(b, s=None):
    """max |u_jinns − u_ngflow| on 64 evaluation points, and jinns' loss at θ0 (its
    `loss.evaluate` on iteration 0's batch) against ngflow's loss of step 0."""
    s = build(b) if s is None else s
    model = b.problem.model
    x = b.points[:: max(1, b.points.shape[0] // 64)][:64]
    uj = jax.vmap(lambda z: s.u(z, s.params))(x)
    un = jax.vmap(model)(x).reshape(uj.shape)
    du = float(jnp.max(jnp.abs(uj - un)))
    lj, _ = s.loss(s.params, _first_batch(s))
    ln = _problem_at(b, 0).loss(model)
    return du, float(lj), float(ln)


def _peer_cross_check(b, loss_jinns):
    """For the full-size `poisson2d` (the problem of benchmarks/peers/problem.py):
    the relative difference between this set-up's jinns loss at θ0 and that of
    :mod:`benchmarks.peers.jinns_peer` (its own jinns set-up of the same problem);
    None for other entries."""
    if b.name != "poisson2d":
        return None
    from . import jinns_peer, problem as P

    flat = ng.FlatModel(b.problem.model)
    same_points = b.problem.loss.losses[0].points.shape[0] == P.N_INT
    if not (same_points and bool(jnp.array_equal(flat.theta0, P.init_params(b.seed)))):
        return None
    _, lj_peer, _ = jinns_peer.check_setup(b.seed)
    return abs(loss_jinns - lj_peer) / abs(lj_peer)


@eqx.filter_jit
def _errors(error, flat, thetas):
    return jax.lax.map(lambda t: error(flat.model_at(t)), thetas)


@eqx.filter_jit
def _ngflow_losses(problem, flat, key, thetas, sampled: bool):
    def one(args):
        k, t = args
        p = resample(problem, key, k) if sampled else problem
        return p.loss(flat.model_at(t))

    return jax.lax.map(one, (jnp.arange(thetas.shape[0]), thetas))


def _parse(text, what):
    m = re.search(what + r" took\s+([0-9.eE+-]+)", text)
    return float(m.group(1)) if m else None


def run(b, *, steps=None) -> dict:
    """jinns' vanilla_ngd (defaults) on catalogue entry `b` from b's initial model,
    for `steps` iterations (default `b.steps`) on the same points and weights.

    Returns dict(iterations, errors, final_error, ms_per_step, wall_s, steps,
    settings, loss_check, ...); see the module docstring. Raises NotImplementedError
    (with the reason) where `available(b.name)` is not True."""
    steps = b.steps if steps is None else int(steps)
    if steps < 1:
        raise ValueError("run: steps must be >= 1")
    reason = available(b.name)
    if reason is not True:
        raise NotImplementedError(reason)
    try:
        return _run(b, steps)
    finally:
        _clear_eq_params()


def _run(b, steps):
    import jinns

    s = build(b, steps)
    du, lj, ln = check_setup(b, s)
    loss_check = abs(lj - ln) / abs(ln)
    if du > FUNCTION_TOL or loss_check > LOSS_TOL:
        raise AssertionError(
            f"jinns set-up of {b.name} differs from the problem: max|Δu| = {du:.3e}, "
            f"jinns loss {lj!r} vs ngflow {ln!r} (rel. {loss_check:.3e})"
        )
    flat = ng.FlatModel(b.problem.model)
    theta_j0 = ravel_pytree(s.params.nn_params)[0]
    if not bool(jnp.array_equal(theta_j0, flat.theta0)):
        raise AssertionError("jinns' parameter vector is not ngflow's θ0")

    tx = jinns.optimizers.vanilla_ngd()
    tracked = jax.tree.map(lambda _: True, s.params)
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = jinns.solve(
            n_iter=steps,
            init_params=s.params,
            data=s.data,
            loss=s.loss,
            optimizer=tx,
            tracked_params=tracked,
            obs_data=s.obs_data,
            print_loss_every=steps,
            verbose=True,
            ahead_of_time=True,
        )
        jax.block_until_ready(out[0])
    total_s = time.perf_counter() - t0
    text = buf.getvalue()
    train_s, compile_s = _parse(text, "Training"), _parse(text, "Compilation")

    stored = out[6].nn_params
    flat_hist = jax.vmap(lambda p: ravel_pytree(p)[0])(stored)  # (steps, p)
    finite = np.asarray(jnp.all(jnp.isfinite(flat_hist), axis=1))
    bad = np.flatnonzero(~finite)
    done = steps if bad.size == 0 else int(bad[0]) + 1  # iterations jinns ran
    thetas = jnp.concatenate([flat.theta0[None], flat_hist[:done]])
    errs = np.asarray(_errors(b.error, flat, thetas))
    train_losses = np.asarray(out[1][:done])

    # jinns' NGD loss at θ_k on its batch k against ngflow's loss at θ_k on step k's
    # points: checks the points of every step and the objective NGD minimises
    ok = np.isfinite(train_losses)
    ref = np.asarray(
        _ngflow_losses(b.problem, flat, b.key, thetas[:done], has_samplers(b.problem))
    )
    rel = np.abs(train_losses - ref) / np.maximum(np.abs(ref), 1e-300)
    trace_check = float(np.max(rel[ok])) if ok.any() else float("nan")
    first = min(done, 5)
    head = rel[:first][ok[:first]]
    points_check = float(np.max(head)) if head.size else float("nan")

    if not points_check <= POINTS_TOL:
        result = (
            f"set-up mismatch: jinns' loss differs from ngflow's on the points of the "
            f"first iterations (rel. {points_check:.2e})"
        )
    elif bad.size:
        result = f"non-finite parameters at iteration {done} (jinns stopped)"
    else:
        result = "successful"
    settings = dict(
        jinns=_jinns_version(),
        **s.settings,
        optimizer="jinns.optimizers.vanilla_ngd() defaults: sgd_learning_rate=1.0, "
        "gram_reg=1e-5 (solve(G + 1e-5 I, g)), optax.scale_by_backtracking_linesearch("
        "max_backtracking_steps=15, verbose=True)",
        ngd_weights="per sample sqrt(w_term / (n_term · n_eq)); every term here is "
        "scalar (n_eq = 1), so jinns' NGD objective equals loss.evaluate and ngflow's loss",
        loop="jinns.solve(n_iter=steps, ahead_of_time=True, tracked_params=all "
        "nn_params): one compiled lax.while_loop",
        timing="ms_per_step = 'Training took' / iterations run (mean over the compiled loop, "
        "no per-iteration clock; compilation excluded)",
        loss_check_reference=(
            "ngflow: resample(b.problem, b.key, 0).loss (the loss of ng.solve's step 0)"
            if has_samplers(b.problem)
            else "ngflow: b.problem.loss(b.problem.model)"
        )
        + "; jinns: loss.evaluate(params0, batch of iteration 0)",
    )
    res = dict(
        label=LABEL,
        iterations=list(range(done + 1)),
        errors=errs.tolist(),
        final_error=float(errs[-1]) if np.isfinite(errs[-1]) else float("nan"),
        ms_per_step=(train_s / done * 1e3) if train_s is not None else float("nan"),
        wall_s=train_s if train_s is not None else total_s,
        steps=done,
        settings=settings,
        loss_check=loss_check,
        function_check=du,
        jinns_peer_check=_peer_cross_check(b, lj),
        loss_trace_check=trace_check,
        compile_s=compile_s,
        total_s=total_s,
        linesearch_failure_messages=text.count("linesearch failed"),
        points_check=points_check,
        result=result,
        jinns_train_loss_last=float(train_losses[-1]) if done else None,
    )
    return res
