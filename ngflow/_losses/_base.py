"""Losses $\\mathcal L(u)$: scalar functions of the model function $u$."""

import abc
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PyTree, Scalar

from .._checks import is_concrete
from .._features import Features, ModelBlock


class AbstractLoss(eqx.Module):
    """A loss $\\mathcal L(u)$: a scalar function of the model (the function $u$).

    Subclasses implement `__call__(model) -> scalar`. Losses add (`l1 + l2`) and scale
    (`3.0 * l`). A loss of the form $\\frac12\\|r(u)\\|^2$ should subclass
    [`ngflow.AbstractResidualLoss`][] so that the Gauss--Newton metric can use $r$.

    ```python
    class MeanSquare(ng.AbstractLoss):  # L(u) = mean of u² over the points
        def __call__(self, model):
            return jnp.mean(jax.vmap(model)(points) ** 2)

    ng.Problem(model, MeanSquare() + 0.1 * ng.LeastSquares(target, points), ng.L2(points))
    ```
    """

    @abc.abstractmethod
    def __call__(self, model: PyTree) -> Scalar:
        """The loss of a model."""

    def check(self, model: PyTree) -> None:
        """Raise `ValueError` if this loss cannot be evaluated on `model` (called by
        [`ngflow.Problem`][]). The default checks that it returns a scalar."""
        try:
            out = eqx.filter_eval_shape(self, model)
        except ValueError:
            raise
        except Exception as e:  # noqa: BLE001
            raise ValueError(
                f"{type(self).__name__}: evaluating the loss on the model failed: "
                f"{type(e).__name__}: {e}"
            ) from None
        shape = getattr(out, "shape", None)
        if shape != () and not isinstance(out, (int, float)):
            raise ValueError(
                f"{type(self).__name__}: a loss must return a scalar, got "
                f"{'shape ' + str(shape) if shape is not None else type(out).__name__}."
            )

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:
            return self
        if not isinstance(other, AbstractLoss):
            return NotImplemented
        return _sum(self, other)

    def __radd__(self, other):
        if isinstance(other, (int, float)) and other == 0:  # sum([...])
            return self
        return NotImplemented

    def __mul__(self, factor):
        if isinstance(factor, AbstractLoss):
            return NotImplemented
        return _scale(factor, self)

    __rmul__ = __mul__


class AbstractResidualLoss(AbstractLoss):
    """A loss with a residual form, $\\mathcal L(u) = \\frac12\\|r(u)\\|^2$, $r(u)\\in\\mathbb{R}^N$.

    Subclasses implement `residual_features()`, the feature map $u\\mapsto r(u)$. The
    [`ngflow.GaussNewton`][] metric uses its Jacobian as the tangent map $E$.

    ```python
    class Misfit(ng.AbstractResidualLoss):  # L = ½‖r‖², r = u(X) − t(X)
        def residual_features(self):
            r = lambda u: jax.vmap(u)(points) - jax.vmap(target)(points)
            return ng.Features((ng.ModelBlock(r),))

    ng.Problem(model, Misfit(), ng.GaussNewton())  # E = ∂r/∂θ
    ```
    """

    @abc.abstractmethod
    def residual_features(self) -> Features:
        """The residual $r$ as a feature map."""

    def residuals(self, model: PyTree) -> Float[Array, " N"]:
        """$r(u)$, so that the loss is $\\frac12\\|r(u)\\|^2$."""
        return self.residual_features().value(model)

    def __call__(self, model):
        r = self.residuals(model)
        return 0.5 * jnp.sum(r**2)


class Loss(AbstractLoss):
    """A loss from any function `fn(model) -> scalar`.

    It has no residual form, so [`ngflow.GaussNewton`][] cannot use it; wrap a
    residual function with [`ngflow.SumOfSquares`][] instead when you have one.

    **Arguments:**

    - `fn`: `fn(model) -> scalar`, a pure JAX function of the model.

    $\\mathcal L(u) = \\mathrm{fn}(u)$; methods differentiate it,
    $\\nabla_\\theta\\mathcal L(u_\\theta)$, by reverse mode.

    ```python
    loss = ng.Loss(lambda u: jnp.mean(jax.vmap(u)(points) ** 4))  # any scalar function of u
    problem = ng.Problem(model, loss, ng.L2(points))  # no residual: not with GaussNewton
    ```
    """

    fn: Callable[[PyTree], Scalar]

    def __call__(self, model):
        return self.fn(model)


