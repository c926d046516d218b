"""Hypothesis profiles for refstrat's tests.

``ci`` (the default) is quick and derandomised, so a CI run tries the same programs every
time; ``thorough`` runs far more examples and bigger stress runs; ``rerun`` is a quarter of
``ci``, for CI's second and third passes over the suite (the sanitizer build, the free-threaded
interpreter), which look for crashes and races on other builds rather than for more programs
that the first pass has already tried.  Select with
``pytest --hypothesis-profile=thorough`` or ``REFSTRAT_HYPOTHESIS_PROFILE=thorough``
(the command-line option wins: the Hypothesis plugin loads it after this file).
"""

import os
from pathlib import Path

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
settings.register_profile("rerun", max_examples=50, derandomize=True, **_common)
settings.load_profile(os.environ.get("REFSTRAT_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def stress_sizes() -> tuple[int, ...]:
    """Ops per thread for the seeded stress runs beside Hypothesis, by profile (read at test
    time, after the plugin has applied --hypothesis-profile)."""
    profile = settings.get_current_profile_name()
    if profile == "thorough":
        return (2_000, 20_000, 200_000, 1_000_000)
    if profile == "rerun":
        return (2_000, 20_000)
    return (2_000, 20_000, 100_000)


@pytest.fixture(scope="session")
def broken_plugin(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """tests/broken/broken.c compiled once per session, normal and check flavours in one library
    (refstrat.testing.build_plugin), and loaded; the names it registered. One fixture for every
    test module: the core refuses a second library whose strategy names are already taken."""
    from refstrat import _core
    from refstrat.testing import build_plugin

    broken = Path(__file__).resolve().parent / "broken"
    # Only the workloads the broken-variant tests run (trace, private, handoff): a third of the
    # compile time of every kernel copy.
    keep = "-DRS_KEEP_WORKLOAD(w)=((w)==RS_W_TRACE||(w)==RS_W_PRIVATE||(w)==RS_W_HANDOFF)"
    out = build_plugin(
        [broken / "broken.c"],
        tmp_path_factory.mktemp("broken") / "refstrat_broken.so",
        include_dirs=[broken],
        extra_args=("-O2", keep),
    )
    return list(_core.load_plugin(str(out)))
