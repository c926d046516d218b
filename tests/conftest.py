"""Hypothesis profiles for refstrat's tests.

``ci`` (the default) is quick and derandomised, so a CI run tries the same programs every
time; ``thorough`` runs far more examples and bigger stress runs.  Select with
``pytest --hypothesis-profile=thorough`` or ``REFSTRAT_HYPOTHESIS_PROFILE=thorough``
(the command-line option wins: the Hypothesis plugin loads it after this file).
"""

import os

import pytest

from hypothesis import HealthCheck, settings

_common = dict(
    deadline=None,  # real threads: start-up time varies with machine load
    database=None,  # one fuzz body serves every strategy; keep runs independent
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("ci", max_examples=200, derandomize=True, **_common)
settings.register_profile("thorough", max_examples=2000, **_common)
settings.load_profile(os.environ.get("REFSTRAT_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def stress_sizes() -> tuple[int, ...]:
    """Ops per thread for the seeded stress runs beside Hypothesis, by profile (read at test
    time, after the plugin has applied --hypothesis-profile)."""
    if settings.get_current_profile_name() == "thorough":
        return (2_000, 20_000, 200_000, 1_000_000)
    return (2_000, 20_000, 100_000)
