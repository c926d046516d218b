"""Mutation testing of the checker: mechanical one-site mutants of a scheme's shared-memory code,
each built as a check-flavour plugin and run through :func:`~refstrat.testing.check`'s default
exploration, so that the checker's power is measured against bugs nobody wrote down.

:func:`generate` lists the mutants of a set of :class:`Target` headers (by default the package's
own schemes, layers, grace period and arena free path; pass your own plugin header to score your
scheme).  :func:`score` builds and checks them, one subprocess each (a mutant may crash or hang),
and returns a :class:`Score` whose :meth:`Score.table` is the kill table per scheme and operator.

Operators (``OPERATORS``), each at one ``rs_pr_*`` call site (or one line):

* ``order``: its memory order weakened one step (seq_cst -> acq_rel -> acquire/release ->
  relaxed).  SC and TSO cannot tell such a mutant apart from the original: it counts only under a
  model that can (``needs="c11"``); until the checker has one, it is reported as "needs c11".
* ``cas_split``: a compare-and-swap replaced by a load and a store.
* ``rmw_split``: a fetch-and-add or exchange split into a load and a store.
* ``drop``: a call that is a statement on its own removed.
* ``swap``: two adjacent one-line statements, each an ``rs_pr_*`` call, exchanged.
* ``while_if``: a loop's ``while`` turned into ``if``.
* ``bound``: a comparison's bound moved by one (``<`` <-> ``<=``, ``>`` <-> ``>=``) where it
  compares epochs, generations, rounds or positions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

OPERATORS = ("order", "cas_split", "rmw_split", "drop", "swap", "while_if", "bound")
STATUSES = ("killed", "survived", "equivalent", "does not compile", "needs c11", "crashed", "timeout")

#: One step weaker, among the orders pr.h names (an order with two halves loses one).
WEAKER: dict[str, tuple[str, ...]] = {
    "load_seq_cst": ("load_acquire",),
    "load_acquire": ("load_relaxed",),
    "store_seq_cst": ("store_release",),
    "store_release": ("store_relaxed",),
    "faa_acq_rel": ("faa_release",),
    "faa_release": ("faa_relaxed",),
    "add_fetch_acq_rel": ("add_fetch_relaxed",),
    "xchg_acq_rel": ("xchg_acquire",),
    "cas_acq_rel": ("cas_acquire", "cas_release"),
    "cas_acquire": ("cas_relaxed",),
    "cas_release": ("cas_relaxed",),
    "cas_acq_rel_acquire": ("cas_acq_rel",),
    "cas_strong_acq_rel_acquire": ("cas_strong_acq_rel",),
}

#: Read-modify-writes and what their split form returns (the old value, or the new one).
RMW = {
    "faa_relaxed": "old",
    "faa_release": "old",
    "faa_acq_rel": "old",
    "add_fetch_relaxed": "new",
    "add_fetch_acq_rel": "new",
    "sub_fetch_acq_rel": "sub_new",
    "sub_relaxed": "sub_void",
    "xchg_acquire": "xchg",
    "xchg_acq_rel": "xchg",
}

#: Primitives that are no shared-memory step (waiting, setup, the checker's own events).
NOT_SHARED = re.compile(r"^(spin|yield|nap|event_\w+|mutex_init|mutex_destroy|cond_init|cond_destroy|thread_\w+)$")

#: What the split operators expand to: plain atomic loads and stores, in both flavours (pr.h's
#: names), so that another thread can run between the two halves.
PRELUDE = r"""
#ifndef RS_MUTATION_PRELUDE_
#define RS_MUTATION_PRELUDE_
#define rs_mut_cas_split_(p, e, d) ({ __typeof__(*(p)) rs_m_c_ = rs_pr_load_acquire(p); \
    int rs_m_ok_ = rs_m_c_ == *(e); if (rs_m_ok_) rs_pr_store_release((p), (d)); else *(e) = rs_m_c_; rs_m_ok_; })
#define rs_mut_rmw_split_(p, v, NEW, RET) ({ __typeof__(*(p)) rs_m_o_ = rs_pr_load_acquire(p); \
    __typeof__(*(p)) rs_m_n_ = (__typeof__(*(p)))(NEW); rs_pr_store_release((p), rs_m_n_); RET; })
