"""Readable reprs for settings modules: `Cholesky(damping=1e-06, relative=True, ...)`.

Equinox prints array fields by shape (`f64[]`), which hides a step size or a damping;
the solvers, step rules, methods and flows store their numbers as 0-d arrays (so new
values do not recompile), so their reprs print those as numbers.
"""

import dataclasses

import equinox as eqx
import jax
import numpy as np


def _field(value) -> str:
    if isinstance(value, (jax.Array, np.ndarray)) and value.ndim == 0:
        try:
            return repr(value.item())
        except (jax.errors.ConcretizationTypeError, TypeError):  # a tracer under jit
            pass
    if isinstance(value, eqx.Module):
        return repr(value)
    return eqx.tree_pformat(value, short_arrays=True)


def settings_repr(self) -> str:
    # positional fields first, then keyword-only ones (a flow's integrator options)
    fields = sorted(
        (f for f in dataclasses.fields(self) if f.repr), key=lambda f: bool(f.kw_only)
    )
    body = ", ".join(f"{f.name}={_field(getattr(self, f.name))}" for f in fields)
    return f"{type(self).__name__}({body})"
