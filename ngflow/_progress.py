"""A progress bar that observes a compiled loop through a host callback."""

import itertools
import sys

import numpy as np


_bars: dict[int, object] = {}
_ids = itertools.count()


def enabled(progress: bool | None) -> bool:
    """`None` means: only when standard error is a terminal."""
    if progress is None:
        return sys.stderr.isatty()
    return bool(progress)


def open_bar(total: int, desc: str) -> int:
    from tqdm.auto import tqdm

    bar_id = next(_ids)
    _bars[bar_id] = tqdm(total=total, desc=desc, leave=True, dynamic_ncols=True)
    return bar_id


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
