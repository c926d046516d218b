"""The checker's mutation score (issue 30): every mechanical mutant of the schemes' shared-memory
code (refstrat.testing.mutation), each built as a check-flavour plugin and run through the default
exhaustive exploration under each memory model; the kill table per scheme and operator. A
benchmark, not a test (tests/test_mutation.py runs a fixed sample with a kill-rate floor):

    nice -n 10 .venv/bin/python bench/mutation.py --jobs 2

writes bench/mutation.txt and bench/mutation.json. bench/mutation-triage.md lists the survivors
judged equivalent (``- `id`: equivalent: why``); they are counted as such, not as survivors.
Your own plugin scheme (a header defining rs_<name>_<hook>, as docs/plugins.md says):

    .venv/bin/python bench/mutation.py --header my_scheme.h --scheme my_scheme -I dir --out mine.txt
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

from refstrat.testing import mutation

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="sc,tso", help="memory models, comma separated (c11 once the checker has it)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--sample", type=int, default=0, help="a deterministic sample of this many mutants (0: all)")
    ap.add_argument("--max-schedules", type=int, default=10_000, help="per check (one scheme, one model)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant")
    ap.add_argument("--header", help="a plugin scheme's header to mutate instead of the package's code")
    ap.add_argument("--scheme", help="the scheme name the header defines (with --header)")
    ap.add_argument("-I", dest="include", action="append", default=[], help="include directory of --header")
    ap.add_argument("--triage", default=str(HERE / "mutation-triage.md"))
    ap.add_argument("--out", default=str(HERE / "mutation.txt"))
    ap.add_argument("--from-json", help="re-render a score's json with the current triage (no run)")
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.from_json:
        score = mutation.Score.from_json(Path(args.from_json).read_text())
        command = Path(args.out).read_text().splitlines()[0] if Path(args.out).exists() else "(re-rendered)"
        _write(score, Path(args.triage), Path(args.out), command, json_too=False)
        return
    if args.header:
        if not args.scheme:
            ap.error("--header needs --scheme")
        targets = [mutation.Target(args.header, (args.scheme,))]
        mutants = mutation.generate(targets, include_dirs=args.include or [Path(args.header).parent])
    else:
        mutants = mutation.generate()
    if args.sample:
        mutants = mutation.sample(mutants, args.sample)
    score = mutation.score(
        mutants,
        models,
        jobs=args.jobs,
        timeout=args.timeout,
        check_kwargs=dict(max_schedules=args.max_schedules),
        progress=True,
    )
    given = sys.argv[1:] if argv is None else argv
    command = "command: nice -n 10 .venv/bin/python bench/mutation.py " + shlex.join(given)
    _write(score, Path(args.triage), Path(args.out), command, json_too=True)


def _write(score: mutation.Score, triage: Path, out: Path, command: str, json_too: bool) -> None:
    """The table (the triaged equivalents counted as such) to ``out``; the raw outcomes beside it."""
    if json_too:
        out.with_suffix(".json").write_text(score.to_json() + "\n")
    if triage.exists():
        score.apply_triage(re.findall(r"^- `([^`]+)`: equivalent", triage.read_text(), flags=re.M))
    text = f"{command}\n{score.table()}\n"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
