"""Ensembles (`ng.solve(..., over=...)`), Solution summaries, `to_dict`, compile time, and
`ng.Optax`: an ensemble is the same arithmetic as its members run one by one."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import ngflow as ng

from .helpers import mlp_problem, target_2d


PROBLEM = mlp_problem(n=32, width=6, seed=5)
SIZES = jnp.array([0.05, 0.2, 0.5, 3.0])


def gd(s):
    return ng.GradientDescent(ng.Constant(s))


def with_model(model):
    return eqx.tree_at(lambda p: p.model, PROBLEM, model)


def jitter(key):
    """PROBLEM's model with its parameters moved by 0.1·N(0, 1)."""
    leaves = lambda a: eqx.is_inexact_array(a)
    params, rest = eqx.partition(PROBLEM.model, leaves)
    keys = jax.random.split(key, len(jax.tree.leaves(params)))
    noise = jax.tree.unflatten(
        jax.tree.structure(params),
        [
            0.1 * jax.random.normal(k, a.shape)
            for k, a in zip(keys, jax.tree.leaves(params), strict=True)
        ],
    )
    return eqx.combine(jax.tree.map(jnp.add, params, noise), rest)


@pytest.mark.filterwarnings("ignore:ngflow.solve. the loss ended")
@pytest.mark.parametrize("vmap", [False, True], ids=["map", "vmap"])
def test_an_ensemble_over_step_sizes_is_its_members_one_by_one(vmap):
    sols = ng.solve(PROBLEM, gd, steps=12, over=SIZES, throw=False, vmap=vmap)
    assert sols.batch_size == 4 and sols.losses.shape == (4, 13)
    for i, s in enumerate(SIZES):
        one = ng.solve(PROBLEM, gd(s), steps=12, throw=False)
        member = sols.select(i)
        np.testing.assert_allclose(
            member.losses, one.losses, rtol=1e-12, equal_nan=True
        )
        assert int(member.num_steps) == int(one.num_steps)
        assert member.result == one.result
    # The largest step overshoots: the ensemble keeps going for the others.
    assert np.isfinite(np.asarray(sols.final_loss)).sum() >= 3
    # A raw uint32 key (shape (2,)) is one key, not a batch of two.
    raw = ng.solve(PROBLEM, gd, steps=12, over=SIZES, throw=False, vmap=vmap,
                   key=jax.random.PRNGKey(0))  # fmt: skip
    np.testing.assert_allclose(raw.losses, sols.losses, rtol=1e-12)
    # One compile serves new values of the same structure.
    again = ng.solve(PROBLEM, gd, steps=12, over=SIZES * 0.5, throw=False, vmap=vmap)
    assert again.compile_time == 0.0 and again.wall_time > 0.0
    assert sols.compile_time > 0.0


def test_an_ensemble_over_initial_models_and_over_keys():
    keys = jax.random.split(jax.random.key(7), 3)
    models = eqx.filter_vmap(jitter)(keys)
    method = ng.NaturalGradient()
    sols = ng.solve(with_model, method, steps=4, over=models)  # one after another (CPU)
    vmapped = ng.solve(with_model, method, steps=4, over=models, vmap=True)
    np.testing.assert_allclose(vmapped.losses, sols.losses, rtol=1e-9)
    for i in range(3):
        one = ng.solve(with_model(jitter(keys[i])), method, steps=4)
        np.testing.assert_allclose(sols.select(i).losses, one.losses, rtol=1e-9)
    # A batch of keys redraws the points of a sampled loss per member; momentum on
    # redrawn points (a batched Cholesky inside the loop: the case that deadlocked
    # jaxlib's CPU thread pool under vmap) runs one member after another.
    square = ng.Box([0, 0], [1, 1])
    loss = ng.Residual(lambda u, x: u(x) - target_2d(x), square.sampler(16, every=1))
    sampled = ng.Problem(PROBLEM.model, loss, ng.Energy())
    sols = ng.solve(sampled, ng.GradientDescent(), steps=3, key=keys)
    assert sols.batch_size == 3
    for i in range(3):
        one = ng.solve(sampled, ng.GradientDescent(), steps=3, key=keys[i])
        np.testing.assert_allclose(sols.select(i).losses, one.losses, rtol=1e-9)
    assert not np.allclose(sols.losses[0], sols.losses[1])  # different points
    heavy = ng.HeavyBall(ng.Cholesky(1e-6), beta=0.5, transport=ng.LastMomentum())
    sols = ng.solve(sampled, heavy, steps=4, key=keys)
    one = ng.solve(sampled, heavy, steps=4, key=keys[2])
    np.testing.assert_allclose(sols.select(2).losses, one.losses, rtol=1e-9)


