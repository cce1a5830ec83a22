"""ngflow: natural gradient descent as a declarative language on JAX and Equinox.

Write a problem as a model (the manifold), a loss and a metric, then solve it with any
method:

```python
import ngflow as ng
problem = ng.Problem(model, ng.LeastSquares(target, points), ng.GaussNewton())
gd = ng.solve(problem, ng.GradientDescent(), steps=500)
ngd = ng.solve(problem, ng.NaturalGradient(ng.QR()), steps=500)
```

Importing ngflow enables float64 in JAX (`jax_enable_x64`).
"""

import importlib.metadata as _metadata

import jax as _jax


_jax.config.update("jax_enable_x64", True)

from . import problems as problems  # noqa: E402
from ._domains import (  # noqa: E402
    AbstractSampler as AbstractSampler,
    BoundarySampler as BoundarySampler,
    Box as Box,
    resample as resample,
    UniformSampler as UniformSampler,
)
from ._families import (  # noqa: E402
    AbstractFamily as AbstractFamily,
    Bernoulli as Bernoulli,
    Categorical as Categorical,
    Density as Density,
    Gaussian as Gaussian,
)
from ._features import (  # noqa: E402
    AbstractBlock as AbstractBlock,
    Features as Features,
    MappedBlock as MappedBlock,
    ModelBlock as ModelBlock,
    ParameterBlock as ParameterBlock,
    PointBlock as PointBlock,
)
from ._flows import (  # noqa: E402
    AbstractFlow as AbstractFlow,
    FlowSolution as FlowSolution,
    GradientFlow as GradientFlow,
    HeavyBallFlow as HeavyBallFlow,
    NaturalGradientFlow as NaturalGradientFlow,
    NaturalHeavyBallFlow as NaturalHeavyBallFlow,
)
from ._gram import (  # noqa: E402
    AbstractGramSolver as AbstractGramSolver,
    AutoGram as AutoGram,
    CG as CG,
    Cholesky as Cholesky,
    CompleteOrthogonalDecomposition as CompleteOrthogonalDecomposition,
    gram_curve as gram_curve,
    gram_solve as gram_solve,
    Greedy as Greedy,
    LMCurve as LMCurve,
    Nystrom as Nystrom,
    OrthogonalGreedy as OrthogonalGreedy,
    Pinv as Pinv,
    QR as QR,
    Sketch as Sketch,
    Woodbury as Woodbury,
)
from ._linearisation import (  # noqa: E402
    MetricMatrix as MetricMatrix,
    TangentMap as TangentMap,
)
from ._losses import (  # noqa: E402
    AbstractLoss as AbstractLoss,
    AbstractResidualLoss as AbstractResidualLoss,
    CrossEntropy as CrossEntropy,
    KL as KL,
    LeastSquares as LeastSquares,
    Loss as Loss,
    NegativeLogLikelihood as NegativeLogLikelihood,
    Residual as Residual,
    ResidualSum as ResidualSum,
    ReverseKL as ReverseKL,
    Scaled as Scaled,
    ScaledResidual as ScaledResidual,
    Sum as Sum,
    SumOfSquares as SumOfSquares,
    WeightedLeastSquares as WeightedLeastSquares,
)
from ._manifolds import LinearModel as LinearModel, QuadraticModel as QuadraticModel  # noqa: E402
from ._methods import (  # noqa: E402
    AbstractDescent as AbstractDescent,
    AbstractMethod as AbstractMethod,
    AbstractStepRule as AbstractStepRule,
    AbstractTransport as AbstractTransport,
    Backtracking as Backtracking,
    Constant as Constant,
    DampedDescent as DampedDescent,
    FiniteDifference as FiniteDifference,
    GradientDescent as GradientDescent,
    HeavyBall as HeavyBall,
    LastGradient as LastGradient,
    LastMomentum as LastMomentum,
    LogGrid as LogGrid,
    MomentumState as MomentumState,
    NaturalGradient as NaturalGradient,
    Nesterov as Nesterov,
    Newton as Newton,
    Optax as Optax,
    ParameterMomentum as ParameterMomentum,
    ScaledDescent as ScaledDescent,
    StepInfo as StepInfo,
    TrustRegion as TrustRegion,
)
from ._metrics import (  # noqa: E402
    AbstractFactoredMetric as AbstractFactoredMetric,
    AbstractMetric as AbstractMetric,
    ConstantMetric as ConstantMetric,
    EmpiricalFisher as EmpiricalFisher,
    Energy as Energy,
    Euclidean as Euclidean,
    Fisher as Fisher,
    GaussNewton as GaussNewton,
    H1 as H1,
    Hessian as Hessian,
    L2 as L2,
    Weighted as Weighted,
)
from ._monitors import RelativeL2Error as RelativeL2Error  # noqa: E402
from ._operators import (  # noqa: E402
    derivative as derivative,
    directional as directional,
    divergence as divergence,
    gradient as gradient,
    hessian as hessian,
    laplacian as laplacian,
    second_derivative as second_derivative,
    time_derivative as time_derivative,
)
from ._params import (  # noqa: E402
    FlatModel as FlatModel,
    Frozen as Frozen,
    num_parameters as num_parameters,
)
from ._problem import Problem as Problem  # noqa: E402
from ._progress import (  # noqa: E402
    AbstractProgressMeter as AbstractProgressMeter,
    NoProgressMeter as NoProgressMeter,
    progress_group as progress_group,
    TqdmProgressMeter as TqdmProgressMeter,
)
from ._results import RESULTS as RESULTS  # noqa: E402
from ._solution import Solution as Solution, SolveError as SolveError  # noqa: E402
from ._solve import solve as solve  # noqa: E402


