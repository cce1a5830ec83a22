import equinox as eqx
import jax.numpy as jnp
import jax.tree_util as jtu
from jaxtyping import PyTree

from ._losses import AbstractLoss
from ._metrics import AbstractMetric
from ._params import check_parameters


def _check_dtypes(tree, name: str, dtype) -> None:
    wrong = [
        f"`{name}{jtu.keystr(path)}` ({jnp.asarray(leaf).dtype})"
        for path, leaf in jtu.tree_leaves_with_path(tree)
        if eqx.is_inexact_array(leaf) and jnp.asarray(leaf).dtype != dtype
    ]
    if wrong:
        hint = (
            " The model is float32: it was probably built before `import ngflow`, which "
            "turns on float64; build it (and its points) after, or cast it."
            if dtype == jnp.float32
            else ""
        )
        raise ValueError(
            f"Problem: the model's parameters are {dtype} but {', '.join(wrong)} "
            f"{'is' if len(wrong) == 1 else 'are'} not; use one dtype (float64 by "
            f"default: create arrays and models after `import ngflow`, or cast with "
            f"`.astype`).{hint}"
        )


class Problem(eqx.Module):
    """A natural-gradient problem: a manifold (the model), a loss and a metric.

    ```python
    problem = ng.Problem(model, ng.LeastSquares(target, points), ng.L2(points))
    solution = ng.solve(problem, ng.NaturalGradient(), steps=3)
    ```

    **Arguments:**

    - `model`: the parametrised function $u_\\theta$: any equinox Module callable on one
        point, `model(x) -> y` (e.g. `eqx.nn.MLP`, [`ngflow.LinearModel`][]). Its
        parameters $\\theta$ are its inexact array leaves (except inside [`ngflow.Frozen`][]).
    - `loss`: an [`ngflow.AbstractLoss`][], a function of the model.
    - `metric`: an [`ngflow.AbstractMetric`][]; natural-gradient methods use it,
        gradient descent ignores it.

    Construction checks shapes and dtypes and raises `ValueError`/`TypeError` naming the
    argument to change. Use `eqx.tree_at` to change one part (`remake`).
    """

    model: PyTree
    loss: AbstractLoss
    metric: AbstractMetric

    def __check_init__(self):
        if not isinstance(self.loss, AbstractLoss):
            raise TypeError(
                f"Problem: `loss` must be an ngflow loss (e.g. ng.LeastSquares, or "
                f"ng.Loss(fn) for a function), got {type(self.loss).__name__}."
            )
        if not isinstance(self.metric, AbstractMetric):
            raise TypeError(
                f"Problem: `metric` must be an ngflow metric (e.g. ng.L2(points), "
                f"ng.GaussNewton(), ng.Euclidean()), got {type(self.metric).__name__}."
            )
        if not callable(self.model):
            raise TypeError("Problem: `model` must be callable on one point, model(x).")
        dtype = check_parameters(self.model)
        _check_dtypes(self.loss, "loss", dtype)
        _check_dtypes(self.metric, "metric", dtype)
        self.loss.check(self.model)
        self.metric.check(self.model, self.loss)
