import os

import hypothesis
import jax

import ngflow  # noqa: F401  (enables float64)


jax.config.update("jax_enable_x64", True)

hypothesis.settings.register_profile(
    "ngflow",
    max_examples=int(os.environ.get("NGFLOW_MAX_EXAMPLES", "15")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.load_profile("ngflow")
