"""refstrat.testing as a package (issue 26, item 1): the names users import from it stay there, and
``check()``'s settings travel as one :class:`~refstrat.testing.CheckConfig` that runs exactly as
the same keywords do.
"""

from __future__ import annotations

import dataclasses

import pytest

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover - core not built yet
    pytest.skip("refstrat core not built", allow_module_level=True)

import refstrat.testing as rt  # noqa: E402

#: What ``refstrat.testing`` exported when it was one module: every name must still import.
OLD_NAMES = [
    "Program",
    "ProgramError",
    "Expectation",
    "expect",
    "Case",
    "Failure",
    "CheckFailed",
    "BoundReached",
    "Report",
    "programs",
    "cases",
    "run_program",
    "compare",
    "check",
    "replay",
    "minimize",
    "stress",
    "stress_program",
    "STRESS_SHAPES",
    "DEFAULT_TICK",
    "DEFAULT_LOG_SIZE",
    "arena_machine",
    "build_plugin",
    "SCHEDULES",
    "MEMORIES",
    "StressResult",
]
TWO = rt.Program(threads=((("inc", 0), ("dec", 0)), (("inc", 0), ("dec", 0))), shared=1)


def test_the_old_names_import_from_the_package() -> None:
    missing = [name for name in OLD_NAMES if not hasattr(rt, name)]
    assert missing == []
    assert set(rt.__all__) >= set(OLD_NAMES) - {"StressResult"}
    assert rt.compare is refstrat.model.compare  # beside the model it compares with


def test_a_config_runs_as_its_keywords() -> None:
    keywords = dict(schedule="exhaustive", memory="tso", preemption_bound=1)
    by_keywords = rt.check("biased", TWO, **keywords)
    by_config = rt.check("biased", TWO, config=rt.CheckConfig(**keywords))
    assert (by_config.schedules, by_config.complete, by_config.memory) == (
        by_keywords.schedules,
        by_keywords.complete,
        by_keywords.memory,
    )
    with pytest.raises(rt.CheckFailed):
        rt.check("nonatomic", TWO, config=rt.CheckConfig(schedule="exhaustive"))


def test_a_config_and_keywords_together_are_refused() -> None:
    with pytest.raises(TypeError, match="either as keywords or as config="):
        rt.check("biased", TWO, schedule="pct", config=rt.CheckConfig(schedule="exhaustive"))


def test_a_config_is_validated_as_the_keywords_are() -> None:
    with pytest.raises(ValueError, match=r"pct_depth must be an int in \[1, 65\]"):
        rt.check("atomic", TWO, config=rt.CheckConfig(pct_depth=2**70))
    with pytest.raises(ValueError, match="unknown reduction 'x'"):
        rt.check("atomic", TWO, config=rt.CheckConfig(schedule="exhaustive", reduction="x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        rt.CheckConfig().threads = 3  # type: ignore[misc]  # frozen
