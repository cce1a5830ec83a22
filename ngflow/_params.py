"""Parameters of a model: its inexact array leaves, flattened to one vector."""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PyTree


class Frozen(eqx.Module):
    """Marks part of a model as data, not parameters.

    Every inexact array leaf of a model is a parameter, except those inside a `Frozen`.
    Use it for fixed matrices of a model (a basis, a mixing matrix):

    ```python
    class Mixed(eqx.Module):
        theta: jax.Array
        B: ng.Frozen

        def __call__(self, x):
            return self.theta @ self.B.value @ basis(x)

    basis = lambda x: jnp.stack([jnp.ones_like(x), x, x**2])
    assert ng.num_parameters(Mixed(jnp.ones(3), ng.Frozen(jnp.eye(3)))) == 3  # B is data
    ```

    **Arguments:**

    - `value`: any pytree; it is carried along but never differentiated.
    """

    value: PyTree


def _is_frozen(x: Any) -> bool:
    return isinstance(x, Frozen)


def _is_parameter(x: Any) -> bool:
    return (not _is_frozen(x)) and eqx.is_inexact_array(x)


def partition_model(model: PyTree) -> tuple[PyTree, PyTree]:
    """Split a model into (parameters, everything else)."""
    return eqx.partition(model, _is_parameter, is_leaf=_is_frozen)


def parameter_leaves(model: PyTree) -> list[Array]:
    params, _ = partition_model(model)
    import jax.tree_util as jtu

    return jtu.tree_leaves(params)


def num_parameters(model: PyTree) -> int:
    """The number $p$ of scalar parameters of a model.

    ```python
    assert ng.num_parameters(model) == 33  # (2·8 + 8) + (8 + 1)
    ```
    """
    return int(sum(np.size(leaf) for leaf in parameter_leaves(model)))


class FlatModel:
    """A model seen as a function of one flat parameter vector $\\theta\\in\\mathbb{R}^p$.

    Built inside `jit`; not a pytree.

    ```python
    flat = ng.FlatModel(model)
    assert flat.size == ng.num_parameters(model)  # θ ∈ R^p
    flat.model_at(2 * flat.theta0)(points[0])  # the model at other parameters
    ```
    """

    def __init__(self, model: PyTree):
        params, self._static = partition_model(model)
        self.theta0: Float[Array, " p"]
        self.theta0, self._unravel = ravel_pytree(params)

    @property
    def size(self) -> int:
        return self.theta0.shape[0]

    def model_at(self, theta: Float[Array, " p"]) -> PyTree:
        return eqx.combine(self._unravel(theta), self._static, is_leaf=_is_frozen)

    def __call__(self, theta) -> Callable:
        return self.model_at(theta)


def check_parameters(model: PyTree, what: str = "model") -> jnp.dtype:
    """Raise a `ValueError` if a model has no parameters or mixed parameter dtypes."""
    leaves = parameter_leaves(model)
    if sum(np.size(leaf) for leaf in leaves) == 0:
        raise ValueError(
            f"The {what} has no parameters: ngflow optimises the inexact (floating) "
            "array leaves of an equinox Module, and found none. Store the parameters "
            "as float arrays, outside `ng.Frozen`."
        )
    dtypes = sorted({str(jnp.asarray(leaf).dtype) for leaf in leaves})
    if len(dtypes) > 1:
        raise ValueError(
            f"The {what}'s parameters have mixed dtypes {dtypes}; use one dtype "
            "(float64 is the default once ngflow is imported)."
        )
    return jnp.asarray(leaves[0]).dtype
