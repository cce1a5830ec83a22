from ._base import AbstractMethod as AbstractMethod, StepInfo as StepInfo
from ._gradient_descent import GradientDescent as GradientDescent
from ._natural_gradient import NaturalGradient as NaturalGradient, Newton as Newton
from ._step_rules import (
    AbstractStepRule as AbstractStepRule,
    Backtracking as Backtracking,
    Constant as Constant,
    LogGrid as LogGrid,
)
