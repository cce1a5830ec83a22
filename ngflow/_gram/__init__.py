from ._api import gram_curve as gram_curve, gram_solve as gram_solve
from ._auto import AutoGram as AutoGram
from ._base import AbstractGramSolver as AbstractGramSolver
from ._cg import CG as CG
from ._cholesky import Cholesky as Cholesky
from ._cod import CompleteOrthogonalDecomposition as CompleteOrthogonalDecomposition
from ._curve import LMCurve as LMCurve
from ._greedy import Greedy as Greedy, OrthogonalGreedy as OrthogonalGreedy
from ._pinv import Pinv as Pinv
from ._precondition import Nystrom as Nystrom
from ._qr import QR as QR
from ._sketch import Sketch as Sketch
from ._woodbury import Woodbury as Woodbury
