"""PyPI ``jinns``: ``jinns.optimizers.vanilla_ngd`` through ``jinns.solve``.

Set-up (jinns' own classes; every point, weight and initial value equal to
:mod:`benchmarks.peers.problem`):

- network: ``jinns.nn.PINN_MLP.create(eq_type="PDEStatio", eqx_list=((eqx.nn.Linear, 2,
  32), (jax.nn.tanh,), (eqx.nn.Linear, 32, 1)))``; its ``nn_params`` are then replaced by
  ``problem.init_params(seed)`` (the flattening order of the two ``eqx.nn.Linear`` is
  exactly the problem's layout; checked at run time against ``problem.u``);
- PDE: a ``jinns.loss.PDEStatio`` subclass whose ``equation`` returns
  ``laplacian_rev(x, u, params) + f(x)`` (jinns' default trace-of-Hessian Laplacian);
  boundary: ``jinns.loss.Dirichlet()``;
- loss: ``jinns.loss.LossPDEStatio`` with ``LossWeightsPDEStatio(dyn_loss=1,
  boundary_loss=1)``. jinns sums the boundary term over the 4 facets, each a mean over
  its 29 points, so the boundary term is ``4 * mean_j u(b_j)²`` and the total loss equals
  ``problem.loss`` (checked at run time); NGD then uses per-sample weights
  ``1/N_Ω`` (interior) and ``1/29 = 4/N_∂`` (boundary): the reference ENGD Gram matrix;
- data: a ``jinns.data.CubicMeshPDEStatio(n=784, nb=116, dim=2)`` whose ``omega`` and
  ``omega_border`` arrays are replaced (``eqx.tree_at``) by the problem's points (jinns'
  own "grid" method puts interior points on the boundary and draws boundary points at
  random). The 116 boundary points are assigned to jinns' facets (x=0, x=1, y=0, y=1),
  29 each; corners go with the side that starts at them. No batching (full batch);
- optimizer: ``jinns.optimizers.vanilla_ngd()`` with its defaults: SGD learning rate 1,
  ridge 1e-5 on G (``solve(G + 1e-5 I, g)``), then
  ``optax.scale_by_backtracking_linesearch(max_backtracking_steps=15, verbose=True)``
  (decrease 0.8, increase 1.5, max learning rate 1, slope_rtol 1e-4);
- loop: ``jinns.solve(n_iter=iters, ..., tracked_params=<all nn_params>,
  ahead_of_time=True)``: jinns compiles the whole loop (a ``lax.while_loop``) ahead of
  time and prints "Compilation took" / "Training took"; stdout is captured and the
  training time parsed. jinns stores the parameters after every iteration, so the
  error history is exact.

Timing caveat: the loop is one compiled ``while_loop``, so there is no per-iteration
clock. ``ms_per_iter_median`` is the *mean* ``Training took / iters`` of the run (the
field name is kept for a uniform table) and ``time_to_1e-7_s`` is ``k * mean`` for the
first iteration k that reaches the error. jinns' NGD step evaluates the linesearch loss
with ``loss.evaluate_per_sample``, and its NGD state keeps the Armijo "value" as the full
loss while the gradient it passes is ``½ ∇loss`` (jinns' ``J^T r`` with the weights
above); the iteration is nevertheless the damped Gauss-Newton / ENGD step with step 1
tried first.
"""

import contextlib
import io
import re
from importlib.metadata import version as _version

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from . import problem as P


def _facet_border():
    """The problem's boundary points as jinns' (29, 2, 4) array (x=0, x=1, y=0, y=1)."""
    b = np.asarray(P.X_BDRY).reshape(4, P.N_GRID, 2)  # bottom, right, top, left
    bottom, right, top, left = b
    facets = [left, right, bottom, top]  # x=0, x=1, y=0, y=1
    return jnp.asarray(np.stack(facets, axis=-1))  # (29, 2, 4)