class SumOfSquares(AbstractResidualLoss):
    """$\\mathcal L(u) = \\frac12\\|r(u)\\|^2$ for any residual function `fn(model) -> r`.

    **Arguments:**

    - `fn`: `fn(model) -> array`, the residual (any shape; flattened).

    ```python
    loss = ng.SumOfSquares(lambda u: jax.vmap(u)(points) - jax.vmap(target)(points))
    problem = ng.Problem(model, loss, ng.GaussNewton())  # ½‖u(X) − t(X)‖², E = ∂r/∂θ
    ```
    """

    fn: Callable[[PyTree], Array]

    def residual_features(self):
        return Features((ModelBlock(self.fn),))


class Sum(AbstractLoss):
    """$\\mathcal L = \\sum_j \\mathcal L_j$. Written `loss1 + loss2`.

    ```python
    penalty = ng.Loss(lambda u: 1e-3 * jnp.mean(jax.vmap(u)(points) ** 2))
    loss = ng.LeastSquares(target, points) + penalty
    assert isinstance(loss, ng.Sum)  # a part without residual: a plain sum
    ```
    """

    losses: tuple[AbstractLoss, ...]

    def __call__(self, model):
        return sum(loss(model) for loss in self.losses)

    def check(self, model):
        for loss in self.losses:
            loss.check(model)


class ResidualSum(AbstractResidualLoss):
    """A sum of residual losses; its residual stacks theirs. Written `loss1 + loss2`.

    $r = (r_1, \\dots, r_m)$, so $\\mathcal L = \\frac12\\|r\\|^2 = \\sum_j
    \\frac12\\|r_j\\|^2$.

    ```python
    interior = ng.Residual(lambda u, x: ng.laplacian(u, x) + f(x), points)
    boundary = ng.Residual(lambda u, x: u(x), ng.Box([0, 0], [1, 1]).boundary_grid(8))
    loss = interior + boundary  # r = (r_interior, r_boundary)
    assert isinstance(loss, ng.ResidualSum)  # so ng.GaussNewton() / ng.Energy() can use it
    ```
    """

    losses: tuple[AbstractResidualLoss, ...]

    def residual_features(self):
        return Features(
            tuple(b for loss in self.losses for b in loss.residual_features().blocks)
        )

    def __call__(self, model):
        return sum(loss(model) for loss in self.losses)

    def check(self, model):
        for loss in self.losses:
            loss.check(model)


class Scaled(AbstractLoss):
    """$c\\,\\mathcal L$. Written `c * loss`.

    ```python
    loss = -1.0 * ng.Loss(lambda u: jnp.mean(jax.vmap(u)(points)))  # maximise the mean of u
    assert isinstance(loss, ng.Scaled)  # c < 0 (or no residual): a plain scaled loss
    ```
    """

    factor: Float[Array, ""] | float
    loss: AbstractLoss

    def __call__(self, model):
        return self.factor * self.loss(model)

    def check(self, model):
        self.loss.check(model)


class ScaledResidual(AbstractResidualLoss):
    """$c\\,\\mathcal L$ for a residual loss and $c\\ge0$; its residual is $\\sqrt c\\,r$.

    ```python
    loss = 100.0 * ng.LeastSquares(target, points)  # residual 10 r
    assert isinstance(loss, ng.ScaledResidual)  # still a residual loss, for GaussNewton
    ```
    """

    factor: Float[Array, ""] | float
    loss: AbstractResidualLoss

    def residual_features(self):
        return self.loss.residual_features().scaled(jnp.sqrt(self.factor))

    def __call__(self, model):
        return self.factor * self.loss(model)

    def check(self, model):
        self.loss.check(model)


def _flatten_sum(loss):
    return loss.losses if isinstance(loss, (Sum, ResidualSum)) else (loss,)


def _sum(*losses: AbstractLoss) -> AbstractLoss:
    parts = tuple(p for loss in losses for p in _flatten_sum(loss))
    if all(isinstance(p, AbstractResidualLoss) for p in parts):
        return ResidualSum(parts)
    return Sum(parts)


def _scale(factor, loss: AbstractLoss) -> AbstractLoss:
    if is_concrete(factor):
        f = np.asarray(factor)
        if f.shape != ():
            raise ValueError(
                f"A loss can only be scaled by a scalar, got shape {f.shape}."
            )
        if isinstance(loss, AbstractResidualLoss) and float(f) >= 0:
            return ScaledResidual(float(f), loss)
        return Scaled(float(f), loss)
    return Scaled(factor, loss)
