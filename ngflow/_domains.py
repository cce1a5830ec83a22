"""Domains and their points: grids, uniform samples, and samplers redrawn during a solve."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray


class Box(eqx.Module):
    """The box $\\prod_i [\\text{lower}_i, \\text{upper}_i]\\subset\\mathbb{R}^d$.

    ```python
    square = ng.Box([0, 0], [1, 1])
    interior = square.interior_grid(28)      # 28×28, spacing 1/29, boundary excluded
    boundary = square.boundary_grid(29)      # 4·29 points, spacing 1/29, corners once
    sampler = square.sampler(4000, every=1)  # fresh uniform points at every step
    ```

    **Arguments:**

    - `lower`, `upper`: the corners, scalars (for $d = 1$) or sequences of length $d$.
    """

    lower: Float[Array, " d"]
    upper: Float[Array, " d"]

    def __init__(self, lower, upper):
        lower = jnp.atleast_1d(jnp.asarray(lower, dtype=float))
        upper = jnp.atleast_1d(jnp.asarray(upper, dtype=float))
        if lower.ndim != 1 or lower.shape != upper.shape:
            raise ValueError(
                f"Box: `lower` and `upper` must be vectors of one length, got shapes "
                f"{lower.shape} and {upper.shape}."
            )
        if not bool(jnp.all(upper > lower)):
            raise ValueError("Box: every `upper` must exceed `lower`.")
        self.lower, self.upper = lower, upper

    @property
    def dim(self) -> int:
        return self.lower.shape[0]

    def _lattice(self, ticks: np.ndarray) -> Float[Array, "M d"]:
        """All points whose coordinates are `lower + ticks·(upper − lower)`."""
        unit = np.stack(np.meshgrid(*([ticks] * self.dim), indexing="ij"), -1)
        unit = jnp.asarray(unit.reshape(-1, self.dim))
        return self.lower + unit * (self.upper - self.lower)

    def grid(self, n: int) -> Float[Array, "M d"]:
        """$n^d$ points, `n` per axis from `lower` to `upper` inclusive (for evaluation)."""
        return self._lattice(np.linspace(0.0, 1.0, n))

    def interior_grid(self, n: int) -> Float[Array, "M d"]:
        """$n^d$ points, spacing $1/(n+1)$ of each side, boundary excluded (ENGD's convention)."""
        return self._lattice(np.arange(1, n + 1) / (n + 1))

    def boundary_grid(self, n: int) -> Float[Array, "M d"]:
        """The points of the grid with `n` intervals per side that lie on the boundary:
        $(n+1)^d - (n-1)^d$ points, corners once (for $d = 2$, $4n$)."""
        ticks = np.arange(n + 1) / n
        unit = np.stack(np.meshgrid(*([ticks] * self.dim), indexing="ij"), -1)
        unit = unit.reshape(-1, self.dim)
        on_boundary = np.any((unit == 0.0) | (unit == 1.0), axis=1)
        return self.lower + jnp.asarray(unit[on_boundary]) * (self.upper - self.lower)

    def sample(self, key: PRNGKeyArray, n: int) -> Float[Array, "n d"]:
        """`n` uniform points in the box."""
        u = jax.random.uniform(key, (n, self.dim), dtype=self.lower.dtype)
        return self.lower + u * (self.upper - self.lower)

    def sample_boundary(self, key: PRNGKeyArray, n: int) -> Float[Array, "n d"]:
        """`n` uniform points on the boundary (faces chosen in proportion to their area)."""
        d = self.dim
        side = self.upper - self.lower
        if d == 1:
            pick = jax.random.bernoulli(key, 0.5, (n, 1))
            return jnp.where(pick, self.upper, self.lower)
        k_face, k_side, k_pos = jax.random.split(key, 3)
        area = jnp.prod(side) / side  # the area of the faces normal to each axis
        axis = jax.random.choice(k_face, d, (n,), p=area / jnp.sum(area))
        upper_face = jax.random.bernoulli(k_side, 0.5, (n,))
        points = self.sample(k_pos, n)
        value = jnp.where(upper_face, self.upper[axis], self.lower[axis])
        return points.at[jnp.arange(n), axis].set(value)

    def sampler(self, n: int, *, every: int = 1, sharding=None) -> "UniformSampler":
        """A sampler of `n` uniform interior points, redrawn every `every` steps (placed
        by `sharding`, see [`ngflow.UniformSampler`][])."""
        return UniformSampler(self, n, every, sharding)

    def boundary_sampler(
        self, n: int, *, every: int = 1, sharding=None
    ) -> "BoundarySampler":
        """A sampler of `n` uniform boundary points, redrawn every `every` steps."""
        return BoundarySampler(self, n, every, sharding)


class AbstractSampler(eqx.Module):
    """Points redrawn during a solve: `sampler(key) -> (n, d)` array.

    Pass a sampler where a loss takes `points` (e.g. [`ngflow.Residual`][]): during
    [`ngflow.solve`][] the points of step $k$ are `sampler(fold_in(key, k // every))`
    (the `key` argument of `solve`), so a solve is reproducible and needs no state.

    ```python
    class Circle(ng.AbstractSampler):  # n uniform points on the unit circle
        n: int = eqx.field(default=64, static=True)
        every: int = eqx.field(default=1, static=True)
        def __call__(self, key):
            a = jax.random.uniform(key, (self.n,), maxval=2 * jnp.pi)
            return jnp.stack([jnp.cos(a), jnp.sin(a)], axis=-1)

    boundary = ng.Residual(lambda u, x: u(x), Circle())  # new points every step of ng.solve
    ```
    """

    every: eqx.AbstractVar[int]

    @abc.abstractmethod
    def __call__(self, key: PRNGKeyArray) -> Float[Array, "n d"]:
        """Draw the points."""


def _check_every(every):
    if not isinstance(every, (int, np.integer)) or every < 1:
        raise ValueError(f"`every` must be a positive integer, got {every!r}.")


class UniformSampler(AbstractSampler):
    """`n` uniform points in a box, redrawn every `every` steps.

    The points are i.i.d. uniform in $B = \\prod_i [a_i, b_i]$.

    With `sharding` (e.g. `NamedSharding(mesh, PartitionSpec("points"))`) the drawn
    points are constrained to it, so each device (each process of a `jax.distributed`
    run) draws only its own rows; the points are the same as without it (JAX's
    partitionable threefry).

    ```python
    sampler = ng.UniformSampler(ng.Box([0, 0], [1, 1]), 500, every=5)  # = box.sampler(500, every=5)
    assert sampler(key).shape == (500, 2)
    interior = ng.Residual(lambda u, x: ng.laplacian(u, x) + f(x), sampler)
    ```
    """

    box: Box
    n: int = eqx.field(static=True)
    every: int = eqx.field(static=True)
    sharding: jax.sharding.Sharding | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        _check_every(self.every)

    def __call__(self, key):
        return self.box.sample(key, self.n)


class BoundarySampler(AbstractSampler):
    """`n` uniform points on the boundary of a box, redrawn every `every` steps.

    The points are i.i.d. uniform on $\\partial B$, $B = \\prod_i [a_i, b_i]$ (faces
    drawn in proportion to their area).

    ```python
    square = ng.Box([0, 0], [1, 1])
    sampler = ng.BoundarySampler(square, 64, every=10)  # = square.boundary_sampler(64, every=10)
    assert sampler(key).shape == (64, 2)
    boundary = ng.Residual(lambda u, x: u(x), sampler)  # redrawn every 10 steps
    ```
    """

    box: Box
    n: int = eqx.field(static=True)
    every: int = eqx.field(static=True)
    sharding: jax.sharding.Sharding | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        _check_every(self.every)

    def __call__(self, key):
        return self.box.sample_boundary(key, self.n)


def _has_sampler(node) -> bool:
    return isinstance(node, eqx.Module) and isinstance(
        getattr(node, "sampler", None), AbstractSampler
    )


def has_samplers(tree) -> bool:
    """Whether any part of `tree` draws its points from a sampler."""
    return any(_has_sampler(x) for x in jtu.tree_leaves(tree, is_leaf=_has_sampler))


def resample(tree, key: PRNGKeyArray, step):
    """`tree` with the points of every sampled part drawn for step `step`.

    A part is sampled if it has a `sampler` field (an [`ngflow.AbstractSampler`][]) and a
    `points` field; its points become `sampler(fold_in(key, step // sampler.every))`.

    The points at step $k$ are $X_k = S(\\mathrm{fold\\_in}(\\kappa, \\lfloor
    k/e\\rfloor))$ for the sampler $S$, key $\\kappa$ and `every` $e$.

    ```python
    loss = ng.Residual(lambda u, x: u(x) - target(x), ng.Box([0, 0], [1, 1]).sampler(16, every=2))
    step3 = ng.resample(loss, key, 3)  # the points of step 3 (the same as step 2's)
    assert step3.points.shape == (16, 2)
    ```
    """

    index = iter(range(2**31))  # the k-th sampled part (in tree order) draws stream k

    def draw(node):
        if not _has_sampler(node):
            return node
        sub = jax.random.fold_in(
            jax.random.fold_in(key, next(index)), step // node.sampler.every
        )
        points = node.sampler(sub)
        sharding = getattr(node.sampler, "sharding", None)
        if sharding is not None:
            points = jax.lax.with_sharding_constraint(points, sharding)
        return eqx.tree_at(lambda m: m.points, node, points)

    return jtu.tree_map(draw, tree, is_leaf=_has_sampler)
