from ._base import (
    AbstractLoss as AbstractLoss,
    AbstractResidualLoss as AbstractResidualLoss,
    Loss as Loss,
    ResidualSum as ResidualSum,
    Scaled as Scaled,
    ScaledResidual as ScaledResidual,
    Sum as Sum,
    SumOfSquares as SumOfSquares,
)
from ._least_squares import (
    LeastSquares as LeastSquares,
    WeightedLeastSquares as WeightedLeastSquares,
)
from ._probabilistic import (
    CrossEntropy as CrossEntropy,
    KL as KL,
    NegativeLogLikelihood as NegativeLogLikelihood,
    ReverseKL as ReverseKL,
)
from ._residual import Residual as Residual
