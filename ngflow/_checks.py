"""Input validation shared by losses, metrics and problems: fail early, say what to change."""

import jax
import jax.numpy as jnp
import numpy as np


def as_points(points, who: str):
    """Validate and return a point array of shape `(N, *point_shape)`."""
    try:
        arr = jnp.asarray(points)
    except TypeError as e:
        raise TypeError(f"{who}: `points` must be an array, got {type(points)}.") from e
    if arr.ndim == 0:
        raise ValueError(
            f"{who}: `points` must have a leading axis of points, shape (N,) or "
            f"(N, d); got a scalar."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{who}: `points` is empty (shape {arr.shape}).")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise ValueError(
            f"{who}: `points` must be floating point, got dtype {arr.dtype}; pass "
            "e.g. `jnp.asarray(points, dtype=float)`."
        )
    return arr


def as_weights(weights, n: int, who: str, name: str = "weights"):
    """Validate quadrature weights of shape `(n,)`; `None` means $1/n$ each."""
    if weights is None:
        return jnp.full((n,), 1.0 / n)
    arr = jnp.asarray(weights)
    if arr.ndim == 0:
        arr = jnp.full((n,), arr)
    if arr.shape != (n,):
        raise ValueError(
            f"{who}: `{name}` has shape {arr.shape}, expected ({n},): one weight per "
            "point."
        )
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(float)
    if is_concrete(arr) and bool(np.any(np.asarray(arr) < 0)):
        raise ValueError(f"{who}: `{name}` must be non-negative.")
    return arr


def is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def output_shape(model, points, who: str) -> tuple[int, ...]:
    """Shape of `model(points[0])`, or a ValueError naming the point shape."""
    try:
        out = jax.eval_shape(model, points[0])
    except Exception as e:  # noqa: BLE001 - any failure here is a shape problem
        raise ValueError(
            f"{who}: the model cannot be evaluated at one point of shape "
            f"{tuple(points.shape[1:])} (from `points` of shape {tuple(points.shape)}); "
            f"the model raised: {type(e).__name__}: {e}"
        ) from None
    if not hasattr(out, "shape"):
        raise ValueError(
            f"{who}: the model must return one array per point; it returned {out}."
        )
    return tuple(out.shape)


def check_dtype(model_dtype, points, who: str):
    if jnp.asarray(points).dtype != model_dtype:
        raise ValueError(
            f"{who}: `points` are {jnp.asarray(points).dtype} but the model's "
            f"parameters are {model_dtype}; use one dtype (float64 by default: build "
            "arrays and models after `import ngflow`)."
        )


def symmetric_sqrt(K, who: str, name: str = "K"):
    """$S$ with $S^\\top S = K$ for a symmetric positive semidefinite $K$ (via `eigh`)."""
    K = jnp.asarray(K)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(
            f"{who}: `{name}` must be a square matrix, got shape {K.shape}."
        )
    if is_concrete(K):
        Kn = np.asarray(K)
        scale = max(float(np.max(np.abs(Kn))), 1e-300)
        if not np.allclose(Kn, Kn.T, rtol=0, atol=1e-10 * scale):
            raise ValueError(f"{who}: `{name}` must be symmetric.")
    evals, evecs = jnp.linalg.eigh(0.5 * (K + K.T))
    if is_concrete(evals):
        lo = float(jnp.min(evals))
        hi = float(jnp.max(jnp.abs(evals)))
        if lo < -1e-10 * max(hi, 1e-300):
            raise ValueError(
                f"{who}: `{name}` must be positive semidefinite; its smallest "
                f"eigenvalue is {lo:.3e}."
            )
    return jnp.sqrt(jnp.clip(evals, 0.0))[:, None] * evecs.T
