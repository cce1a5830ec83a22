"""Progress bars: one per `ng.solve` (a host callback observes the compiled loop) and,
optionally, one per group of solves (`ng.progress_group`)."""

import contextlib
import itertools
import sys

import numpy as np


_bars: dict[int, object] = {}
_ids = itertools.count()
_groups: list = []  # the open `progress_group` bars, innermost last


def enabled(progress: bool | None) -> bool:
    """`None` means: only when standard error is a terminal."""
    if progress is None:
        return sys.stderr.isatty()
    return bool(progress)


def _tqdm():
    from tqdm.auto import tqdm

    return tqdm


def _bar(desc: str, **kwargs):
    """A tqdm bar; inside a group it is labelled by the group and removed when done."""
    group = _groups[-1] if _groups else None
    if group is not None:
        desc = f"{group.desc}: {desc}"
    return _tqdm()(desc=desc, leave=group is None, dynamic_ncols=True, **kwargs)


def open_bar(total: int, desc: str) -> int:
    """The bar of one discrete solve, updated by `update` from the compiled loop."""
    bar_id = next(_ids)
    _bars[bar_id] = _bar(desc, total=total)
    return bar_id


# The label of the next flow's bar, set on the host by `solve_flow`.
_flow_desc = ["flow"]


def flow_bar():
    """The bar of a flow (diffrax calls this on the host when the integration starts)."""
    return _bar(
        _flow_desc[0],
        total=100,
        unit="%",
        bar_format="{desc}: {percentage:.1f}% of [t0, t1]|{bar}| [{elapsed}<{remaining}]",
    )


def update(bar_id, step, loss) -> None:
    bar = _bars.get(int(np.asarray(bar_id)))
    if bar is None:
        return
    bar.n = int(np.asarray(step)) + 1
    bar.set_postfix_str(f"loss={float(np.asarray(loss)):.3e}", refresh=False)
    bar.refresh()


def close_bar(bar_id: int) -> None:
    bar = _bars.pop(bar_id, None)
    if bar is not None:
        bar.close()


def solved(loss=None) -> None:
    """Counts one finished solve in every open group."""
    for group in _groups:
        if group is None:
            continue
        group.update(1)
        if loss is not None:
            group.set_postfix_str(f"last loss={float(loss):.3e}", refresh=True)


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
    if not enabled(show):
        _groups.append(None)
        try:
            yield None
        finally:
            _groups.pop()
        return
    bar = _tqdm()(
        desc=desc, leave=leave, bar_format="{desc}: {n} solves [{elapsed}{postfix}]"
    )
    _groups.append(bar)
    try:
        yield bar
    finally:
        _groups.pop()
        bar.close()
