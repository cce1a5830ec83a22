"""Metrics: how a step $h$ in parameters is measured, $\\|h\\|_M^2 = h^\\top M h$.

A metric is *linearised* at the current parameters, in the form a Gram solve asks for,
into a [`ngflow.TangentMap`][] (factored, $M = E^\\top E$) or a [`ngflow.MetricMatrix`][]
(see `ngflow/_linearisation.py`).
"""

import abc

import equinox as eqx
import jax
import lineax as lx
from jaxtyping import PyTree

from .._features import Features
from .._linearisation import DENSE, Form, MetricMatrix, TangentMap
from .._repr import settings_repr


class AbstractMetric(eqx.Module):
    """A metric $M(\\theta)$ on parameters; natural gradient steps solve $M h = \\nabla_\\theta L$.

    ```python
    assert isinstance(ng.L2(points), ng.AbstractFactoredMetric)  # G = EᵀE
    assert not isinstance(ng.Hessian(), ng.AbstractFactoredMetric)  # only a matrix M(θ)
    ```
    """

    __repr__ = settings_repr

    @abc.abstractmethod
    def linearise(
        self, problem, flat, theta, form: Form = DENSE
    ) -> TangentMap | MetricMatrix:
        """The metric at `theta` (inside `jit`), in the `form` a Gram solve needs."""

    def shape(self, problem, flat, theta) -> tuple[int, int] | None:
        """$(N, p)$ of the tangent map $E$; `None` for a metric that is only a matrix."""
        return None

    def check(self, model: PyTree, loss) -> None:
        """Raise `ValueError`/`TypeError` if this metric cannot serve `model` and `loss`."""


class AbstractFactoredMetric(AbstractMetric):
    """A metric $G = E^\\top E$ with $E = \\partial\\Phi/\\partial\\theta$ for a feature map $\\Phi$.

    Subclasses implement `features(loss)`. Every Gram solve, the cross-Gram
    $E_k^\\top E_{k-1}$ and projections of functions on the tangent space follow from it.
    The linearisation has no `residual` unless the metric sets it (as
    [`ngflow.GaussNewton`][] does: its features are the loss's residual).

    ```python
    class Values(ng.AbstractFactoredMetric):  # Φ(θ) = u_θ(X): the L2 metric, unweighted
        def features(self, loss):
            return ng.Features((ng.ModelBlock(lambda u: jax.vmap(u)(points)),))

    ng.Problem(model, ng.LeastSquares(target, points), Values())  # any Gram solve works
    ```
    """

    @abc.abstractmethod
    def features(self, loss) -> Features:
        """The feature map $\\Phi$ (it may depend on the loss, as for Gauss--Newton)."""

    def shape(self, problem, flat, theta):
        value_at = lambda t: self.features(problem.loss).value(flat.model_at(t))
        return (jax.eval_shape(value_at, theta).shape[0], theta.shape[0])

    def linearise(self, problem, flat, theta, form: Form = DENSE) -> TangentMap:
        """The [`ngflow.TangentMap`][] $E$ of `features(loss)` at `theta`: dense, or
        matrix-free (`jvp`/`vjp`) with chunked $G$ or $K = EE^\\top$ as `form` asks."""
        features = self.features(problem.loss)
        model_at = flat.model_at
        value_at = lambda t: features.value(model_at(t))
        extra = {}
        if form.kind == "dense":
            values, e = features.value_and_jacobian(model_at, theta)
            operator = lx.MatrixLinearOperator(e)
        else:
            jacobian = lx.JacobianLinearOperator(lambda t, _: value_at(t), theta)
            operator = lx.linearise(jacobian)
            if form.kind == "sample_gram":
                extra["sample_gram"], values = features.sample_gram(
                    model_at, theta, form.chunk
                )
            else:
                values = value_at(theta)
            if form.kind == "gram":
                extra["gram"], extra["gram_rhs"] = features.gram(
                    model_at, theta, form.chunk
                )
        return TangentMap(
            operator, values, features=features, model_at=model_at, theta=theta, **extra
        )
