"""The outcome of a solve, as an enumeration carried through `jit`."""

import equinox as eqx


class RESULTS(eqx.Enumeration):
    """Why a call to [`ngflow.solve`][] stopped.

    `RESULTS[solution.result]` gives the message of a result.

    ```python
    sol = ng.solve(problem, ng.NaturalGradient(), steps=3, throw=False)
    if sol.result != ng.RESULTS.successful:
        print(ng.RESULTS[sol.result])  # why it stopped
    ```
    """

    successful = ""
    nonfinite = (
        "The loss or its parameter gradient became NaN or Inf. Check the model and "
        "loss at the last model (`Solution.model`), lower the step size, or clip the "
        "direction (`clip=...`)."
    )
    singular = (
        "The metric solve failed: the Gram (or Hessian) system is singular or the "
        "solver returned NaN/Inf. Add damping (`Cholesky(damping=...)`, "
        "`Woodbury(damping=...)`) or use a rank-revealing solve (`Pinv()`, `QR()`)."
    )
    search_failed = (
        "The step rule found no step that decreases the loss enough (Armijo), so the "
        "solve stopped: the iterates had stalled. This is usual once the loss is at its "
        "floor (round-off, or the best the Gram solve's cutoff allows); otherwise the "
        "direction is not a descent direction for this loss. `solve` warns about it "
        "instead of raising."
    )
    integration_failed = (
        "The ODE solver of a flow failed before t1 (diffrax: max_steps reached, or the "
        "step size collapsed). See `FlowSolution.diffrax_result`; a damped Gram solve "
        "(the default `Cholesky(1e-8)`), a larger `max_steps` or looser tolerances help."
    )
