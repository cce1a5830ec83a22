"""Families of distributions $p(y\\mid z)$ indexed by the model's output $z$ at one input.

A family gives the log-likelihood of an outcome and a *Fisher feature map* $\\varphi(z)$
whose Jacobian has the family's Fisher information as Gram matrix,
$(\\partial\\varphi/\\partial z)^\\top(\\partial\\varphi/\\partial z) = F(z)
= \\mathbb{E}_{y\\sim p(\\cdot\\mid z)}[\\nabla_z\\log p\\,\\nabla_z\\log p^\\top]$. For a
discrete family that map is the Hellinger embedding $\\varphi_y = 2\\sqrt{p_y}$
($\\partial\\varphi_y = \\sqrt{p_y}\\,\\nabla\\log p_y$), computed as $2e^{\\log p_y/2}$ so it
stays finite when $p_y$ underflows. So [`ngflow.Fisher`][] is a factored metric like
any other: $E$ has rows $\\sqrt{w_n p_y}\\,\\nabla_\\theta\\log p_y(x_n)$.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Scalar


class AbstractFamily(eqx.Module):
    """A family $p(y\\mid z)$. Subclasses implement `log_prob`, `fisher_features` and
    `check_output`.

    ```python
    class Poisson(ng.AbstractFamily):  # y ~ Poisson(e^z): Fisher e^z = (∂_z 2e^{z/2})²
        def log_prob(self, z, y):
            return y * z - jnp.exp(z)  # up to a constant in y
        def fisher_features(self, z):
            return 2 * jnp.exp(z / 2)[None]
        def check_output(self, shape, who):
            assert shape == (), f"{who}: one log-rate per input"

    ng.Problem(model, ng.NegativeLogLikelihood(points, labels, Poisson()), ng.Fisher(points, Poisson()))
    ```
    """

    @abc.abstractmethod
    def log_prob(self, z: Array, y: Array) -> Scalar:
        """$\\log p(y\\mid z)$ for one output $z$ and one outcome $y$."""

    @abc.abstractmethod
    def fisher_features(self, z: Array) -> Float[Array, " k"]:
        """$\\varphi(z)$ with $(\\partial_z\\varphi)^\\top\\partial_z\\varphi = F(z)$."""

    @abc.abstractmethod
    def check_output(self, shape: tuple[int, ...], who: str) -> None:
        """Raise `ValueError` if a model output of this shape is not a valid $z$."""


class Categorical(AbstractFamily):
    """$p(y\\mid z) = \\operatorname{softmax}(z)_y$: the model returns $k \\ge 2$ logits per
    input; outcomes are integer labels $0..k-1$.

    Fisher in the logits: $\\operatorname{diag}(p) - pp^\\top$; features $2\\sqrt{p}$.

    ```python
    problem = ng.Problem(classifier, ng.CrossEntropy(points, labels),
                         ng.Fisher(points, ng.Categorical()))  # 2 logits per point
    ```
    """

    def log_prob(self, z, y):
        return jax.nn.log_softmax(z)[y]

    def fisher_features(self, z):
        return 2.0 * jnp.exp(0.5 * jax.nn.log_softmax(z))

    def check_output(self, shape, who):
        if len(shape) != 1 or shape[0] < 2:
            raise ValueError(
                f"{who}: Categorical needs the model to return a vector of k ≥ 2 logits "
                f"per input, got output shape {shape}. For two classes with one logit "
                "use Bernoulli()."
            )


class Bernoulli(AbstractFamily):
    """$p(1\\mid z) = \\sigma(z)$: the model returns one logit per input (a scalar);
    outcomes are 0 or 1.

    Fisher in the logit: $\\sigma(z)(1-\\sigma(z))$; features
    $2(\\sqrt{\\sigma(z)}, \\sqrt{\\sigma(-z)})$.

    ```python
    loss = ng.CrossEntropy(points, labels, family=ng.Bernoulli())  # labels 0/1
    problem = ng.Problem(model, loss, ng.Fisher(points, ng.Bernoulli()))  # logistic: one logit
    ```
    """

    def log_prob(self, z, y):
        return jnp.where(y > 0.5, jax.nn.log_sigmoid(z), jax.nn.log_sigmoid(-z))

    def fisher_features(self, z):
        return 2.0 * jnp.exp(0.5 * jax.nn.log_sigmoid(jnp.stack([z, -z])))

    def check_output(self, shape, who):
        if shape != ():
            raise ValueError(
                f"{who}: Bernoulli needs the model to return one logit (a scalar) per "
                f"input, got output shape {shape}. For k logits use Categorical()."
            )


class Gaussian(AbstractFamily):
    """$y\\sim\\mathcal N(\\mu, \\sigma^2)$ (independent components for vector outputs).

    With a fixed `std` the model returns the mean $\\mu$ (any shape); the Fisher in $\\mu$ is
    $I/\\sigma^2$ and the features are $\\mu/\\sigma$. With `std=None` the model returns
    $(\\mu, \\log\\sigma)$ stacked on a last axis of size 2; the Fisher in
    $(\\mu, \\log\\sigma)$ is $\\operatorname{diag}(1/\\sigma^2, 2)$, and the features
    $(\\mu/\\operatorname{sg}(\\sigma), \\sqrt2\\log\\sigma)$ have exactly that Jacobian
    (sg: stop-gradient, so their *values* are not a feature map of the distribution;
    only their Jacobian is used, except by `Nesterov(natural=True)` and the
    `FiniteDifference` transport, which difference values).

    **Arguments:** `std`: the fixed standard deviation $\\sigma > 0$ (default 1), or `None`.

    ```python
    y = jax.vmap(target)(points)  # observed values
    loss = ng.NegativeLogLikelihood(points, y, ng.Gaussian(0.1))  # the model returns μ
    problem = ng.Problem(model, loss, ng.Fisher(points, ng.Gaussian(0.1)))  # F = I/σ²
    ```
    """

    std: float | None = 1.0

    def __check_init__(self):
        if self.std is not None and not self.std > 0:
            raise ValueError(
                f"Gaussian: `std` must be positive or None, got {self.std}."
            )

    def _split(self, z):
        if self.std is None:
            return z[..., 0], z[..., 1]
        return z, jnp.log(jnp.asarray(self.std, z.dtype))

    def log_prob(self, z, y):
        mean, log_std = self._split(z)
        e = (y - mean) * jnp.exp(-log_std)
        return jnp.sum(-0.5 * e**2 - log_std - 0.5 * jnp.log(2 * jnp.pi))

    def fisher_features(self, z):
        mean, log_std = self._split(z)
        if self.std is None:
            scaled = mean / jax.lax.stop_gradient(jnp.exp(log_std))
            return jnp.concatenate(
                [jnp.ravel(scaled), jnp.sqrt(2.0) * jnp.ravel(log_std)]
            )
        return jnp.ravel(mean) / self.std

    def check_output(self, shape, who):
        if self.std is None and (len(shape) == 0 or shape[-1] != 2):
            raise ValueError(
                f"{who}: Gaussian(std=None) needs the model to return (mean, log_std) on a "
                f"last axis of size 2, got output shape {shape}."
            )


class Density(AbstractFamily):
    """An unnormalised density $v \\ge 0$ given by its values on quadrature points: the
    distribution is $p_n = w_n v(x_n)/\\sum_m w_m v(x_m)$ over the points.

    Not a per-input family: [`ngflow.Fisher`][] normalises over all its points, so its
    $E$ has rows $\\sqrt{w_n p_n}\\,(\\nabla\\log v_n - \\sum_m w_m p_m\\nabla\\log v_m)$ — the
    Fisher of the normalised density, blind to the scale of $v$.

    **Arguments:** `log`: the model returns $\\log v$ (default `False`: it returns $v > 0$).

    ```python
    x = jnp.linspace(-3, 3, 61)  # quadrature points
    log_v = eqx.nn.MLP("scalar", "scalar", 8, 1, activation=jnp.tanh, key=key)  # returns log v
    loss = ng.KL(lambda x: jnp.exp(-x**2 / 2), x, log=True)
    problem = ng.Problem(log_v, loss, ng.Fisher(x, ng.Density(log=True)))  # p_n ∝ w_n v(x_n)
    ```
    """

    log: bool = eqx.field(default=False, static=True)

    def log_value(self, z):
        """$\\log v$ from the model's output."""
        return z if self.log else jnp.log(z)

    def log_prob(self, z, y):
        raise TypeError(
            "Density: use it with ng.Fisher or the KL losses (it is normalised over points)."
        )

    def fisher_features(self, z):
        raise TypeError(
            "Density: normalised over all points by ng.Fisher, not per point."
        )

    def check_output(self, shape, who):
        if shape != ():
            raise ValueError(
                f"{who}: Density needs the model to return one value (v or log v) per "
                f"point, got output shape {shape}."
            )