#endif
"""

_SPLIT = {
    "old": ("rs_m_o_ + (v)", "rs_m_o_"),
    "new": ("rs_m_o_ + (v)", "rs_m_n_"),
    "sub_new": ("rs_m_o_ - (v)", "rs_m_n_"),
    "sub_void": ("rs_m_o_ - (v)", "(void)0"),
    "xchg": ("(v)", "rs_m_o_"),
}

_BOUND_WORDS = re.compile(r"epoch|gen|round|seq|ack|grace|ticket|head|tail|stop|pos|cut")
_RELATIONAL = re.compile(r"(?<![<>\-=!])(<=|>=|<|>)(?![<>=])")
_CALL = re.compile(r"\brs_pr_(\w+)\s*\(")


@dataclass(frozen=True)
class Target:
    """A header to mutate (``path`` relative to an include directory, as it is ``#include``d) and
    the schemes that run its code (a mutant is killed if any of them fails its check).
    ``functions``: only the bodies of the functions whose names match (all if None)."""

    path: str
    hosts: tuple[str, ...]
    functions: str | None = None


@dataclass(frozen=True)
class Mutant:
    """One mechanical change of one line range of one header."""

    id: str
    path: str
    line: int
    operator: str
    before: str
    after: str
    hosts: tuple[str, ...]
    needs: str = "sc"  # the weakest model that can tell it apart: "sc" (any), or "c11"
    include: str = ""  # the directory the header was found in, when not the package's

    @property
    def scheme(self) -> str:
        """The row of the tables: the mutated header's name (a scheme, or layers, grace, object)."""
        return Path(self.path).stem

    def apply(self, text: str) -> str:
        """``text`` (the header) with this mutant's change; raises ValueError if it no longer fits."""
        lines = text.splitlines(keepends=True)
        n = self.before.count("\n") + 1
        start = self.line - 1
        old = "".join(lines[start : start + n])
        if old.rstrip("\n") != self.before:
            raise ValueError(f"{self.id}: the header changed since the mutant was generated")
        return "".join(lines[:start]) + self.after + "\n" + "".join(lines[start + n :])


def builtin_targets() -> list[Target]:
    """The package's shared-memory code: every thread-safe scheme's header (run by that scheme),
    the layers (deferred and sharded), the grace period (percpu, coalesced) and the arena's free
    path (atomic, the scheme with the least code of its own in the way)."""
    import refstrat

    inc = Path(refstrat.get_include()) / "refstrat"
    targets = [
        Target(f"refstrat/{s.name}.h", (s.name,))
        for s in refstrat.strategies()
        if s.thread_safe and (inc / f"{s.name}.h").exists() and "rs_pr_" in (inc / f"{s.name}.h").read_text()
    ]
    return targets + [
        Target("refstrat/layers.h", ("deferred", "sharded")),
        Target("refstrat/grace.h", ("percpu", "coalesced")),
        Target("refstrat/object.h", ("atomic",), functions=r"free|remote|collect|take"),
    ]


def _blank_comments(text: str) -> str:
    """``text`` with comments and preprocessor lines turned to spaces (offsets kept)."""

    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    text = re.sub(r"/\*.*?\*/|//[^\n]*", blank, text, flags=re.S)
    return re.sub(r"(?m)^[ \t]*#.*(?:\\\n.*)*", blank, text)


def _regions(code: str, functions: str | None) -> list[tuple[int, int]]:
    """Offset ranges of the function bodies whose names match ``functions`` (everything if None)."""
    if functions is None:
        return [(0, len(code))]
    out = []
    for m in re.finditer(r"\b(rs_\w+)\s*\([^;{]*\)\s*\{", code):
        if not re.search(functions, m.group(1)):
            continue
        depth, i = 0, m.end() - 1
        while i < len(code):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            if depth == 0:
                break
            i += 1
        out.append((m.start(), i))
    return out


def _call_end(code: str, open_paren: int) -> int:
    depth = 0
    for i in range(open_paren, len(code)):
        depth += {"(": 1, ")": -1}.get(code[i], 0)
        if depth == 0:
            return i + 1
    return len(code)


def _args(call: str) -> list[str]:
    inner = call[call.index("(") + 1 : -1]
    out, depth, cur = [], 0, ""
    for ch in inner:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return out + ([cur.strip()] if cur.strip() else [])


def _call_mutants(name: str, call: str) -> list[tuple[str, str, str]]:
    """(operator, replacement, needs) for one call ``rs_pr_<name>(...)``."""
    out = [("order", call.replace(f"rs_pr_{name}", f"rs_pr_{w}", 1), "c11") for w in WEAKER.get(name, ())]
    args = _args(call)
    if name.startswith("cas") and len(args) == 3:
        out.append(("cas_split", f"rs_mut_cas_split_({args[0]}, {args[1]}, {args[2]})", "sc"))
    if name in RMW and len(args) == 2:
        new, ret = _SPLIT[RMW[name]]
        v = f"({args[1]})"
        out.append(("rmw_split", f"rs_mut_rmw_split_({args[0]}, {v}, {new.replace('(v)', v)}, {ret})", "sc"))
    return out


def _line_of(code: str, pos: int) -> int:
    return code.count("\n", 0, pos) + 1


def mutants_of(text: str, target: Target, include: str = "") -> list[Mutant]:
    """Every mutant of one header's text, in source order."""
    code = _blank_comments(text)
    regions = _regions(code, target.functions)
    lines = text.split("\n")
    clines = code.split("\n")
    out: list[Mutant] = []

    def inside(pos: int) -> bool:
        return any(a <= pos < b for a, b in regions)

    def add(line: int, n: int, op: str, after: str, needs: str = "sc") -> None:
        before = "\n".join(lines[line - 1 : line - 1 + n])
        if after == before:
            return
        key = f"{target.path}:{line}:{op}:{after}"
        digest = hashlib.blake2s(key.encode(), digest_size=3).hexdigest()
        out.append(
            Mutant(
                f"{Path(target.path).stem}:{line}:{op}:{digest}",
                target.path,
                line,
                op,
                before,
                after,
                target.hosts,
                needs,
                include,
            )
        )

    for m in _CALL.finditer(code):
        name = m.group(1)
        if not inside(m.start()) or NOT_SHARED.match(name):
            continue
        end = _call_end(code, m.end() - 1)
        first, last = _line_of(code, m.start()), _line_of(code, end)
        block = "\n".join(lines[first - 1 : last])
        offset = m.start() - (sum(len(x) + 1 for x in lines[: first - 1]))
        call = text[m.start() : end]
        for op, repl, needs in _call_mutants(name, call):
            add(first, last - first + 1, op, block[:offset] + repl + block[offset + len(call) :], needs)
        rest = code[end : code.find("\n", end)].strip()
        head = clines[first - 1][:offset].strip()
        if head in ("", "(void)") and rest == ";":
            indent = clines[first - 1][: len(clines[first - 1]) - len(clines[first - 1].lstrip())]
            add(first, last - first + 1, "drop", f"{indent}(void)0; /* mutant: dropped */")
    stmt = re.compile(r"^\s*(?!return\b|if\b|while\b|for\b|else\b|\})[^;{}]*\brs_pr_\w+\s*\([^;{}]*\);\s*$")
    for i in range(len(clines) - 1):
        a, b = clines[i], clines[i + 1]
        if not (stmt.match(a) and stmt.match(b) and inside(sum(len(x) + 1 for x in clines[:i]))):
            continue
        if len(a) - len(a.lstrip()) == len(b) - len(b.lstrip()):
            if not NOT_SHARED.match(_CALL.search(a).group(1)) and not NOT_SHARED.match(_CALL.search(b).group(1)):  # type: ignore[union-attr]
                add(i + 1, 2, "swap", lines[i + 1] + "\n" + lines[i])
    for i, c in enumerate(clines):
        pos = sum(len(x) + 1 for x in clines[:i])
        if not inside(pos):
            continue
        w = re.search(r"^(\s*)while\s*\(", c)
        if w and "}" not in c[: w.end()]:
            add(i + 1, 1, "while_if", lines[i][: w.end(1)] + "if" + lines[i][w.end(1) + 5 :])
        if _BOUND_WORDS.search(c) and not c.strip().startswith("for"):
            for r in _RELATIONAL.finditer(c):
                flip = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}[r.group(1)]
                add(i + 1, 1, "bound", lines[i][: r.start()] + flip + lines[i][r.end() :])
    return out


