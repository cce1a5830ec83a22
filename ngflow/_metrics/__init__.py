from ._base import (
    AbstractFactoredMetric as AbstractFactoredMetric,
    AbstractMetric as AbstractMetric,
)
from ._constant import ConstantMetric as ConstantMetric
from ._euclidean import Euclidean as Euclidean
from ._fisher import EmpiricalFisher as EmpiricalFisher, Fisher as Fisher
from ._gauss_newton import Energy as Energy, GaussNewton as GaussNewton
from ._h1 import H1 as H1
from ._hessian import Hessian as Hessian
from ._l2 import L2 as L2
from ._weighted import Weighted as Weighted
