"""Losses of probabilistic models: negative log-likelihood (cross-entropy) and KL
divergences between densities on quadrature points (seed 003: $\\int v\\log(v/u)$)."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import as_points, as_weights, output_shape
from .._families import AbstractFamily, Categorical, Density
from ._base import AbstractLoss


class NegativeLogLikelihood(AbstractLoss):
    """$\\mathcal L = -\\sum_n w_n\\log p(y_n\\mid x_n)$ for a [family][ngflow.Fisher] $p(y\\mid z)$
    of the model's output $z = u_\\theta(x_n)$.

    **Arguments:** `points` (shape `(N,)` or `(N, d)`), `outcomes` (one per point: integer
    labels for `Categorical`, 0/1 for `Bernoulli`, values for `Gaussian`), `family`,
    `weights` (default $1/N$: the mean).

    ```python
    loss = ng.NegativeLogLikelihood(points, labels, ng.Bernoulli())  # −mean log p(y_n | x_n)
    problem = ng.Problem(model, loss, ng.Fisher(points, ng.Bernoulli()))
    ```
    """

    points: Float[Array, "N ..."]
    outcomes: Array
    family: AbstractFamily
    weights: Float[Array, " N"]

    def __init__(self, points, outcomes, family, weights=None):
        who = type(self).__name__
        if not isinstance(family, AbstractFamily) or isinstance(family, Density):
            raise TypeError(
                f"{who}: `family` must be ng.Categorical(), ng.Bernoulli() or "
                f"ng.Gaussian(...), got {family!r} (for densities use ng.KL/ng.ReverseKL)."
            )
        self.points = as_points(points, who)
        self.outcomes = jnp.asarray(outcomes)
        if self.outcomes.ndim == 0 or self.outcomes.shape[0] != self.points.shape[0]:
            raise ValueError(
                f"{who}: `outcomes` has shape {self.outcomes.shape}, expected "
                f"({self.points.shape[0]}, ...): one outcome per point."
            )
        self.family = family
        self.weights = as_weights(weights, self.points.shape[0], who)

    def __call__(self, model):
        log_p = jax.vmap(lambda x, y: self.family.log_prob(model(x), y))(
            self.points, self.outcomes
        )
        return -jnp.sum(self.weights * log_p)

    def check(self, model):
        who = type(self).__name__
        self.family.check_output(output_shape(model, self.points, who), who)
        if isinstance(self.family, Categorical):
            if not jnp.issubdtype(self.outcomes.dtype, jnp.integer):
                raise ValueError(f"{who}: Categorical outcomes must be integer labels.")


class CrossEntropy(NegativeLogLikelihood):
    """Cross-entropy of a classifier: $-\\sum_n w_n\\log\\operatorname{softmax}(u_\\theta(x_n))_{y_n}$
    ([`ngflow.NegativeLogLikelihood`][] with [`ngflow.Categorical`][] by default; pass
    `family=ng.Bernoulli()` for one logit and labels 0/1).

    ```python
    loss = ng.CrossEntropy(points, labels)          # labels: integers 0..k-1
    problem = ng.Problem(classifier, loss, ng.Fisher(points, ng.Categorical()))
    ```
    """

    def __init__(
        self, points, labels, weights=None, family: AbstractFamily = Categorical()
    ):
        super().__init__(points, labels, family, weights)


class _DensityLoss(AbstractLoss):
    target: Float[Array, " N"]
    points: Float[Array, "N ..."]
    weights: Float[Array, " N"]
    log: bool = eqx.field(static=True)

    def __init__(self, target, points, weights=None, *, log=False):
        who = type(self).__name__
        self.points = as_points(points, who)
        n = self.points.shape[0]
        self.weights = as_weights(weights, n, who)
        values = (
            jax.vmap(target)(self.points) if callable(target) else jnp.asarray(target)
        )
        if values.shape != (n,):
            raise ValueError(
                f"{who}: the target density has shape {values.shape} on the points, "
                f"expected ({n},)."
            )
        self.target = values
        self.log = log

    def _log_q(self, log_v):
        a = log_v + jnp.log(self.weights)
        return a - jax.nn.logsumexp(a)

    def log_model(self, model):
        """$\\log q_n$ of the model: its density normalised over the points."""
        z = jax.vmap(model)(self.points)
        return self._log_q(z if self.log else jnp.log(z))

    def log_target(self):
        return self._log_q(jnp.log(self.target))

    def check(self, model):
        Density(log=self.log).check_output(
            output_shape(model, self.points, type(self).__name__), type(self).__name__
        )


def _xlogy_ratio(log_a, log_b):
    """$\\sum a\\log(a/b)$ from logs, with $0\\log 0 = 0$."""
    a = jnp.exp(log_a)
    return jnp.sum(jnp.where(a > 0, a * (log_a - log_b), 0.0))


class KL(_DensityLoss):
    """$\\mathrm{KL}(t\\,\\|\\,v) = \\int t\\log(t/v)$ between densities on quadrature points,
    both normalised over the points ($q_n = w_nv_n/\\sum_m w_mv_m$): the model $v$ is
    fitted to the target $t$ (maximum likelihood; mass-covering).

    **Arguments:** `target` (a density function $t(x)\\ge0$ or its values at the points),
    `points`, `weights` (quadrature, default $1/N$), `log` (the model returns $\\log v$;
    default `False`: it returns $v > 0$).

    ```python
    x = jnp.linspace(-3, 3, 61)  # quadrature points
    log_v = eqx.nn.MLP("scalar", "scalar", 8, 1, activation=jnp.tanh, key=key)  # returns log v
    loss = ng.KL(lambda x: jnp.exp(-x**2 / 2), x, log=True)  # KL(t‖v), t a Gaussian
    problem = ng.Problem(log_v, loss, ng.Fisher(x, ng.Density(log=True)))
    ```
    """

    def __call__(self, model):
        return _xlogy_ratio(self.log_target(), self.log_model(model))


class ReverseKL(_DensityLoss):
    """$\\mathrm{KL}(v\\,\\|\\,t) = \\int v\\log(v/t)$ (seed 003's KL loss; mode-seeking), on
    quadrature points with both densities normalised over the points. Arguments as
    [`ngflow.KL`][].

    ```python
    x = jnp.linspace(-3, 3, 61)
    loss = ng.ReverseKL(lambda x: jnp.exp(-x**2 / 2), x, log=True)  # KL(v‖t): mode-seeking
    ```
    """

    def __call__(self, model):
        return _xlogy_ratio(self.log_model(model), self.log_target())