def generate(targets: Iterable[Target] | None = None, include_dirs: Sequence[str | Path] = ()) -> list[Mutant]:
    """Every mutant of ``targets`` (default :func:`builtin_targets`), each header looked up in
    ``include_dirs`` then the package's include directory.  Deterministic: same headers, same list."""
    import refstrat

    dirs = [Path(d) for d in include_dirs] + [Path(refstrat.get_include())]
    out: list[Mutant] = []
    for t in builtin_targets() if targets is None else targets:
        found = next((d / t.path for d in dirs if (d / t.path).exists()), None)
        if found is None:
            raise FileNotFoundError(f"{t.path} is in none of {[str(d) for d in dirs]}")
        own = "" if found.is_relative_to(refstrat.get_include()) else str(found)[: -len(t.path)]
        out += mutants_of(found.read_text(), t, own)
    return out


def sample(mutants: Sequence[Mutant], n: int, salt: str = "") -> list[Mutant]:
    """``n`` of ``mutants`` chosen deterministically (by a hash of each id), the same every run,
    spread over operators by construction of the hash; order mutants left out (no model here
    tells them apart)."""
    runnable = [m for m in mutants if m.needs == "sc"]
    return sorted(runnable, key=lambda m: hashlib.blake2s((salt + m.id).encode()).hexdigest())[:n]


