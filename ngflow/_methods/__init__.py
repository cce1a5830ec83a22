from ._base import AbstractMethod as AbstractMethod, StepInfo as StepInfo
from ._descents import (
    AbstractDescent as AbstractDescent,
    DampedDescent as DampedDescent,
    ScaledDescent as ScaledDescent,
)
from ._gradient_descent import GradientDescent as GradientDescent
from ._momentum import (
    AbstractTransport as AbstractTransport,
    FiniteDifference as FiniteDifference,
    HeavyBall as HeavyBall,
    LastGradient as LastGradient,
    LastMomentum as LastMomentum,
    MomentumState as MomentumState,
    Nesterov as Nesterov,
    ParameterMomentum as ParameterMomentum,
)
from ._natural_gradient import NaturalGradient as NaturalGradient, Newton as Newton
from ._optax import Optax as Optax
from ._step_rules import (
    AbstractStepRule as AbstractStepRule,
    Backtracking as Backtracking,
    Constant as Constant,
    LogGrid as LogGrid,
    TrustRegion as TrustRegion,
)