def build(seed: int):
    import equinox as eqx
    import jinns

    eqx_list = (
        (eqx.nn.Linear, 2, P.WIDTH),
        (jax.nn.tanh,),
        (eqx.nn.Linear, P.WIDTH, 1),
    )
    u, nn_params = jinns.nn.PINN_MLP.create(
        key=jax.random.key(0), eqx_list=eqx_list, eq_type="PDEStatio"
    )
    flat, unravel = ravel_pytree(nn_params)
    assert flat.shape == (P.NUM_PARAMS,), flat.shape
    theta0 = P.init_params(seed)
    nn_params = unravel(theta0)
    params = jinns.parameters.Params(nn_params=nn_params, eq_params={})

    class Poisson(jinns.loss.PDEStatio):
        def equation(self, x, u, params):
            lap = jinns.loss.laplacian_rev(x, u, params, eq_type="PDEStatio")
            return jnp.reshape(lap + P.f(x), (1,))

    loss = jinns.loss.LossPDEStatio(
        u=u,
        loss_weights=jinns.loss.LossWeightsPDEStatio(dyn_loss=1.0, boundary_loss=1.0),
        dynamic_loss=Poisson(),
        boundary_condition=jinns.loss.Dirichlet(),
        params=params,
    )
    data = jinns.data.CubicMeshPDEStatio(
        key=jax.random.key(0),
        n=P.N_INT,
        nb=P.N_BDRY,
        dim=2,
        min_pts=(0.0, 0.0),
        max_pts=(1.0, 1.0),
        method="uniform",
    )
    data = eqx.tree_at(
        lambda d: (d.omega, d.omega_border), data, (P.X_INT, _facet_border())
    )
    return u, params, loss, data, unravel


def check_setup(seed: int = 0):
    """The jinns network and loss equal problem.u and problem.loss at init_params(seed)."""
    u, params, loss, data, _ = build(seed)
    theta = P.init_params(seed)
    x = P.X_EVAL[:50]
    uj = jax.vmap(lambda z: u(z, params))(x)[:, 0]
    up = jax.vmap(lambda z: P.u(theta, z))(x)
    _, batch = data.get_batch()
    lj, _ = loss(params, batch)
    return float(jnp.max(jnp.abs(uj - up))), float(lj), float(P.loss(theta))


def run(seed: int, iters: int, *, record_at=P.DEFAULT_RECORD_AT, time_budget_s=None):
    import jinns

    du, lj, lp = check_setup(seed)
    if du > 1e-12 or abs(lj - lp) > 1e-10 * abs(lp):
        raise AssertionError(
            f"jinns set-up differs from the problem: {du=}, {lj=}, {lp=}"
        )
    u, params, loss, data, unravel = build(seed)
    tx = jinns.optimizers.vanilla_ngd()
    tracked = jax.tree.map(lambda _: True, params)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        out = jinns.solve(
            n_iter=iters,
            init_params=params,
            data=data,
            loss=loss,
            optimizer=tx,
            tracked_params=tracked,
            print_loss_every=max(iters, 1),
            verbose=True,
            ahead_of_time=True,
        )
        jax.block_until_ready(out[0])
    text = buf.getvalue()
    train_s = float(re.search(r"Training took\s+([0-9.eE+-]+)", text).group(1))
    compile_s = float(re.search(r"Compilation took\s+([0-9.eE+-]+)", text).group(1))
    n_linesearch_failures = text.count("linesearch failed")
    train_losses = np.asarray(out[1])
    stored = out[6].nn_params
    flat_hist = jax.vmap(lambda p: ravel_pytree(p)[0])(stored)  # (iters, 129)
    theta0 = P.init_params(seed)
    thetas = [theta0] + [flat_hist[i] for i in range(flat_hist.shape[0])]
    per = train_s / iters
    times = [0.0] + [per] * iters
    settings = dict(
        optimizer="jinns.optimizers.vanilla_ngd() defaults: sgd_learning_rate=1.0, gram_reg=1e-5, "
        "optax.scale_by_backtracking_linesearch(max_backtracking_steps=15, verbose=True)",
        loss_weights="dyn_loss=1, boundary_loss=1 (summed over 4 facets of 29 points)",
        laplacian="jinns.loss.laplacian_rev (trace of hessian)",
        loop="jinns.solve, ahead_of_time=True (one compiled lax.while_loop)",
        timing="mean over the compiled loop (no per-iteration clock)",
        iters=iters,
        time_budget_s=time_budget_s,
    )
    return P.summarize(
        "jinns vanilla_ngd",
        settings,
        f"jinns {_version('jinns')}",
        list(range(iters + 1)),
        thetas,
        times,
        record_at=record_at,
        extra=dict(
            compile_s=compile_s,
            train_s=train_s,
            linesearch_failure_messages=n_linesearch_failures,
            jinns_train_loss_last=float(train_losses[-1]),
        ),
    )