# -- building and running ------------------------------------------------------------------------

_HOOKS = "init fini obj_init enter leave start quiesce count incref decref flush safepoint wait".split()


def _registry_entry(host: str) -> tuple[str, str]:
    """The (layers, vocab) fields of a built-in scheme's RS_X entry in refstrat/registry.h."""
    import refstrat

    text = (Path(refstrat.get_include()) / "refstrat" / "registry.h").read_text()
    m = re.search(rf"RS_X\({re.escape(host)},\s*\d,\s*([^,]+),(.*?)(?=RS_X\(|\n\n)", text, flags=re.S)
    if m is None:  # a plugin's scheme: no layers forced, the default operations
        return "0", ""
    vocab = re.search(r"\((\s*[\w]+\s*,\s*[\w]+\s*,\s*[\w]+\s*,\s*[\w]+\s*)\)\)", m.group(2))
    return m.group(1).strip(), f"({vocab.group(1)})" if vocab else ""


def plugin_source(mutant: Mutant, host: str, name: str, layers: str | None = None, vocab: str | None = None) -> str:
    """The plugin translation unit that registers ``host``'s hooks, compiled against the mutated
    header, under ``name``."""
    if layers is None or vocab is None:
        layers, vocab = _registry_entry(host)
    alias = "\n".join(f"#define rs_{name}_{h} rs_{host}_{h}" for h in _HOOKS)
    extra = f", {vocab}" if vocab else ""
    own = "" if mutant.path.startswith("refstrat/") else f'#include "{mutant.path}"\n'  # a plugin's scheme
    return (
        '#include "refstrat/plugin.h"\n'
        f"{own}{alias}\n"
        f'#define RS_MUTANTS(RS_X) RS_X({name}, 1, {layers}, "MUTANT {mutant.id}", '
        f'"refstrat.testing.mutation"{extra})\n'
        "RS_DEFINE_PLUGIN(RS_MUTANTS)\n"
    )


def _mutated_header(mutant: Mutant, include_dirs: Sequence[Path]) -> str:
    import refstrat

    for d in [*include_dirs, Path(refstrat.get_include())]:
        if (d / mutant.path).exists():
            text = mutant.apply((d / mutant.path).read_text())
            guard = re.search(r"#define \w+_H\b[^\n]*\n", text)
            at = guard.end() if guard else 0
            return text[:at] + PRELUDE + text[at:]
    raise FileNotFoundError(mutant.path)


def build(mutant: Mutant, host: str, workdir: Path, include_dirs: Sequence[str | Path] = ()) -> tuple[Path | None, str]:
    """Build one mutant as a check-flavour plugin in ``workdir``: (library, "") or (None, the
    compiler's complaint).  The mutated header shadows the original through ``-iquote``; the normal
    flavour keeps no workload (only the check flavour runs)."""
    from refstrat.testing.plugins import build_plugin

    dirs = [Path(d) for d in include_dirs]
    name = f"mut_{host}_{hashlib.blake2s(mutant.id.encode(), digest_size=4).hexdigest()}"
    overlay = workdir / name / "include"
    (overlay / Path(mutant.path).parent).mkdir(parents=True, exist_ok=True)
    (overlay / mutant.path).write_text(_mutated_header(mutant, dirs))
    src = workdir / name / "mutant.c"
    src.write_text(plugin_source(mutant, host, name))
    try:
        lib = build_plugin(
            [src],
            workdir / name / f"{name}.so",
            include_dirs=dirs,
            extra_args=("-O1", "-DRS_KEEP_WORKLOAD(w)=0", "-iquote", str(overlay), "-w"),
        )
    except RuntimeError as e:
        return None, str(e)[-2000:]
    return lib, name