# Every public name; each has a docstring with a tested example
# (tests/test_docstrings.py) and an entry in the API reference (docs/api/, tests/test_docs.py).
__all__ = [
    "problems",
    "AbstractBlock",
    "AbstractDescent",
    "AbstractFactoredMetric",
    "AbstractFamily",
    "AbstractFlow",
    "AbstractGramSolver",
    "AbstractLoss",
    "AbstractMethod",
    "AbstractMetric",
    "AbstractProgressMeter",
    "AbstractResidualLoss",
    "AbstractSampler",
    "AbstractStepRule",
    "AbstractTransport",
    "AutoGram",
    "Backtracking",
    "Bernoulli",
    "BoundarySampler",
    "Box",
    "Categorical",
    "CG",
    "Cholesky",
    "CompleteOrthogonalDecomposition",
    "Constant",
    "ConstantMetric",
    "CrossEntropy",
    "DampedDescent",
    "Density",
    "derivative",
    "directional",
    "divergence",
    "EmpiricalFisher",
    "Energy",
    "Euclidean",
    "Features",
    "FiniteDifference",
    "Fisher",
    "FlatModel",
    "FlowSolution",
    "Frozen",
    "Gaussian",
    "GaussNewton",
    "gradient",
    "GradientDescent",
    "GradientFlow",
    "gram_curve",
    "gram_solve",
    "Greedy",
    "H1",
    "HeavyBall",
    "HeavyBallFlow",
    "Hessian",
    "hessian",
    "KL",
    "L2",
    "laplacian",
    "LastGradient",
    "LastMomentum",
    "LeastSquares",
    "LinearModel",
    "LMCurve",
    "LogGrid",
    "Loss",
    "MappedBlock",
    "MetricMatrix",
    "ModelBlock",
    "MomentumState",
    "NaturalGradient",
    "NaturalGradientFlow",
    "NaturalHeavyBallFlow",
    "NegativeLogLikelihood",
    "Nesterov",
    "Newton",
    "NoProgressMeter",
    "num_parameters",
    "Nystrom",
    "Optax",
    "OrthogonalGreedy",
    "ParameterBlock",
    "ParameterMomentum",
    "Pinv",
    "PointBlock",
    "Problem",
    "progress_group",
    "QR",
    "QuadraticModel",
    "RelativeL2Error",
    "resample",
    "Residual",
    "ResidualSum",
    "RESULTS",
    "ReverseKL",
    "Scaled",
    "ScaledDescent",
    "ScaledResidual",
    "second_derivative",
    "Sketch",
    "Solution",
    "solve",
    "SolveError",
    "StepInfo",
    "Sum",
    "SumOfSquares",
    "TangentMap",
    "time_derivative",
    "TqdmProgressMeter",
    "TrustRegion",
    "UniformSampler",
    "Weighted",
    "WeightedLeastSquares",
    "Woodbury",
]


try:
    __version__ = _metadata.version("ngflow")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
