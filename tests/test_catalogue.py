"""Every metric, Gram solve, step rule and method of tests/helpers.py on a small problem."""

import numpy as np
import pytest

import ngflow as ng

from .helpers import GRAM_SOLVES, METHODS, METRICS, mlp_problem, STEP_RULES


STEPS = 8


def _descends(sol, factor, monotone=True):
    assert sol.successful, ng.RESULTS[sol.result]
    losses = np.asarray(sol.losses)
    if monotone:
        assert np.all(np.diff(losses) <= 1e-12 * losses[0]), losses
    assert losses[-1] < factor * losses[0], losses


@pytest.mark.parametrize("name", list(METRICS))
def test_every_metric_descends(name):
    problem = mlp_problem(METRICS[name])
    sol = ng.solve(problem, ng.NaturalGradient(ng.Cholesky(1e-6)), steps=STEPS)
    _descends(sol, 0.7)


@pytest.mark.parametrize("name", list(GRAM_SOLVES))
def test_every_gram_solve_descends(name):
    sol = ng.solve(mlp_problem(), ng.NaturalGradient(GRAM_SOLVES[name]), steps=STEPS)
    _descends(sol, 0.3)


def test_default_gram_solve_descends():
    sol = ng.solve(mlp_problem(), ng.NaturalGradient(), steps=STEPS)
    _descends(sol, 1.0)


@pytest.mark.parametrize("name", list(STEP_RULES))
def test_every_step_rule(name):
    rule = STEP_RULES[name]
    sol = ng.solve(
        mlp_problem(), ng.NaturalGradient(ng.Cholesky(1e-6), rule), steps=STEPS
    )
    # A constant step is not monotone on a nonlinear problem; the searches are.
    _descends(sol, 0.95, monotone=not isinstance(rule, ng.Constant))


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method(name):
    sol = ng.solve(mlp_problem(), METHODS[name], steps=STEPS, throw=False)
    assert sol.result in (ng.RESULTS.successful, ng.RESULTS.search_failed)
    assert sol.final_loss < sol.losses[0]


def test_natural_gradient_beats_gradient_descent():
    """Seed 000 §2.1 in miniature: in the same number of steps, NGD (the default) ends
    far below GD with its line search. (The minimum-norm NGD with the same line search,
    `NaturalGradient(Pinv(), grid)`, stalls here at 1e-2 on some CPUs and not on others:
    its fixed cutoff follows the rounding.)"""
    problem = mlp_problem(lambda pts: ng.L2(pts), n=200, width=12)
    grid = ng.LogGrid(30, 1e-6)
    gd = ng.solve(problem, ng.GradientDescent(grid), steps=80)
    ngd = ng.solve(problem, ng.NaturalGradient(), steps=80)
    assert ngd.final_loss < 1e-3 * gd.final_loss, (ngd.final_loss, gd.final_loss)
