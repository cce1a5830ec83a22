"""The Fisher (KL) metric of a probabilistic model, and the empirical Fisher."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from .._checks import as_points, as_weights, output_shape
from .._families import AbstractFamily, Density
from .._features import AbstractBlock, Features, PointBlock
from ._base import AbstractFactoredMetric


def _check_family(family, who):
    if not isinstance(family, AbstractFamily):
        raise TypeError(
            f"{who}: `family` must be ng.Categorical(), ng.Bernoulli(), ng.Gaussian(...) "
            f"or ng.Density(...), got {family!r}."
        )


class _FisherFeatures(eqx.Module):
    family: AbstractFamily

    def __call__(self, model, x, _):
        return self.family.fisher_features(model(x))


class _LogProb(eqx.Module):
    family: AbstractFamily

    def __call__(self, model, x, y):
        return self.family.log_prob(model(x), y)


class _LogValue(eqx.Module):
    family: Density

    def __call__(self, model, x, _):
        return self.family.log_value(model(x))


class NormalisedDensityBlock(AbstractBlock):
    """$\\Phi_n = 2\\sqrt{q_n}$ with $q_n = w_n v_n/\\sum_m w_m v_m$: the Hellinger embedding of
    a density given by its values $v_n$ on quadrature points. $E$ is built from the
    per-point gradients $J_n = \\nabla\\log v_n$ as $\\sqrt{q_n}(J_n - \\sum_m q_m J_m)$."""

    log_value: PointBlock
    log_weights: Float[Array, " N"]

    def _log_q(self, log_v):
        a = log_v + self.log_weights
        return a - jax.nn.logsumexp(a)

    def value(self, model: PyTree):
        return 2.0 * jnp.exp(0.5 * self._log_q(self.log_value.value(model)))

    def jacobian(self, model_at, theta):
        return self.value_and_jacobian(model_at, theta)[1]

    def value_and_jacobian(self, model_at, theta):
        log_v, rows = self.log_value.value_and_jacobian(model_at, theta)
        log_q = self._log_q(log_v)
        q = jnp.exp(log_q)
        centred = rows - q @ rows
        return 2.0 * jnp.exp(0.5 * log_q), jnp.exp(0.5 * log_q)[:, None] * centred


class Fisher(AbstractFactoredMetric):
    """The Fisher information metric (Amari's natural gradient; seed 001):
    $G = \\sum_n w_n\\,\\mathbb{E}_{y\\sim p(\\cdot\\mid x_n,\\theta)}
    [\\nabla_\\theta\\log p(y\\mid x_n)\\,\\nabla_\\theta\\log p(y\\mid x_n)^\\top]$, the Hessian of
    $\\mathrm{KL}(p_\\theta\\,\\|\\,p_{\\theta+d\\theta})$ at $d\\theta = 0$.

    It is factored, $G = E^\\top E$, with $E$ the Jacobian of the Hellinger embedding
    $\\Phi_{n,y} = 2\\sqrt{w_n p(y\\mid x_n)}$ (rows $\\sqrt{w_n p_y}\\nabla_\\theta\\log p_y$; see
    the family for continuous outcomes), so every Gram solve, `Greedy`, momentum and flow
    works with it. The expectation over $y$ is exact (the model's own distribution), not
    sampled; compare [`ngflow.EmpiricalFisher`][].

    **Arguments:**

    - `points`: the inputs $x_n$, shape `(N,)` or `(N, d)` (for a [`ngflow.Density`][],
        the quadrature points).
    - `family`: [`ngflow.Categorical`][] (model returns logits), [`ngflow.Bernoulli`][]
        (one logit), [`ngflow.Gaussian`][] (mean, or mean and log-std), or
        [`ngflow.Density`][] (an unnormalised density, normalised over the points).
    - `weights`: shape `(N,)`; default $1/N$ (for a density: the quadrature weights).

    ```python
    metric = ng.Fisher(points, ng.Categorical())  # classifier: 2 logits per point
    problem = ng.Problem(classifier, ng.CrossEntropy(points, labels), metric)
    ```
    """

    points: Float[Array, "N ..."]
    family: AbstractFamily
    weights: Float[Array, " N"]

    def __init__(self, points, family, weights=None):
        _check_family(family, "Fisher")
        self.points = as_points(points, "Fisher")
        self.family = family
        self.weights = as_weights(weights, self.points.shape[0], "Fisher")

    def features(self, loss):
        n = self.points.shape[0]
        if isinstance(self.family, Density):
            inner = PointBlock(_LogValue(self.family), self.points, None, jnp.ones(n))
            return Features((NormalisedDensityBlock(inner, jnp.log(self.weights)),))
        block = PointBlock(
            _FisherFeatures(self.family), self.points, None, jnp.sqrt(self.weights)
        )
        return Features((block,))

    def check(self, model, loss):
        self.family.check_output(output_shape(model, self.points, "Fisher"), "Fisher")


class EmpiricalFisher(AbstractFactoredMetric):
    """The *empirical* Fisher $\\sum_n w_n\\,g_ng_n^\\top$, $g_n = \\nabla_\\theta\\log p(y_n\\mid x_n)$
    at the observed outcomes $y_n$.

    It is not the Fisher: [`ngflow.Fisher`][] averages over outcomes drawn from the
    *model*, this uses the data's. The two agree only where the model already fits the
    data's distribution; elsewhere the empirical Fisher is not a curvature of the loss
    (its inverse rescales the gradient by the gradients' own outer products, so with
    one example per direction the step is $\\pm$ a unit step in the gradient's sign —
    Kunstner, Balles & Hennig 2019). It is here because many optimisers use it, and to
    compare. $E$ has rows $\\sqrt{w_n}\\,g_n$.

    **Arguments:** `points`, `outcomes` (one per point: labels for `Categorical` and
    `Bernoulli`, values for `Gaussian`), `family`, `weights` (default $1/N$).

    ```python
    metric = ng.EmpiricalFisher(points, labels, ng.Categorical())  # g_n at the observed labels
    problem = ng.Problem(classifier, ng.CrossEntropy(points, labels), metric)
    ```
    """

    points: Float[Array, "N ..."]
    outcomes: Array
    family: AbstractFamily
    weights: Float[Array, " N"]

    def __init__(self, points, outcomes, family, weights=None):
        _check_family(family, "EmpiricalFisher")
        if isinstance(family, Density):
            raise TypeError(
                "EmpiricalFisher: a Density has no per-point outcomes; use Fisher."
            )
        self.points = as_points(points, "EmpiricalFisher")
        self.outcomes = jnp.asarray(outcomes)
        if self.outcomes.ndim == 0 or self.outcomes.shape[0] != self.points.shape[0]:
            raise ValueError(
                f"EmpiricalFisher: `outcomes` has shape {self.outcomes.shape}, expected "
                f"({self.points.shape[0]}, ...): one outcome per point."
            )
        self.family = family
        self.weights = as_weights(weights, self.points.shape[0], "EmpiricalFisher")

    def features(self, loss):
        block = PointBlock(
            _LogProb(self.family), self.points, self.outcomes, jnp.sqrt(self.weights)
        )
        return Features((block,))

    def check(self, model, loss):
        self.family.check_output(
            output_shape(model, self.points, "EmpiricalFisher"), "EmpiricalFisher"
        )
