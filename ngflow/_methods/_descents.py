"""Descents: the step as a function of a step size, after one factorisation per step.

As in optimistix (`AbstractDescent.query` then `step(step_size)`), a descent is asked once
per step for a *path* $s\\mapsto d(s)$, and the search ([`ngflow.AbstractStepRule`][])
picks the point on it; the step is $\\theta^+ = \\theta - d$. Two descents:

- [`ngflow.ScaledDescent`][]: $d(s) = s\\,h$ with $h$ the Gram solve's direction (the line
  search of today's step rules);
- [`ngflow.DampedDescent`][]: $d = h(\\lambda)$ on the Levenberg--Marquardt curve
  $h(\\lambda) = (M + \\lambda I)^{-1}\\nabla_\\theta L$, all of it from one factorisation.

Both paths can be walked by *fraction* $s\\in[0, 1]$ ($\\|d\\| = s\\|d(1)\\|$, with $d(1)$ the
undamped step) or by *radius* $\\Delta$ ($\\|d\\| = \\min(\\Delta, \\|d(1)\\|)$), and give the
decrease of the quadratic model $m(d) = L - \\nabla L^\\top d + \\frac12 d^\\top M d$ that a
trust region compares with the actual decrease.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._gram import AbstractGramSolver
from .._gram._curve import LMCurve
from .._linearisation import TangentMap
from .._repr import settings_repr


class Point(eqx.Module):
    """One point of a path: the displacement $d$ ($\\theta^+ = \\theta - d$), the predicted
    reduction, the slope $\\nabla L^\\top d$, the damping $\\lambda$ (NaN for a scaled
    direction) and the fraction $\\|d\\|/\\|d(1)\\|$."""

    displacement: Float[Array, " p"]
    predicted: Array
    slope: Array
    damping: Array
    fraction: Array


class AbstractPath(eqx.Module):
    """The steps a descent offers at one iterate (see the module docs)."""

    @property
    @abc.abstractmethod
    def full_norm(self) -> Array:
        """$\\|d(1)\\|$, the norm of the undamped, unscaled step."""

    @abc.abstractmethod
    def at_fraction(self, s) -> Point:
        """The point with $\\|d\\| = s\\,\\|d(1)\\|$."""

    @abc.abstractmethod
    def at_radius(self, radius) -> Point:
        """The point with $\\|d\\| = \\min(\\Delta, \\|d(1)\\|)$."""


class ScaledPath(AbstractPath):
    """$d(s) = s\\,h$: `direction` $h$, $\\nabla L^\\top h$ and $h^\\top M h$."""

    direction: Float[Array, " p"]
    gradient_dot: Array
    curvature: Array

    @property
    def full_norm(self):
        return jnp.linalg.norm(self.direction)

    def at_fraction(self, s):
        s = jnp.asarray(s, self.direction.dtype)
        slope = s * self.gradient_dot
        predicted = slope - 0.5 * s**2 * self.curvature
        nan = jnp.asarray(jnp.nan, self.direction.dtype)
        return Point(s * self.direction, predicted, slope, nan, s)

    def at_radius(self, radius):
        full = self.full_norm
        s = jnp.where(
            full > 0, jnp.minimum(1.0, radius / jnp.where(full > 0, full, 1)), 0
        )
        return self.at_fraction(s)


class DampedPath(AbstractPath):
    """$d = h(\\lambda)$ on the Levenberg--Marquardt curve, $\\lambda$ found from the radius
    (the secular equation $\\|h(\\lambda)\\| = \\Delta$, [`LMCurve.damping_for_radius`])."""

    curve: LMCurve

    @property
    def full_norm(self):
        return self.curve.norm(0.0)

    def at_damping(self, lam) -> Point:
        c = self.curve
        full = self.full_norm
        norm = c.norm(lam)
        fraction = jnp.where(full > 0, norm / jnp.where(full > 0, full, 1), 0)
        return Point(c.direction(lam), c.predicted(lam), c.slope(lam), lam, fraction)

    def at_radius(self, radius):
        return self.at_damping(self.curve.damping_for_radius(radius))

    def at_fraction(self, s):
        return self.at_radius(s * self.full_norm)


class AbstractDescent(eqx.Module):
    """Turns the metric at $\\theta_k$ into a path of steps: `query` factorises once.

    ```python
    ng.NaturalGradient(ng.Pinv(), ng.TrustRegion(), descent=ng.DampedDescent())  # the default
    ng.NaturalGradient(ng.Pinv(), ng.LogGrid(), descent=ng.ScaledDescent())  # s·h
    ```
    """

    __repr__ = settings_repr

    @abc.abstractmethod
    def query(
        self, gram: AbstractGramSolver, metric, gradient
    ) -> tuple[AbstractPath, dict[str, Array], Array]:
        """`(path, stats, ok)` for the metric value (a `TangentMap` or `MetricMatrix`)
        at $\\theta_k$ and $\\nabla_\\theta L(\\theta_k)$."""


def _quadratic(metric, h):
    """$h^\\top M h$ ($\\|Eh\\|^2$ for a tangent map)."""
    if isinstance(metric, TangentMap):
        eh = metric.matvec(h)
        return eh @ eh
    return h @ metric.gram_mv(h)


def scaled_path(metric, h, gradient) -> ScaledPath:
    """The path $s\\,h$ (with the model's curvature along $h$)."""
    return ScaledPath(h, gradient @ h, _quadratic(metric, h))


class ScaledDescent(AbstractDescent):
    """$d(s) = s\\,h$ with $h$ the Gram solve's direction, $M h = \\nabla_\\theta L$.

    The step rules [`ngflow.LogGrid`][], [`ngflow.Backtracking`][] and
    [`ngflow.Constant`][] choose $s$ (their default descent); [`ngflow.TrustRegion`][]
    on it takes $s = \\min(1, \\Delta/\\|h\\|)$.

    ```python
    ng.NaturalGradient(ng.Cholesky(1e-6), ng.LogGrid(), descent=ng.ScaledDescent())
    ```
    """

    def query(self, gram, metric, gradient):
        h, stats, ok = gram.solve(metric, gradient)
        return scaled_path(metric, h, gradient), stats, ok


class DampedDescent(AbstractDescent):
    """$d = h(\\lambda) = (M + \\lambda I)^{-1}\\nabla_\\theta L$: the Levenberg--Marquardt curve.

    One factorisation per step (the Gram solve's `curve`: an SVD of $E$ or of its QR
    factor for [`ngflow.Pinv`][]/[`ngflow.QR`][], an eigendecomposition of $G$ for
    [`ngflow.Cholesky`][], of $K = EE^\\top$ for [`ngflow.Woodbury`][], of the Hessian on
    $|\\mu_i|$ for [`ngflow.Newton`][]) gives every point: $\\lambda\\to 0$ is the
    minimum-norm Gauss--Newton step, $\\lambda\\to\\infty$ the gradient direction
    $\\nabla L/\\lambda$. The search's step size is a radius ($\\|h(\\lambda)\\| = \\Delta$) or
    a fraction of $\\|h(0)\\|$.

    A Gram solve without a curve ([`ngflow.CG`][], [`ngflow.Greedy`][], an `AutoGram` that
    chose CG) falls back to its own direction, scaled ([`ngflow.ScaledDescent`][]): for
    CG that is the direction at its fixed damping, shortened to the radius.

    ```python
    ng.NaturalGradient(ng.Pinv(), ng.TrustRegion(), descent=ng.DampedDescent())
    ```
    """

    def query(self, gram, metric, gradient):
        out = gram.curve(metric, gradient)
        if out is None:
            return ScaledDescent().query(gram, metric, gradient)
        curve, stats, ok = out
        return DampedPath(curve), stats, ok
