"""Step-size rules (searches), separate from directions (as optimistix's searches are from descents).

A rule receives the loss as a function of flat parameters, the current parameters
$\\theta$, the direction $h$ (the step is $\\theta - s h$), the current loss and gradient, and
returns the step size $s$, diagnostics, and a [`ngflow.RESULTS`][]: `successful`,
`search_failed` (no step decreased the loss enough: a stall, not an error) or `nonfinite`
(every candidate loss was NaN/Inf).

Inside a method, a rule searches a *path* (see [`ngflow.AbstractDescent`][]): along a
scaled direction $s\\,h$ it is called as above; the built-in rules also walk the
Levenberg--Marquardt curve by the fraction $s$ of the undamped step's length, and
[`ngflow.TrustRegion`][] picks a radius on either.
"""

import abc

import equinox as eqx
import jax
import jax.lax as lax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._domains import has_samplers
from .._gram._base import as_float
from .._repr import settings_repr
from .._results import RESULTS
from ._descents import AbstractDescent, AbstractPath, ScaledDescent, ScaledPath


class AbstractStepRule(eqx.Module):
    """Chooses the step size $s$ of $\\theta^+ = \\theta - s h$.

    ```python
    class OneOrHalf(ng.AbstractStepRule):  # s = 1 if it lowers L, else ½
        def __call__(self, loss_at, theta, direction, loss, gradient):
            s = jnp.where(loss_at(theta - direction) < loss, 1.0, 0.5)
            return s, {}, ng.RESULTS.successful

    method = ng.NaturalGradient(ng.QR(), OneOrHalf())
    ```
    """

    __repr__ = settings_repr

    @abc.abstractmethod
    def __call__(self, loss_at, theta, direction, loss, gradient):
        """Return `(s, stats, result)`."""

    def init(self, theta, problem=None):
        """The search's state before the first step (default: none; a trust region keeps
        its radius). `problem` is the problem being solved (at its first points)."""
        del theta, problem
        return None

    def default_descent(self) -> AbstractDescent:
        """The descent a method uses with this rule unless given one: [`ngflow.ScaledDescent`][]."""
        return ScaledDescent()

    def along(self, loss_at, theta, path: AbstractPath, loss, gradient):
        """`(s, stats, result)` for a path that is not a scaled direction: $s$ is the
        fraction of the undamped step's length (`path.at_fraction(s)`). A rule that only
        knows directions cannot do this."""
        raise TypeError(
            f"{type(self).__name__} searches along a direction only; use it with "
            "descent=ng.ScaledDescent(), or implement `along` for the damped curve."
        )

    def search(self, loss_at, theta, path: AbstractPath, loss, gradient, state):
        """`(displacement, s, stats, result, state)`: $\\theta^+ = \\theta -$
        displacement."""
        if isinstance(path, ScaledPath):
            s, stats, result = self(loss_at, theta, path.direction, loss, gradient)
        else:
            s, stats, result = self.along(loss_at, theta, path, loss, gradient)
        return path.at_fraction(s).displacement, s, stats, result, state


class Constant(AbstractStepRule):
    """A fixed step size (learning rate) $s$.

    **Arguments:**

    - `lr`: the step size.

    ```python
    ng.GradientDescent(ng.Constant(0.1))  # θ⁺ = θ − 0.1∇L
    ```
    """

    lr: Float[Array, ""] = eqx.field(converter=as_float)

    def __call__(self, loss_at, theta, direction, loss, gradient):
        return self.lr, {}, RESULTS.successful

    def along(self, loss_at, theta, path, loss, gradient):
        return self.lr, {}, RESULTS.successful


