"""Every public name of ngflow has a docstring with a runnable ```` ```python ```` example.

Each example block is run with `exec` in a fresh copy of a namespace made once by this
preamble, so docstring examples may use exactly these names:

```python
import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import ngflow as ng

key = jax.random.key(0)
points = jax.random.uniform(key, (32, 2))           # 32 points in [0, 1]^2
target = lambda x: jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])
f = lambda x: 2 * jnp.pi**2 * target(x)             # -Δ target = f
model = eqx.nn.MLP(2, "scalar", 8, 1, activation=jnp.tanh, key=jax.random.key(1))
problem = ng.Problem(model, ng.LeastSquares(target, points), ng.GaussNewton())
labels = (points[:, 0] > points[:, 1]).astype(int)  # two classes, 0/1
classifier = eqx.nn.MLP(2, 2, 8, 1, activation=jnp.tanh, key=jax.random.key(2))
```

The preamble runs once, so its functions keep their identity across examples and
`ng.solve` calls on the same problem and method compile once. A block whose first line
is `# not run` is illustrative only (e.g. a multi-host recipe) and is skipped.
"""

import inspect
import re
import textwrap
import types

import pytest

import ngflow as ng


PREAMBLE = re.search(r"```python\n(.*?)```", __doc__, re.S).group(1)
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
NOT_RUN = "# not run"

NAMES = sorted(
    n
    for n in dir(ng)
    if not n.startswith("_") and not isinstance(getattr(ng, n), types.ModuleType)
)


@pytest.fixture(scope="module")
def namespace():
    ns: dict = {"__name__": "ngflow_docstring_example"}
    exec(compile(PREAMBLE, "<preamble>", "exec"), ns)
    return ns


def blocks(name):
    doc = inspect.getdoc(getattr(ng, name))
    assert doc, f"ng.{name} has no docstring"
    found = BLOCK.findall(doc)
    assert found, f"the docstring of ng.{name} has no ```python example"
    return [textwrap.dedent(code) for code in found]


@pytest.mark.parametrize("name", NAMES)
def test_docstring_example(name, namespace):
    ran = 0
    for i, code in enumerate(blocks(name)):
        if code.lstrip().startswith(NOT_RUN):
            continue
        ns = dict(namespace)
        exec(compile(code, f"<ng.{name} example {i}>", "exec"), ns)
        ran += 1
    if ran == 0:
        pytest.skip(f"ng.{name}: its examples are marked {NOT_RUN!r}")