def test_median_and_quantiles_are_numpys_over_members_ignoring_stopped_steps():
    sols = ng.solve(PROBLEM, gd, steps=12, over=SIZES, throw=False)
    losses = np.asarray(sols.losses)
    np.testing.assert_allclose(sols.median("losses"), np.nanmedian(losses, axis=0))
    q = np.array([0.1, 0.9])
    np.testing.assert_allclose(
        sols.quantile(q, "step_sizes"), np.nanquantile(sols.step_sizes, q, axis=0)
    )
    with pytest.raises(KeyError, match="no_such"):
        sols.median("no_such")
    one = sols.select(0)
    with pytest.raises(ValueError, match="ensemble"):
        one.median()
    with pytest.raises(ValueError, match="ensemble"):
        one.select(0)


def test_to_dict_is_json_and_matches_the_solution():
    sol = ng.solve(PROBLEM, ng.NaturalGradient(), steps=3)
    data = json.loads(json.dumps(sol.to_dict()))
    np.testing.assert_allclose(data["losses"], sol.losses)
    assert data["result"] == "successful" and data["num_steps"] == 3
    assert set(data["stats"]) == set(sol.stats)
    assert data["compile_time"] <= data["wall_time"]
    sols = ng.solve(PROBLEM, gd, steps=3, over=SIZES[:2])
    data = sols.to_dict(params=True)
    assert (
        np.asarray(data["losses"]).shape == (2, 4)
        and data["result"] == ["successful"] * 2
    )


def test_bad_ensembles_are_refused():
    with pytest.raises(ValueError, match="leading batch axis"):
        ng.solve(PROBLEM, gd, steps=2, over=jnp.asarray(0.1))
    with pytest.raises(ValueError, match="differ"):
        ng.solve(
            PROBLEM, gd, steps=2, over=SIZES, key=jax.random.split(jax.random.key(0), 3)
        )
    with pytest.raises(TypeError, match="problem"):
        ng.solve(with_model, ng.GradientDescent(), steps=2)  # a function needs `over`
    with pytest.raises(TypeError, match="method"):
        ng.solve(PROBLEM, lambda s: s, steps=2, over=SIZES)


def test_optax_adam_is_optaxs_own_loop():
    flat = ng.FlatModel(PROBLEM.model)
    loss = lambda t: PROBLEM.loss(flat.model_at(t))
    opt = optax.adam(1e-2)
    theta, state, losses = flat.theta0, opt.init(flat.theta0), []
    for _ in range(10):
        value, grad = jax.value_and_grad(loss)(theta)
        updates, state = opt.update(grad, state, theta)
        theta, losses = optax.apply_updates(theta, updates), [*losses, value]
    sol = ng.solve(PROBLEM, ng.Optax(opt), steps=10)
    np.testing.assert_allclose(sol.losses[:-1], losses, rtol=1e-10)
    np.testing.assert_allclose(sol.final_loss, loss(theta), rtol=1e-10)
    # L-BFGS gets the loss for its line search, and descends.
    sol = ng.solve(PROBLEM, ng.Optax(optax.lbfgs()), steps=10)
    assert float(sol.final_loss) < 0.2 * float(sol.losses[0])
    with pytest.raises(TypeError, match="GradientTransformation"):
        ng.Optax(optax.adam)
