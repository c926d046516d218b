"""The C units of src/ call each other without a circle.

The graph is derived from the objects: an edge A -> B for every symbol that A's object leaves
undefined and B's object defines (calls and data alike, e.g. check_table.c's kernels reading
check.c's rs_chk_api_ptr). The objects come from build/objects-*/ when the build (setup.py's
build_ext_parallel) left one whose digest matches today's sources and headers; otherwise each unit
is compiled here at -O0 (about a minute for the three units that instantiate kernels).
`python tests/test_c_units.py` prints the graph.
"""

import glob
import hashlib
import os
import subprocess
import sys
import sysconfig
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def _depends():
    """setup.py's depends, as the relative paths its digest reads them by."""
    inc = os.path.join("include", "refstrat")
    paths = [os.path.join(inc, f) for f in os.listdir(os.path.join(ROOT, inc))]
    paths += [os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "src", "*.h"))]
    return sorted(paths)


def units():
    return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "src", "*.c")))


def _built_object(unit, headers):
    """A build's object of unit whose digest matches its source and headers today, or None."""
    digest = hashlib.sha256(_read(unit) + headers).hexdigest()
    stem = os.path.splitext(unit)[0]
    for obj in glob.glob(os.path.join(ROOT, "build", "objects-*", stem + ".o")):
        try:
            with open(obj + ".digest") as f:
                if f.read() == digest:
                    return obj
        except FileNotFoundError:
            pass
    return None


def _compile(unit, outdir):
    obj = os.path.join(outdir, os.path.basename(unit) + ".o")
    subprocess.run(
        [
            "gcc",
            "-std=gnu11",
            "-O0",
            "-pthread",
            "-w",
            "-I" + os.path.join(ROOT, "include"),
            "-I" + sysconfig.get_paths()["include"],
            "-c",
            os.path.join(ROOT, unit),
            "-o",
            obj,
        ],
        check=True,
    )
    return obj


def objects(outdir):
    headers = b"".join(_read(d) for d in _depends())
    found = {u: _built_object(u, headers) for u in units()}
    missing = [u for u, o in found.items() if o is None]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for u, o in zip(missing, pool.map(lambda u: _compile(u, outdir), missing)):
            found[u] = o
    return found


def _symbols(obj):
    """(global symbols defined, symbols undefined) of an object, from nm."""
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind in ("U", "w", "v"):
            undefined.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, undefined


def graph(objs):
    """(unit -> {unit it refers to: the symbols}, unit -> the global symbols it defines)."""
    syms = {u: _symbols(o) for u, o in objs.items()}
    owner = {}
    for u, (defined, _) in syms.items():
        for name in defined:
            assert name not in owner, f"{name} is defined by both {owner[name]} and {u}"
            owner[name] = u
    edges = {u: {} for u in syms}
    for u, (_, undefined) in syms.items():
        for name in sorted(undefined):
            if name in owner and owner[name] != u:
                edges[u].setdefault(owner[name], []).append(name)
    return edges, {u: defined for u, (defined, _) in syms.items()}


def find_cycle(edges):
    """A list of units forming a circle, or None."""
    state, stack = {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(edges[u]):
            if state.get(v) == 1:
                return stack[stack.index(v) :] + [v]
            if v not in state:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(edges):
        if u not in state:
            found = visit(u)
            if found:
                return found
    return None


@pytest.fixture(scope="module")
def unit_graph():
    if not units():
        pytest.skip("no C sources")
    with tempfile.TemporaryDirectory() as tmp:
        yield graph(objects(tmp))


def test_no_circle_among_the_c_units(unit_graph):
    edges, _ = unit_graph
    cycle = find_cycle(edges)
    assert cycle is None, (
        "a circle among the C units: "
        + " -> ".join(cycle)
        + "\n"
        + "\n".join(f"  {u} -> {v}: {', '.join(edges[u][v][:4])}" for u, v in zip(cycle, cycle[1:]))
    )


def test_each_unit_is_used(unit_graph):
    """Every unit is referred to by another unit or defines an entry point of refstrat/core.h."""
    edges, defined = unit_graph
    header = _read(os.path.join("include", "refstrat", "core.h")).decode()
    referred = {v for u in edges for v in edges[u]}
    for u in edges:
        assert u in referred or any(name + "(" in header for name in defined[u]), f"{u} is used by nothing"


def test_the_detector_sees_a_circle():
    assert find_cycle({"a": {"b": ["f"]}, "b": {"a": ["g"]}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b": ["f"]}, "b": {}}) is None


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        g, _ = graph(objects(tmp))
    for u in sorted(g):
        for v, names in sorted(g[u].items()):
            print(f"{u} -> {v}: {', '.join(names)}")
    cycle = find_cycle(g)
    print("circle:", " -> ".join(cycle) if cycle else "none")
    sys.exit(1 if cycle else 0)