@dataclass
class Outcome:
    """What became of one mutant: ``status`` (one of STATUSES), per model the verdict, and the
    killing failure's first problem."""

    mutant: Mutant
    status: str
    models: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    seconds: float = 0.0


def run_one(mutant: Mutant, models: Sequence[str], workdir: Path, check_kwargs: dict | None = None) -> Outcome:
    """Build ``mutant`` for each host and run the default exhaustive exploration under each model
    (in this process: call it in a subprocess, as :func:`score` does)."""
    from refstrat import _core
    from refstrat.testing import CheckFailed, check

    t0 = time.perf_counter()
    out = Outcome(mutant, "survived")
    if mutant.needs == "c11" and "c11" not in models:
        out.status = "needs c11"
        return out
    runnable = ["c11"] if mutant.needs == "c11" else list(models)  # SC and TSO cannot tell an order apart
    for host in mutant.hosts:
        lib, name = build(mutant, host, workdir, [mutant.include] if mutant.include else [])
        if lib is None:
            out.status, out.detail = "does not compile", name
            break
        _core.load_plugin(str(lib))
        immortal = "IMMORTAL" in _registry_entry(host)[0] or _registry_entry(host)[0].strip() == "1"
        for model in runnable:
            kw = dict(schedule="exhaustive", memory=model, immortal=immortal, max_examples=5)
            kw.update(check_kwargs or {})
            try:
                report = check(name, **kw)  # type: ignore[arg-type]
                out.models[f"{host}/{model}"] = report.verdict
            except CheckFailed as e:
                out.models[f"{host}/{model}"] = "killed"
                out.status, out.detail = "killed", f"{host}/{model}: {e.failure.problems[0]}"
                break
        if out.status == "killed":
            break
    out.seconds = time.perf_counter() - t0
    return out


def _outcome_json(o: Outcome) -> dict:
    d = asdict(o)
    d["mutant"]["hosts"] = list(o.mutant.hosts)
    return d


def _outcome_from(d: dict) -> Outcome:
    m = d.pop("mutant")
    m["hosts"] = tuple(m["hosts"])
    return Outcome(Mutant(**m), **d)


def score(
    mutants: Sequence[Mutant],
    models: Sequence[str] = ("sc", "tso"),
    *,
    jobs: int = 1,
    timeout: float = 600.0,
    check_kwargs: dict | None = None,
    progress: bool = False,
) -> Score:
    """Run every mutant (one subprocess each, ``jobs`` at a time; a crash or a run past
    ``timeout`` seconds is that mutant's status, never the score's end) and collect the outcomes.
    Interrupted, it kills the mutants still running before it returns the exception."""
    from refstrat.testing.sched.runner import MEMORIES

    bad = [m for m in models if m not in MEMORIES]
    if bad or not models:
        raise ValueError(f"unknown memory model(s) {bad}; valid choices: {', '.join(MEMORIES)}")
    t0 = time.perf_counter()
    outcomes: list[Outcome] = []
    running: list[tuple[subprocess.Popen, Mutant, float, Path]] = []
    with tempfile.TemporaryDirectory(prefix="refstrat-mutants-") as tmp:
        pending = list(enumerate(mutants))
        try:
            while pending or running:
                while pending and len(running) < jobs:
                    k, m = pending.pop(0)
                    running.append(_start(m, Path(tmp) / f"job{k}", models, check_kwargs))
                time.sleep(0.05)
                for item in list(running):
                    o = _finished(item, timeout)
                    if o is None:
                        continue
                    running.remove(item)
                    outcomes.append(o)
                    if progress:
                        done = f"[{len(outcomes)}/{len(mutants)}]"
                        print(f"{done} {o.mutant.id:<40} {o.status:<16} {o.seconds:6.1f}s {o.detail[:80]}", flush=True)
        finally:
            for proc, *_ in running:
                proc.kill()
                proc.wait()
    order = {m.id: i for i, m in enumerate(mutants)}
    outcomes.sort(key=lambda o: order[o.mutant.id])
    return Score(outcomes, list(models), time.perf_counter() - t0)


