"""Shared pytest set-up.

Hypothesis profiles: ``default`` keeps the everyday suite quick; ``stress``
(``HYPOTHESIS_PROFILE=stress``) runs the large case counts the safety issue
asks for (see README, "Stress run").
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None)
settings.register_profile(
    "stress",
    deadline=None,
    max_examples=100_000,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
