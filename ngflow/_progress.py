"""Progress meters: objects passed to [`ngflow.solve`][] as `progress=` and threaded
through the compiled loop, as diffrax threads its `AbstractProgressMeter`; and
`ng.progress_group`, one bar over many solves."""

import abc
import contextlib
import itertools
import sys

import diffrax as dfx
import equinox as eqx
import jax
import numpy as np


def _tqdm():
    from tqdm.auto import tqdm

    return tqdm


class _Bars:
    """The open bars, by the integer handle the compiled loop carries (a host callback
    cannot carry a Python object), and the open `progress_group` bars, innermost last."""

    def __init__(self):
        self.open: dict[int, object] = {}
        self.ids = itertools.count()
        self.groups: list = []

    def bar(self, desc: str, **kwargs):
        """A tqdm bar; inside a group it is labelled by the group and removed when done."""
        group = self.groups[-1] if self.groups else None
        if group is not None:
            desc = f"{group.desc}: {desc}"
        return _tqdm()(desc=desc, leave=group is None, dynamic_ncols=True, **kwargs)

    def solved(self, loss) -> None:
        """Counts one finished solve in every open group (`loss=None`: it failed)."""
        if loss is None:
            return
        for group in self.groups:
            if group is not None:
                group.update(1)
                group.set_postfix_str(f"last loss={float(loss):.3e}", refresh=True)


_BARS = _Bars()


class AbstractProgressMeter(eqx.Module):
    """How a discrete solve reports its steps: `open` before the compiled loop (host),
    `update` from inside it (a host callback every few steps), `close` after.

    ```python
    class Printer(ng.AbstractProgressMeter):  # one line per report
        def open(self, total, desc):
            return 0
        def update(self, handle, step, loss):
            print(f"step {int(step)}: loss {float(loss):.3e}")
        def close(self, handle, final_loss):
            pass

    sol = ng.solve(problem, ng.GradientDescent(), steps=3, progress=Printer())
    ```
    """

    @abc.abstractmethod
    def open(self, total: int, desc: str) -> int:
        """Start a bar of `total` steps; returns an integer handle for `update`."""

    @abc.abstractmethod
    def update(self, handle, step, loss) -> None:
        """Step `step` is done with loss `loss` (on the host)."""

    @abc.abstractmethod
    def close(self, handle: int, final_loss) -> None:
        """The solve ended with `final_loss` (`None` if it raised)."""

    def flow_meter(self, desc: str) -> dfx.AbstractProgressMeter:
        """The diffrax meter a flow uses (default: none)."""
        return dfx.NoProgressMeter()


class NoProgressMeter(AbstractProgressMeter):
    """No output (`progress=False`); finished solves still count in a
    [`ngflow.progress_group`][].

    ```python
    ng.solve(problem, ng.GradientDescent(), steps=3, progress=ng.NoProgressMeter())
    ```
    """

    def open(self, total, desc):
        return -1

    def update(self, handle, step, loss):
        pass

    def close(self, handle, final_loss):
        _BARS.solved(final_loss)


class TqdmProgressMeter(AbstractProgressMeter):
    """A tqdm bar of the steps and the loss (`progress=True`); a flow's bar counts percent
    of $[t_0, t_1]$ (diffrax's `TqdmProgressMeter`).

    ```python
    ng.solve(problem, ng.GradientDescent(), steps=3, progress=ng.TqdmProgressMeter())
    ```
    """

    def open(self, total, desc):
        handle = next(_BARS.ids)
        _BARS.open[handle] = _BARS.bar(desc, total=total)
        return handle

    def update(self, handle, step, loss):
        bar = _BARS.open.get(int(np.asarray(handle)))
        if bar is None:
            return
        bar.n = int(np.asarray(step)) + 1
        bar.set_postfix_str(f"loss={float(np.asarray(loss)):.3e}", refresh=False)
        bar.refresh()

    def close(self, handle, final_loss):
        bar = _BARS.open.pop(handle, None)
        if bar is not None:
            bar.close()
        _BARS.solved(final_loss)

    def flow_meter(self, desc):
        return _FlowMeter(desc=desc)


class _FlowMeter(dfx.TqdmProgressMeter):
    """diffrax's tqdm meter with ngflow's bar: labelled, and grouped by `ng.progress_group`."""

    desc: str = eqx.field(static=True, default="flow")

    def _init_bar(self):
        return _BARS.bar(
            self.desc,
            total=100,
            unit="%",
            bar_format="{desc}: {percentage:.1f}% of [t0, t1]|{bar}| [{elapsed}<{remaining}]",
        )


def meter(progress) -> AbstractProgressMeter:
    """`progress=` as a meter: `None` shows a bar only when standard error is a terminal."""
    if isinstance(progress, AbstractProgressMeter):
        return progress
    if progress is None:
        progress = sys.stderr.isatty()
    return TqdmProgressMeter() if progress else NoProgressMeter()


def report(meter, handle, k, loss, every, steps) -> None:
    """Inside the loop: tell the meter about step `k` every `every` steps and at the end."""
    if isinstance(meter, NoProgressMeter):
        return
    jax.lax.cond(
        (k % every == 0) | (k == steps - 1),
        lambda: jax.debug.callback(meter.update, handle, k, loss),
        lambda: None,
    )


@contextlib.contextmanager
def progress_group(desc: str, *, show: bool | None = None, leave: bool = True):
    """One progress bar for every [`ngflow.solve`][] call inside a `with` block.

    A script that runs many solves (a sweep, a figure) gets one bar that counts them,
    labelled `desc`, with the last final loss; each solve's own bar (steps and loss)
    is shown below it while it runs and then removed.

    ```python
    with ng.progress_group("sweep", show=True) as bar:
        for lr in (0.1, 0.2):
            ng.solve(problem, ng.GradientDescent(ng.Constant(lr)), steps=5, progress=False)
    assert bar.n == 2
    ```

    **Arguments:**

    - `desc`: the label of the bar and the prefix of the solves' bars.
    - `show`: `None` (default): only when standard error is a terminal, like
        `ng.solve(progress=None)`. When not shown, the block runs unchanged and
        `bar` is `None`.
    - `leave`: keep the group's bar on screen when the block ends.

    **Yields:** the `tqdm` bar (its `.n` is the number of solves so far), or `None`.
    """
    shown = sys.stderr.isatty() if show is None else bool(show)
    bar = None
    if shown:
        bar = _tqdm()(
            desc=desc, leave=leave, bar_format="{desc}: {n} solves [{elapsed}{postfix}]"
        )
    _BARS.groups.append(bar)
    try:
        yield bar
    finally:
        _BARS.groups.pop()
        if bar is not None:
            bar.close()
