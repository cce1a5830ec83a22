"""Shared small problems, and the lists of every metric, Gram solve and method.

One parametrised test (test_catalogue.py) runs each entry on a small problem, so a new
metric, solve or method is covered by adding it here.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import ngflow as ng


def basis(x):
    """The seed-003 basis, extended: [1, √2 sin 2πx, √2 cos 2πx, √2 sin 4πx, √2 cos 4πx]."""
    r2 = jnp.sqrt(2.0)
    return jnp.stack(
        [
            jnp.ones_like(x),
            r2 * jnp.sin(2 * jnp.pi * x),
            r2 * jnp.cos(2 * jnp.pi * x),
            r2 * jnp.sin(4 * jnp.pi * x),
            r2 * jnp.cos(4 * jnp.pi * x),
        ]
    )


def midpoints(n):
    """Midpoint rule on [0, 1]: exact for the products of the basis above when n > 8."""
    return (jnp.arange(n) + 0.5) / n


def target_1d(x):
    return jnp.exp(-x) * jnp.sin(3 * x) + 0.3


def target_2d(x):
    return jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])


def mlp_problem(metric_fn=None, n=64, width=8, seed=0):
    """A least-squares fit of a [2, width, 1] tanh MLP on n random points of [0, 1]²."""
    pts = jax.random.uniform(jax.random.key(seed), (n, 2))
    model = eqx.nn.MLP(
        2, "scalar", width, 1, activation=jnp.tanh, key=jax.random.key(seed + 1)
    )
    loss = ng.LeastSquares(target_2d, pts)
    metric = ng.GaussNewton() if metric_fn is None else metric_fn(pts)
    return ng.Problem(model, loss, metric)


def random_orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def matrix_with_singular_values(rng, m, n, s):
    """An m×n matrix with the given singular values (len(s) = min(m, n))."""
    u = random_orthogonal(rng, m)[:, : len(s)]
    v = random_orthogonal(rng, n)[:, : len(s)]
    return (u * np.asarray(s)) @ v.T


# Every metric, as a function of the loss's points (for a [2, w, 1] MLP problem).
METRICS = {
    "Euclidean": lambda pts: ng.Euclidean(),
    "L2": lambda pts: ng.L2(pts),
    "H1": lambda pts: ng.H1(pts),
    "Weighted": lambda pts: ng.Weighted(
        jnp.eye(pts.shape[0]) / pts.shape[0] + 0.01, pts
    ),
    "GaussNewton": lambda pts: ng.GaussNewton(),
}

# Matrix (non-factored) metrics are exercised through ng.Newton.

# Every Gram solve (usable with every factored metric), regularised for small random
# MLPs: with the defaults (damping 1e-10, cutoff ~1e-7) NGD from a random initialisation
# often moves by tiny steps for tens of iterations (huge components along near-null
# tangent vectors force the line search down), so these use damping 1e-6 / cutoff 1e-3.
GRAM_SOLVES = {
    "Cholesky": ng.Cholesky(1e-6),
    "Cholesky-absolute": ng.Cholesky(1e-6, relative=False),
    "Pinv": ng.Pinv(rcond=1e-3),
    "QR": ng.QR(rcond=1e-3),
    "CG": ng.CG(max_steps=20),
    "Woodbury": ng.Woodbury(1e-6),
    "Sketch": ng.Sketch(6),
}

STEP_RULES = {
    "Constant": ng.Constant(0.05),
    "LogGrid": ng.LogGrid(),
    "Backtracking": ng.Backtracking(),
}

# Every discrete method.
METHODS = {
    "GradientDescent": ng.GradientDescent(ng.LogGrid()),
    "NaturalGradient": ng.NaturalGradient(ng.Cholesky(1e-6)),
    "NaturalGradient-clipped": ng.NaturalGradient(
        ng.Cholesky(1e-6), ng.LogGrid(), clip=10.0
    ),
    "NaturalGradient-LogGrid": ng.NaturalGradient(ng.Cholesky(1e-6), ng.LogGrid()),
    "Newton": ng.Newton(),
}