def _start(
    m: Mutant, job: Path, models: Sequence[str], check_kwargs: dict | None
) -> tuple[subprocess.Popen, Mutant, float, Path]:
    job.mkdir()
    (job / "in.json").write_text(json.dumps(dict(mutant=asdict(m), models=list(models), kw=check_kwargs)))
    cmd = [sys.executable, "-m", "refstrat.testing.mutation", str(job)]
    with open(job / "err.txt", "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    return proc, m, time.perf_counter(), job


def _finished(item: tuple[subprocess.Popen, Mutant, float, Path], timeout: float) -> Outcome | None:
    """The outcome of a finished (or timed out) mutant subprocess; None while it runs."""
    proc, m, start, job = item
    over = time.perf_counter() - start > timeout
    if proc.poll() is None and not over:
        return None
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        return Outcome(m, "timeout", seconds=timeout)
    if (job / "out.json").exists():
        return _outcome_from(json.loads((job / "out.json").read_text()))
    return Outcome(m, "crashed", detail=f"exit {proc.returncode}: {(job / 'err.txt').read_text()[-500:]}")


@dataclass
class Score:
    """The outcomes of :func:`score`, and the tables built from them."""

    outcomes: list[Outcome]
    models: list[str]
    seconds: float

    def counts(self, key: str) -> dict[str, dict[str, int]]:
        """Per ``key`` ("scheme" or "operator"): how many mutants in each status."""
        out: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            k = o.mutant.scheme if key == "scheme" else o.mutant.operator
            row = out.setdefault(k, {s: 0 for s in STATUSES})
            row[o.status] += 1
        return out

    def apply_triage(self, equivalent: Iterable[str]) -> None:
        """Mark the survivors whose ids are in ``equivalent`` (a triage file's verdicts)."""
        eq = set(equivalent)
        for o in self.outcomes:
            if o.status == "survived" and o.mutant.id in eq:
                o.status = "equivalent"

    def table(self) -> str:
        """The kill table per scheme and per operator, with the score (killed over killed plus
        survived: equivalent, uncompilable and order mutants do not count)."""
        lines = [f"models: {', '.join(self.models)}; {len(self.outcomes)} mutant(s), {self.seconds:.0f} s"]
        cols = ("killed", "survived", "equivalent", "does not compile", "needs c11", "crashed", "timeout")
        for key in ("scheme", "operator"):
            lines.append("")
            lines.append(f"{key:<16}" + "".join(f"{c:>17}" for c in cols) + f"{'score':>9}")
            for k, row in sorted(self.counts(key).items()):
                judged = row["killed"] + row["survived"]
                pct = f"{100 * row['killed'] / judged:.0f} %" if judged else "-"
                lines.append(f"{k:<16}" + "".join(f"{row[c]:>17}" for c in cols) + f"{pct:>9}")
        survivors = [o for o in self.outcomes if o.status == "survived"]
        if survivors:
            lines += ["", "survivors:"]
            for o in survivors:
                verdicts = ", ".join(f"{k} {v}" for k, v in o.models.items())
                lines.append(f"  {o.mutant.id}  [{verdicts}]")
                lines.append(f"      {' '.join(o.mutant.before.split())[:100]}")
                lines.append(f"   -> {' '.join(o.mutant.after.split())[:100]}")
        return "\n".join(lines)

    @classmethod
    def from_json(cls, text: str) -> Score:
        """The score :meth:`to_json` wrote (to re-render it with a new triage, without a rerun)."""
        d = json.loads(text)
        return cls([_outcome_from(o) for o in d["outcomes"]], d["models"], d["seconds"])

    def to_json(self) -> str:
        return json.dumps(
            dict(models=self.models, seconds=self.seconds, outcomes=[_outcome_json(o) for o in self.outcomes]),
            indent=1,
        )


def _main(job: str) -> None:
    """Subprocess entry: run the mutant of ``job``/in.json, write ``job``/out.json."""
    d = json.loads((Path(job) / "in.json").read_text())
    m = d["mutant"]
    m["hosts"] = tuple(m["hosts"])
    o = run_one(Mutant(**m), d["models"], Path(job), d["kw"])
    (Path(job) / "out.json").write_text(json.dumps(_outcome_json(o)))


if __name__ == "__main__":
    os.nice(0)
    _main(sys.argv[1])
