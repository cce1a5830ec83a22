"""Every method, step rule, descent, Gram solve and flow prints as the call that builds it: its
fields are its constructor's arguments, so `eval(repr(x))` gives an equal object."""

import diffrax as dfx
import equinox as eqx
import pytest

import ngflow as ng


SETTINGS = [
    ng.Pinv(rcond=1e-5),
    ng.QR(rcond=1e-4),
    ng.Cholesky(1e-4, relative=False, chunk=16),
    ng.Woodbury(1e-3, relative=False, chunk=8),
    ng.Sketch(16, rows=None, chunk=None, batch=4, rcond=1e-8, seed=3),
    ng.CG(rtol=1e-5, atol=1e-9, max_steps=7, damping=1e-3, chunk=4, relative=True),
    ng.CG(damping=1e-3, preconditioner="diagonal"),
    ng.CG(damping=1e-2, preconditioner=ng.Nystrom(rank=12, seed=3)),
    ng.Greedy(5, tangent=False, rtol=1e-6),
    ng.OrthogonalGreedy(4),
    ng.CompleteOrthogonalDecomposition(rcond=1e-6),
    ng.AutoGram(dense_limit=1000, memory_fraction=0.5, pinv_limit=10, curve_limit=64),
    ng.Constant(0.3),
    ng.LogGrid(num=11, smallest=1e-4, largest=2.0, early_exit=False),
    ng.Backtracking(initial=0.5, factor=0.3, armijo=1e-3, max_steps=12),
    ng.TrustRegion(target=0.1, window=2.0, num=8, initial=0.5, monotone=True),
    ng.TrustRegion(min_radius=1e-6, max_radius=1e3, early_exit=False),
    ng.ScaledDescent(),
    ng.DampedDescent(),
    ng.GradientDescent(ng.Constant(0.1), clip=5.0),
    ng.NaturalGradient(
        ng.QR(), ng.LogGrid(num=5), descent=ng.ScaledDescent(), clip=9.0
    ),
    ng.NaturalGradient(ng.Pinv(rcond=1e-9), ng.TrustRegion(target=0.2)),
    ng.Newton(ng.Cholesky(1e-3), ng.Backtracking(), descent=ng.ScaledDescent()),
    ng.HeavyBall(
        ng.Pinv(), ng.Constant(0.2), 0.7, ng.FiniteDifference(), clip=3.0, restart=True
    ),
    ng.HeavyBall(transport=ng.ParameterMomentum()),
    ng.Nesterov(ng.Cholesky(1e-6), ng.LogGrid(), 0.5, natural=False, restart=True),
    ng.GradientFlow(),
    ng.NaturalGradientFlow(ng.Cholesky(1e-6), max_steps=50, dt0=0.1),
    ng.HeavyBallFlow(
        2.0, solver=dfx.Euler(), stepsize_controller=dfx.ConstantStepSize()
    ),
    ng.NaturalHeavyBallFlow(
        0.5, ng.Pinv(), stepsize_controller=dfx.PIDController(rtol=1e-4, atol=1e-7)
    ),
]


@pytest.mark.parametrize("x", SETTINGS, ids=lambda x: type(x).__name__)
def test_repr_round_trips(x):
    text = repr(x)
    y = eval(text, {**vars(ng), **vars(dfx)})  # noqa: S307 - our own repr
    assert type(y) is type(x)
    assert eqx.tree_equal(y, x), (text, repr(y))
    assert repr(y) == text