class LogGrid(AbstractStepRule):
    """The best of a logarithmic grid of step sizes: $s = \\arg\\min_{s\\in S} L(\\theta - s h)$.

    $S$ is `num` points spaced geometrically from `largest` down to `smallest`. The
    default, $S = \\{0.5^k: k = 0..30\\}$, is the line search of the energy natural gradient
    reference (Müller & Zeinhofer 2023); seed 000 uses 30 points in $(0, 1]$. The grid's
    losses are evaluated with `lax.map` (measured faster than `vmap` on CPU). The best
    candidate is taken even if it does not decrease the loss; the rule fails only if
    every candidate loss is NaN/Inf.

    By default (`early_exit=True`) the grid is walked from the largest step down and the
    walk stops at the first local minimum below the current loss (a candidate worse than
    the one before it, after one that decreased the loss): once a method converges that
    is two loss evaluations per step instead of `num`. On 10 seeds of the ENGD Poisson
    problem it chose the same steps as the whole grid. `early_exit=False` evaluates the
    whole grid (with `lax.map`) and takes its best, as the ENGD reference does. Records
    `search_evals`.

    **Arguments:**

    - `num`: number of grid points.
    - `smallest`, `largest`: the extreme step sizes.
    - `early_exit`: stop at the first local minimum below the current loss (default).

    ```python
    ng.NaturalGradient(ng.QR(), ng.LogGrid(num=31, smallest=0.5**30))  # s ∈ {1, ½, …, 2⁻³⁰}
    ```
    """

    num: int = eqx.field(default=31, static=True)
    smallest: Float[Array, ""] = eqx.field(default=0.5**30, converter=as_float)
    largest: Float[Array, ""] = eqx.field(default=1.0, converter=as_float)
    early_exit: bool = eqx.field(default=True, static=True)

    def __check_init__(self):
        if self.num < 1:
            raise ValueError("LogGrid: `num` must be at least 1.")

    def grid(self) -> Float[Array, " num"]:
        """The candidate step sizes, largest first."""
        if self.num == 1:
            return self.largest[None]
        frac = jnp.arange(self.num) / (self.num - 1)
        return self.largest * (self.smallest / self.largest) ** frac

    def __call__(self, loss_at, theta, direction, loss, gradient):
        return self._walk(lambda s: loss_at(theta - s * direction), loss)

    def along(self, loss_at, theta, path, loss, gradient):
        return self._walk(
            lambda s: loss_at(theta - path.at_fraction(s).displacement), loss
        )

    def _walk(self, loss_of, loss):
        grid = self.grid()
        candidate = lambda s: _finite_or_inf(loss_of(s))
        if self.early_exit:
            best_loss, best, evals = _walk_down(candidate, grid, loss)
        else:
            losses = lax.map(candidate, grid)
            best = jnp.argmin(losses)
            best_loss, evals = losses[best], jnp.array(self.num)
        result = RESULTS.where(
            jnp.isfinite(best_loss), RESULTS.successful, RESULTS.nonfinite
        )
        return grid[best], {"search_loss": best_loss, "search_evals": evals}, result


def _finite_or_inf(x):
    return jnp.where(jnp.isfinite(x), x, jnp.inf)


def _walk_down(candidate, grid, loss):
    """Evaluate `grid` in order until a candidate is worse than the one before it and
    some candidate has beaten `loss`; return (best loss, its index, evaluations)."""
    num = grid.shape[0]
    inf = jnp.asarray(jnp.inf, dtype=grid.dtype)

    def cond(carry):
        k, _, _, _, done = carry
        return (k < num) & ~done

    def body(carry):
        k, prev, best_loss, best, _ = carry
        f = candidate(grid[k])
        improved = f < best_loss
        best_loss = jnp.where(improved, f, best_loss)
        best = jnp.where(improved, k, best)
        done = (f >= prev) & (best_loss < loss)
        return k + 1, f, best_loss, best, done

    init = (jnp.array(0), inf, inf, jnp.array(0), jnp.array(False))
    k, _, best_loss, best, _ = lax.while_loop(cond, body, init)
    return best_loss, best, k


