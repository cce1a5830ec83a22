import dataclasses

from .._linearisation import DENSE
from ._base import AbstractFactoredMetric


class GaussNewton(AbstractFactoredMetric):
    """The Gauss--Newton (loss-Hessian, energy) metric of a residual loss $\\frac12\\|r(u)\\|^2$.

    $E = \\partial r/\\partial\\theta$, $G = E^\\top E$: the model-linearised Hessian of the
    loss, $G_{ij} = \\langle \\partial_i u, H_V\\mathcal L\\,\\partial_j u\\rangle$ (seed 003). For a
    [`ngflow.LeastSquares`][] loss it is the $L^2$ metric on the loss's points and weights;
    for [`ngflow.WeightedLeastSquares`][] it is [`ngflow.Weighted`][] with the same $K$.

    Because $\\nabla_\\theta L = E^\\top r$, Gram solves on $E$ (`QR`, `Pinv`) solve the
    least-squares problem $\\min_h\\|Eh - r\\|$ directly, without squaring the condition
    number. The loss must be an [`ngflow.AbstractResidualLoss`][].

    ```python
    ng.Problem(model, ng.LeastSquares(target, points), ng.GaussNewton())  # E = ∂r/∂θ
    interior = ng.Residual(lambda u, x: ng.laplacian(u, x) + f(x), points)
    ng.Problem(model, interior, ng.Energy())  # the same metric (an alias): ENGD for a PINN
    ```
    """

    def features(self, loss):
        from .._losses import AbstractResidualLoss

        if not isinstance(loss, AbstractResidualLoss):
            raise TypeError(
                f"GaussNewton needs a loss with a residual form (an "
                f"AbstractResidualLoss such as LeastSquares or SumOfSquares); "
                f"{type(loss).__name__} has none. Use a residual loss, or a metric that "
                "does not depend on the loss (L2, H1, Weighted, Euclidean, Hessian)."
            )
        return loss.residual_features()

    def linearise(self, problem, flat, theta, form=DENSE):
        tangent = super().linearise(problem, flat, theta, form)
        return dataclasses.replace(tangent, residual=tangent.values)  # ∇L = Eᵀr

    def check(self, model, loss):
        self.features(loss)


Energy = GaussNewton
"""The energy metric of E-NGD (Müller & Zeinhofer 2023; seed 000 §2.2): an alias of
[`ngflow.GaussNewton`][]. For a sum of [`ngflow.Residual`][] losses, $E$ stacks
$\\sqrt{2w/N}$ times the per-point Jacobian of every residual."""
