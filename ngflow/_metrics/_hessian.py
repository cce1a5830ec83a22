import jax
import lineax as lx

from .._linearisation import DENSE, loss_at, MetricMatrix
from ._base import AbstractMetric


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

    def linearise(self, problem, flat, theta, form=DENSE):
        f = loss_at(problem, flat)
        if form.kind == "dense":
            hessian = jax.hessian(f)(theta)
            return MetricMatrix(lx.MatrixLinearOperator(hessian, lx.symmetric_tag))
        grad = lambda t, _: jax.grad(f)(t)
        op = lx.JacobianLinearOperator(grad, theta, tags=lx.symmetric_tag)
        return MetricMatrix(lx.linearise(op))