class Backtracking(AbstractStepRule):
    """Armijo backtracking: the first $s = s_0\\rho^k$ with $L(\\theta - s h)\\le L(\\theta) - c\\,s\\,\\nabla L\\cdot h$.

    If no step in `max_steps` shrinks is accepted, the solve stops with
    `RESULTS.search_failed` (a stall: typical once the loss is at its floor) or, if the
    loss is NaN/Inf even at the smallest step, `RESULTS.nonfinite`.

    **Arguments:**

    - `initial`: the first step $s_0$.
    - `factor`: the shrink factor $\\rho\\in(0,1)$.
    - `armijo`: the sufficient-decrease constant $c\\in(0,1)$.
    - `max_steps`: the number of shrinks allowed.

    ```python
    ng.GradientDescent(ng.Backtracking(initial=1.0, factor=0.5, armijo=1e-4))  # halve s until Armijo
    ```
    """

    initial: Float[Array, ""] = eqx.field(default=1.0, converter=as_float)
    factor: Float[Array, ""] = eqx.field(default=0.5, converter=as_float)
    armijo: Float[Array, ""] = eqx.field(default=1e-4, converter=as_float)
    max_steps: int = eqx.field(default=30, static=True)

    def __call__(self, loss_at, theta, direction, loss, gradient):
        slope = gradient @ direction
        return self._backtrack(
            lambda s: loss_at(theta - s * direction),
            lambda s: self.armijo * s * slope,
            loss,
        )

    def along(self, loss_at, theta, path, loss, gradient):
        point = path.at_fraction
        return self._backtrack(
            lambda s: loss_at(theta - point(s).displacement),
            lambda s: self.armijo * point(s).slope,
            loss,
        )

    def _backtrack(self, loss_of, sufficient, loss):
        """The Armijo test $L(s)\\le L - c\\,\\nabla L^\\top d(s)$, `sufficient(s)`
        $= c\\,\\nabla L^\\top d(s)$ ($c\\,s\\nabla L^\\top h$ along a direction)."""

        def accepted(s, f):
            return jnp.isfinite(f) & (f <= loss - sufficient(s))

        def cond(carry):
            k, s, f = carry
            return (k < self.max_steps) & ~accepted(s, f)

        def body(carry):
            k, s, _ = carry
            s = s * self.factor
            return k + 1, s, loss_of(s)

        s0 = self.initial
        k, s, f = lax.while_loop(cond, body, (jnp.array(0), s0, loss_of(s0)))
        result = RESULTS.where(
            accepted(s, f),
            RESULTS.successful,
            RESULTS.where(jnp.isfinite(f), RESULTS.search_failed, RESULTS.nonfinite),
        )
        return s, {"search_steps": k}, result


class TrustRegionState(eqx.Module):
    """The radius $\\Delta$ a [`ngflow.TrustRegion`][] carries to the next step, and
    whether its walk requires the loss to fall (`monotone`, fixed at `init`)."""

    radius: Float[Array, ""]
    monotone: bool = eqx.field(default=False, static=True)


def _ratio(actual, predicted):
    """$\\rho$ = actual / predicted reduction ($-\\infty$ when the model predicts none)."""
    good = predicted > 0
    return jnp.where(good, actual / jnp.where(good, predicted, 1.0), -jnp.inf)


