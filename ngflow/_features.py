"""Feature maps $\\Phi(\\theta)\\in\\mathbb{R}^N$ and their Jacobians $E = \\partial\\Phi/\\partial\\theta$.

A factored metric $G = E^\\top E$ and a residual loss $\\tfrac12\\|r\\|^2$ are both described
by a feature map built from *blocks*. Most blocks are pointwise (`PointBlock`: one small
function evaluated at each of $N$ points), so their Jacobian is computed as a `vmap` over
points of a per-point reverse-mode gradient: on an MLP with a thousand points this is two
orders of magnitude faster than `jax.jacfwd` of the whole map.
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PyTree

from ._params import partition_model


ModelAt = Callable[[Float[Array, " p"]], PyTree]


class AbstractBlock(eqx.Module):
    """A piece of a feature map: values $\\Phi_b(\\theta)$ and their Jacobian.

    ```python
    class Mean(ng.AbstractBlock):  # Φ_b(θ) = (the mean of u_θ over the points,)
        def value(self, model):
            return jnp.mean(jax.vmap(model)(points))[None]

    features = ng.Features((Mean(),))
    assert features.value(model).shape == (1,)  # its Jacobian comes from AbstractBlock
    ```
    """

    @abc.abstractmethod
    def value(self, model: PyTree) -> Float[Array, " n"]:
        """$\\Phi_b$ of a model, flat."""

    def jacobian(
        self, model_at: ModelAt, theta: Float[Array, " p"]
    ) -> Float[Array, "n p"]:
        """$\\partial\\Phi_b/\\partial\\theta$ as a dense matrix (default: whichever of
        forward or reverse mode needs fewer passes)."""
        fn = lambda t: self.value(model_at(t))
        n = jax.eval_shape(fn, theta).shape[0]
        if n < theta.shape[0]:
            return jax.jacrev(fn)(theta)
        return jax.jacfwd(fn)(theta)

    def value_and_jacobian(self, model_at, theta):
        """`(value, jacobian)`; blocks that can share the work override this."""
        return self.value(model_at(theta)), self.jacobian(model_at, theta)

    @property
    def num_points(self) -> int:
        """How many points a `subsample` can draw from (0: the block is kept whole)."""
        return 0

    def subsample(self, key, size: int) -> "AbstractBlock":
        """`size` of this block's points drawn without replacement, rows scaled by
        $\\sqrt{n/\\text{size}}$ so that $E_S^\\top E_S$ is an unbiased estimate of
        $E^\\top E$ (see `Features.subsample`); a block without points is kept whole."""
        del key, size
        return self

    def scan_rows(self, model_at, theta, chunk: int, fn, carry, *, lazy: bool = False):
        """Fold `fn(carry, values, jac) -> (carry, y)` over the rows of this block.

        Point blocks call `fn` on chunks of `chunk` points (`lax.scan`), so their
        Jacobian is never formed whole; other blocks call it once on all their rows.
        Returns the final carry and the `y`s concatenated along their first axis (one
        row of `y` per row of $\\Phi_b$; `y` may be `None`). With `lazy=True`, `fn` is
        called as `fn(carry, rows)` with `rows()` computing `(values, jac)`, so that it
        can skip the work (e.g. under `lax.cond`)."""
        del chunk
        rows = lambda: self.value_and_jacobian(model_at, theta)
        return fn(carry, rows) if lazy else fn(carry, *rows())


def _gram_step(acc, value, jac):
    return (acc[0] + jac.T @ jac, acc[1] + jac.T @ value), None


class PointBlock(AbstractBlock):
    """$\\Phi_b(\\theta)_{i} = s_i\\, f(u_\\theta, x_i, d_i)$ for points $x_i$, per-point data
    $d_i$ (or `None`) and scales $s_i$ (usually $\\sqrt{w_i}$).

    ```python
    w = jnp.full(32, 1 / 32)  # Φ_i = √w_i (u(x_i) − t(x_i)): the residual of LeastSquares
    block = ng.PointBlock(lambda u, x, d: u(x) - d, points, jax.vmap(target)(points), jnp.sqrt(w))
    assert block.value(model).shape == (32,)
    ```
    """

    fn: Callable
    points: Array
    data: PyTree
    scale: Float[Array, " n"]

    def value(self, model):
        vals = jax.vmap(lambda x, d: jnp.ravel(self.fn(model, x, d)))(
            self.points, self.data
        )
        return (self.scale[:, None] * vals).reshape(-1)

    def jacobian(self, model_at, theta):
        return self.value_and_jacobian(model_at, theta)[1]

    @property
    def num_points(self):
        return self.points.shape[0]

    def subsample(self, key, size):
        n = self.num_points
        if size >= n:
            return self
        index = jax.random.choice(key, n, (size,), replace=False)
        take = lambda x: x[index]
        scale = self.scale[index] * jnp.sqrt(n / size).astype(self.scale.dtype)
        return PointBlock(
            self.fn, take(self.points), jax.tree.map(take, self.data), scale
        )

    def value_and_jacobian(self, model_at, theta):
        """Values and Jacobian rows in one reverse pass per point (`vmap` of `vjp`)."""

        def at_point(x, d):
            value, pullback = jax.vjp(
                lambda t: jnp.ravel(self.fn(model_at(t), x, d)), theta
            )
            rows = jax.vmap(lambda e: pullback(e)[0])(
                jnp.eye(value.shape[0], dtype=value.dtype)
            )
            return value, rows

        values, jac = jax.vmap(at_point)(self.points, self.data)
        p = theta.shape[0]
        return (
            (self.scale[:, None] * values).reshape(-1),
            (self.scale[:, None, None] * jac).reshape(-1, p),
        )

    def scan_rows(self, model_at, theta, chunk, fn, carry, *, lazy=False):
        """`fn` on chunks of `chunk` points (`lax.scan`): peak memory is that of one
        chunk's rows, `chunk` × outputs × p. The last chunk is padded with copies of the
        first point at scale 0 (zero rows), whose `y` rows are dropped."""
        n = self.points.shape[0]
        chunks = -(-n // chunk)
        pad = chunks * chunk - n

        def split(x):  # (n, ...) -> (chunks, chunk, ...)
            x = jnp.concatenate([x, jnp.repeat(x[:1], pad, axis=0)]) if pad else x
            return x.reshape(chunks, chunk, *x.shape[1:])

        scale = jnp.concatenate([self.scale, jnp.zeros(pad, self.scale.dtype)])
        parts = (
            split(self.points),
            jax.tree.map(split, self.data),
            scale.reshape(chunks, chunk),
        )

        def body(acc, part):
            points, data, scale = part
            block = PointBlock(self.fn, points, data, scale)
            rows = lambda: block.value_and_jacobian(model_at, theta)
            return fn(acc, rows) if lazy else fn(acc, *rows())

        carry, ys = jax.lax.scan(body, carry, parts)
        # a chunk's y has chunk × (outputs per point) rows; keep those of the n real points
        ys = jax.tree.map(
            lambda y: y.reshape(-1, *y.shape[2:])[: n * (y.shape[1] // chunk)], ys
        )
        return carry, ys


class ModelBlock(AbstractBlock):
    """$\\Phi_b(\\theta) = f(u_\\theta)$ for any function $f$ of the model returning a vector.

    ```python
    mean = ng.ModelBlock(lambda u: jnp.mean(jax.vmap(u)(points))[None])  # Φ_b = (mean of u_θ,)
    assert mean.value(model).shape == (1,)
    ```
    """

    fn: Callable

    def value(self, model):
        return jnp.ravel(self.fn(model))


class ParameterBlock(AbstractBlock):
    """$\\Phi_b(\\theta) = A\\theta$ (the identity when `matrix` is `None`).

    ```python
    identity = ng.ParameterBlock()  # Φ_b(θ) = θ: the feature map of ng.Euclidean()
    assert identity.value(model).shape == (ng.num_parameters(model),)
    ```
    """

    matrix: Float[Array, "n p"] | None = None

    def value(self, model):
        theta, _ = ravel_pytree(partition_model(model)[0])
        return theta if self.matrix is None else self.matrix @ theta

    def jacobian(self, model_at, theta):
        if self.matrix is None:
            return jnp.eye(theta.shape[0], dtype=theta.dtype)
        return self.matrix


class MappedBlock(AbstractBlock):
    """$\\Phi_b(\\theta) = S\\,\\Phi_{\\text{inner}}(\\theta)$ for a scalar or a matrix $S$.

    ```python
    values = ng.ModelBlock(lambda u: jax.vmap(u)(points))
    block = ng.MappedBlock(jnp.sqrt(1 / 32), values)  # Φ_b = √(1/N) u_θ(X): L2 features
    assert block.value(model).shape == (32,)
    ```
    """

    map: Float[Array, "m n"] | Float[Array, ""]
    inner: AbstractBlock

    def _apply(self, x):
        return self.map * x if jnp.ndim(self.map) == 0 else self.map @ x

    def value(self, model):
        return self._apply(self.inner.value(model))

    def jacobian(self, model_at, theta):
        return self._apply(self.inner.jacobian(model_at, theta))

    def value_and_jacobian(self, model_at, theta):
        value, jac = self.inner.value_and_jacobian(model_at, theta)
        return self._apply(value), self._apply(jac)

    @property
    def num_points(self):
        return self.inner.num_points if jnp.ndim(self.map) == 0 else 0

    def subsample(self, key, size):
        if jnp.ndim(self.map) != 0:
            return self
        return MappedBlock(self.map, self.inner.subsample(key, size))

    def scan_rows(self, model_at, theta, chunk, fn, carry, *, lazy=False):
        if jnp.ndim(self.map) != 0:
            return super().scan_rows(model_at, theta, chunk, fn, carry, lazy=lazy)
        # a scale: chunk the inner block
        if lazy:

            def scaled(acc, rows):
                def scaled_rows():
                    value, jac = rows()
                    return self.map * value, self.map * jac

                return fn(acc, scaled_rows)

        else:
            scaled = lambda acc, value, jac: fn(acc, self.map * value, self.map * jac)
        return self.inner.scan_rows(model_at, theta, chunk, scaled, carry, lazy=lazy)


class Features(eqx.Module):
    """A feature map: the concatenation of its blocks.

    $\\Phi(\\theta) = (\\Phi_1(\\theta), \\dots, \\Phi_m(\\theta))$ and $E =
    \\partial\\Phi/\\partial\\theta$ stacks the blocks' Jacobians.

    ```python
    features = ng.Features((ng.ParameterBlock(), ng.ModelBlock(lambda u: jax.vmap(u)(points))))
    assert features.value(model).shape == (ng.num_parameters(model) + 32,)  # θ, then u_θ(X)
    ```
    """

    blocks: tuple[AbstractBlock, ...]

    def value(self, model) -> Float[Array, " N"]:
        return jnp.concatenate([b.value(model) for b in self.blocks])

    def jacobian(self, model_at, theta) -> Float[Array, "N p"]:
        return jnp.concatenate([b.jacobian(model_at, theta) for b in self.blocks])

    def value_and_jacobian(self, model_at, theta):
        """$(\\Phi(\\theta), E)$ computed together (one pass per point for point blocks)."""
        parts = [b.value_and_jacobian(model_at, theta) for b in self.blocks]
        return (
            jnp.concatenate([v for v, _ in parts]),
            jnp.concatenate([j for _, j in parts]),
        )

    def scan_rows(self, model_at, theta, chunk: int, fn, carry, *, lazy: bool = False):
        """`AbstractBlock.scan_rows` over every block in turn (the carry threads through
        them; the `y`s are concatenated in row order)."""
        ys = []
        for b in self.blocks:
            carry, y = b.scan_rows(model_at, theta, chunk, fn, carry, lazy=lazy)
            ys.append(y)
        if all(y is None for y in ys):
            return carry, None
        return carry, jax.tree.map(lambda *y: jnp.concatenate(y), *ys)

    def gram(self, model_at, theta, chunk: int):
        """$(E^\\top E, E^\\top\\Phi)$ accumulated over chunks of `chunk` points:
        $E$ is never formed whole (memory $p^2$ plus one chunk's rows)."""
        p = theta.shape[0]
        zero = (jnp.zeros((p, p), theta.dtype), jnp.zeros(p, theta.dtype))
        return self.scan_rows(model_at, theta, chunk, _gram_step, zero)[0]

    def sample_gram(self, model_at, theta, chunk: int):
        """$(K, \\Phi)$ with $K = EE^\\top$ ($N\\times N$) built from chunks of `chunk`
        points: for each chunk $a$ the blocks $E_bE_a^\\top$ of the chunks $b\\ge a$ (the
        others are skipped by `lax.cond` and filled in by symmetry), with the rows of
        $E_b$ recomputed. Memory: $N^2$ plus two chunks' rows; about $N^2p$ flops for the
        products, and the Jacobian is computed about $N/(2\\,$`chunk`$)$ times over."""
        dtype = theta.dtype

        def outer(a, value_jac_a):
            value_a, jac_a = value_jac_a()

            def inner(b, rows_b):
                shape = jax.eval_shape(rows_b)[1].shape[:1] + jac_a.shape[:1]
                block = jax.lax.cond(
                    b >= a,
                    lambda: rows_b()[1] @ jac_a.T,
                    lambda: jnp.zeros(shape, dtype),
                )
                return b + 1, block

            columns = self.scan_rows(model_at, theta, chunk, inner, 0, lazy=True)[1]
            return a + 1, (value_a, columns.T, jnp.full(jac_a.shape[0], a))

        values, upper, index = self.scan_rows(
            model_at, theta, chunk, outer, 0, lazy=True
        )[1]
        diagonal = (
            index[:, None] == index[None, :]
        )  # the blocks E_aE_aᵀ, in both halves
        return upper + upper.T - jnp.where(diagonal, upper, 0.0), values

    def subsample(self, key, size: int) -> "Features":
        """About `size` points drawn from the point blocks (without replacement, in
        proportion to their sizes, at least one each), with rows scaled by
        $\\sqrt{n_b/m_b}$: $E_S^\\top E_S$ is then an unbiased estimate of $E^\\top E$ over
        those blocks (a row-sampling sketch $SE$). Blocks without points are kept whole.

        ```python
        rows = features.subsample(jax.random.key(0), 256)  # E_S: about 256 of the rows
        ```
        """
        total = sum(b.num_points for b in self.blocks)
        if total == 0 or size >= total:
            return self
        keys = jax.random.split(key, len(self.blocks))
        blocks = []
        for k, b in zip(keys, self.blocks, strict=True):
            n = b.num_points
            blocks.append(b.subsample(k, max(1, round(size * n / total))) if n else b)
        return Features(tuple(blocks))

    def scaled(self, factor) -> "Features":
        return Features(tuple(MappedBlock(factor, b) for b in self.blocks))
