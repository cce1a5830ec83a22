import jax

from ._base import AbstractMetric, MetricMatrix


class Hessian(AbstractMetric):
    """The Hessian of the loss, $M = \\nabla^2_\\theta L$: natural gradient with it is Newton's method.

    It is not a Gram matrix $E^\\top E$ (it may be indefinite), so solves that need the
    tangent map $E$ (`QR`, `Woodbury`) refuse it. `Pinv` and `CG` (by Hessian-vector
    products) work; `Cholesky` needs it positive definite.

    ```python
    problem = ng.Problem(model, ng.LeastSquares(target, points), ng.Hessian())
    method = ng.NaturalGradient(ng.Pinv())  # Newton, as ng.Newton()
    ```
    """

    def linearise(self, problem, flat, theta):
        loss_at = lambda t: problem.loss(flat.model_at(t))
        return MetricMatrix(jax.hessian(loss_at), jax.grad(loss_at), theta)