class TrustRegion(AbstractStepRule):
    """A trust region that keeps the longest step whose decrease the model still predicts.

    Each step probes `num` radii $\\Delta_j$, geometric over
    $[\\Delta_{\\max}/w^2, \\Delta_{\\max}]$ with $\\Delta_{\\max} = \\min(w\\Delta, \\|h(0)\\|)$
    ($\\Delta$ the last radius, $w$ = `window`, $h(0)$ the undamped step: longer radii all
    give it), takes the step $d_j$ of the descent at each radius (on the
    Levenberg--Marquardt curve by default, [`ngflow.DampedDescent`][]: $\\lambda$ from
    $\\|h(\\lambda)\\| = \\Delta_j$) and its ratio
    $\\rho_j = (L(\\theta) - L(\\theta - d_j)) / (\\nabla L^\\top d_j - \\frac12 d_j^\\top M d_j)$ of
    actual to predicted reduction. It keeps the largest radius with $\\rho_j\\ge$ `target`
    next to the last one (see `early_exit`), else the smallest; the step is taken if its $\\rho > 0$ (the loss
    decreased), else rejected ($\\theta$ unchanged). The next $\\Delta$ is the radius kept.

    The low target is the point (measured across the problem catalogue by
    `benchmarks/suite.py`, see the Benchmarks page): it keeps steps long while the linear model
    predicts a fair share of the decrease, so the iteration leaves plateaus quickly, and
    lets $\\lambda$ fall to 0 (all of Gauss--Newton's digits) once the model is exact.
    Choosing the probe of lowest loss instead (greedy) takes damped steps and then
    converges linearly. The rule is that of DSGNAR (Webb, Jerad & Cartis 2026:
    `target_rho = 0.075`, window 3, 24 probes).

    Records `radius`, `damping` ($\\lambda$, NaN on a scaled direction), `ratio` ($\\rho$),
    `accepted` and `search_evals`; the step size is $\\|d\\|/\\|h(0)\\|$ (0 if rejected).

    **Arguments:**

    - `target`: the ratio a kept radius must reach (default 0.075).
    - `window`: $w > 1$ (default 3).
    - `num`: the number of radii probed (default 24).
    - `initial`: the first radius (default 1, in parameter units).
    - `min_radius`, `max_radius`: bounds on the radius carried to the next step.
    - `early_exit`: walk from the probe nearest the last radius, up while the ratio
        reaches the target, else down to the first radius that does (default: a few loss
        evaluations per step). With `False` every radius is probed and the rule is
        DSGNAR's (the largest radius such that it and every smaller one pass).
    - `monotone`: walking up, also stop where a longer probe's loss is higher than the
        last kept one's. `None` (default): only when the problem's points are redrawn
        during the solve (a sampler). There each step fits the points of that step, the
        model over-predicts ($\\rho\\approx0.1$) and the longest passing step overshoots:
        measured on `ng.problems` (`benchmarks/README.md`), 10D Poisson goes from
        $10^{-2}$ to $10^{-5}$ with it; on fixed points the longest passing step is what
        leaves plateaus fast, and requiring the loss to fall costs Poisson 2D four digits
        in 300 steps. Applies to the walk (`early_exit=True`); with `early_exit=False`
        the rule is DSGNAR's on every problem.

    ```python
    ng.NaturalGradient(ng.Pinv(), ng.TrustRegion(target=0.075))  # = NaturalGradient()
    ```
    """

    target: Float[Array, ""] = eqx.field(default=0.075, converter=as_float)
    window: Float[Array, ""] = eqx.field(default=3.0, converter=as_float)
    num: int = eqx.field(default=24, static=True)
    initial: Float[Array, ""] = eqx.field(default=1.0, converter=as_float)
    min_radius: Float[Array, ""] = eqx.field(default=1e-12, converter=as_float)
    max_radius: Float[Array, ""] = eqx.field(default=1e12, converter=as_float)
    early_exit: bool = eqx.field(default=True, static=True)
    monotone: bool | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        if self.num < 2:
            raise ValueError("TrustRegion: `num` must be at least 2.")
        if self.monotone and not self.early_exit:
            raise ValueError(
                "TrustRegion: `monotone=True` changes the walk, and `early_exit=False` "
                "probes every radius instead (DSGNAR's rule); drop one of them."
            )
        for name in ("target", "window", "initial", "min_radius", "max_radius"):
            value = getattr(self, name)
            if isinstance(value, jax.core.Tracer):
                return
        if not 0.0 < float(self.target) < 1.0:
            raise ValueError(
                f"TrustRegion: `target` must be in (0, 1), got {float(self.target)}."
            )
        if not float(self.window) > 1.0:
            raise ValueError(
                f"TrustRegion: `window` must be > 1, got {float(self.window)}."
            )
        if (
            not 0.0
            < float(self.min_radius)
            <= float(self.initial)
            <= float(self.max_radius)
        ):
            raise ValueError(
                "TrustRegion: need 0 < min_radius <= initial <= max_radius, got "
                f"{float(self.min_radius)}, {float(self.initial)}, "
                f"{float(self.max_radius)}."
            )

    def __call__(self, loss_at, theta, direction, loss, gradient):
        raise TypeError(
            "TrustRegion keeps its radius from step to step, so it is a search of "
            "NaturalGradient, Newton and GradientDescent; the momentum methods search "
            "along one direction with a stateless rule (LogGrid(), Backtracking(), "
            "Constant(lr))."
        )

    def init(self, theta, problem=None):
        monotone = self.monotone
        if monotone is None:
            monotone = problem is not None and has_samplers(problem)
        return TrustRegionState(jnp.asarray(self.initial, theta.dtype), bool(monotone))

    def default_descent(self):
        from ._descents import DampedDescent

        return DampedDescent()

    def radii(self, radius, full) -> Float[Array, " num"]:
        """The probed radii, ascending."""
        top = jnp.minimum(radius * self.window, full)
        frac = jnp.arange(self.num, dtype=top.dtype) / (self.num - 1)
        return top * self.window ** (2.0 * (frac - 1.0))

    def search(self, loss_at, theta, path, loss, gradient, state):
        centre = jnp.clip(state.radius, self.min_radius, self.max_radius)
        radii = self.radii(centre, path.full_norm)

        def probe(radius):
            point = path.at_radius(radius)
            f = _finite_or_inf(loss_at(theta - point.displacement))
            return point, f, _ratio(loss - f, point.predicted)

        if self.early_exit:
            top = radii[-1]
            where = 1.0 + jnp.log(centre / top) / (2.0 * jnp.log(self.window))
            start = jnp.clip(jnp.round((self.num - 1) * where), 0, self.num - 1)
            chosen, point, f, rho, evals = self._walk(
                probe, radii, start.astype(int), state.monotone
            )
        else:
            points = jax.vmap(path.at_radius)(radii)
            fs = lax.map(
                lambda d: _finite_or_inf(loss_at(theta - d)), points.displacement
            )
            rhos = _ratio(loss - fs, points.predicted)
            passing = jnp.cumprod(rhos >= self.target)  # this and every smaller radius
            chosen = jnp.maximum(jnp.sum(passing) - 1, 0)
            point = jax.tree.map(lambda x: x[chosen], points)
            f, rho, evals = fs[chosen], rhos[chosen], jnp.array(self.num)
        accepted = (rho > 0) & (f < loss)
        displacement = jnp.where(accepted, point.displacement, 0.0)
        size = jnp.where(accepted, point.fraction, 0.0)
        radius = jnp.clip(radii[chosen], self.min_radius, self.max_radius)
        stats = {
            "radius": radii[chosen],
            "damping": point.damping,
            "ratio": rho,
            "accepted": accepted,
            "search_evals": evals,
            "search_loss": jnp.where(accepted, f, loss),
        }
        state = TrustRegionState(radius, state.monotone)
        return displacement, size, stats, RESULTS.successful, state

    def _walk(self, probe, radii, start, monotone=False):
        """The largest radius whose ratio reaches the target, found by walking from the
        probe nearest the last radius: up while the ratio holds (and, if `monotone`, the
        loss does not rise), else down to the first that reaches it (or the smallest).
        Returns `(index, point, loss, ratio, evaluations)`."""
        first = probe(radii[start])
        up = first[2] >= self.target
        init = (
            jnp.where(up, start + 1, start - 1),  # next index to probe
            start,  # the best (or, going down, the last) index probed
            first,
            up,  # whether `best` reached the target
            jnp.array(False),  # done
            jnp.array(1),
        )

        def cond(carry):
            k, _, _, _, done, _ = carry
            return (k >= 0) & (k < self.num) & ~done

        def body(carry):
            k, best, out, found, _, evals = carry
            new = probe(radii[k])
            ok = new[2] >= self.target
            # Going up: keep every radius that passes (and, monotone, whose loss is no
            # higher than the last kept), stop at the first that does not.
            # Going down: keep the last probed, stop at the first that passes.
            longer = (ok & (new[1] <= out[1])) if monotone else ok
            keep = longer | ~up
            best = jnp.where(keep, k, best)
            out = jax.tree.map(lambda a, b: jnp.where(keep, b, a), out, new)
            done = jnp.where(up, ~longer, ok)
            step = jnp.where(up, 1, -1)
            return k + step, best, out, found | ok, done, evals + 1

        _, best, (point, f, rho), _, _, evals = lax.while_loop(cond, body, init)
        return best, point, f, rho, evals
