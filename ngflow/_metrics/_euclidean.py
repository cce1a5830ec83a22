from .._features import Features, ParameterBlock
from ._base import AbstractFactoredMetric


class Euclidean(AbstractFactoredMetric):
    """The Euclidean metric $M = I$: natural gradient with it is gradient descent.

    It is factored with $E = I$ ($\\Phi(\\theta) = \\theta$), so momentum methods with it
    are the classical parameter-space ones.

    ```python
    ng.Problem(model, ng.LeastSquares(target, points), ng.Euclidean())  # NGD = GD here
    ```
    """

    def features(self, loss):
        return Features((ParameterBlock(),))
