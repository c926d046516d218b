#!/bin/sh
# The exact commands behind the recorded results in this folder (see RESULTS.md).
# Run from the repository root with the dev venv: sh bench/run.sh
# pyperf refuses to overwrite result files, so old ones are moved aside first.
set -e
PY=${PY:-/work/venv/bin/python}
OTHER=${OTHER:-/root/.pyenv/versions/3.13.0/bin/python3}   # a second (GIL) interpreter for the real rows
FT_ROOT=${FT_ROOT:-$HOME/.cache/refstrat-ft}  # where bench/build-ft-python.sh put CPython 3.13.5 (ft, gil)
for f in bench/default.json bench/calibrated.json bench/fidelity-3.13t.json bench/explain.json; do [ -e "$f" ] && mv "$f" "$f.old"; done

# 0. The machine's own floor under the unstable-cell count: a hand-written C loop, no refstrat,
#    measured and judged as the bench measures a cell, at T = 1 and at T = 2 (shared lines).
{ $PY bench/noise_floor.py; $PY bench/noise_floor.py --threads 2 --cells 16; } | tee bench/noise-floor.txt

# 1. The default matrix, exactly what a newcomer gets (every strategy, fib, T = 1..cores).
$PY -m refstrat.bench --output bench/default.json --plot bench/default.png | tee bench/default.txt

# 2. Model vs reality: work calibrated to this interpreter's Python fib call, real rows on
#    this interpreter and on $OTHER, threads up to 2x the cores (the talk went to 7 threads),
#    plus biased+immortal: biased refcounting with PEP 683 immortal shared objects, as CPython ships it.
$PY -m refstrat.bench --calibrate --python "$OTHER" --threads 1,2,3,4 --strategies all,biased+immortal \
    --output bench/calibrated.json --plot bench/calibrated.png | tee bench/calibrated.txt

# 3. Model against reality on every workload: free-threaded CPython 3.13.5 against its GIL twin,
#    both built from the same source (sh bench/build-ft-python.sh "$FT_ROOT"); the GIL twin comes
#    first, so measured ratios are relative to it and the model's work is calibrated against it.
$PY -m refstrat.bench --real --python "$FT_ROOT/3.13.5/gil/bin/python3.13" \
    --python "$FT_ROOT/3.13.5/ft/bin/python3.13t" --workloads fib,private,shared,mixed,handoff --calibrate \
    --strategies gil,biased+immortal --threads 1,2 --output bench/fidelity-3.13t.json | tee bench/fidelity-3.13t.txt

# 4. Why: the explain flavour's columns (slow-path %, side memory, free-delay p99) and hot objects
#    on every benchable workload, plus instructions/op under callgrind for the T=1 cells.
$PY -m refstrat.bench --explain --callgrind --workloads fib,private,shared,mixed,handoff \
    --output bench/explain.json | tee bench/explain.txt

# 5. The instrument's own targets (issue 10): speed_of_light and gil against the limit, the atomic
#    ratio against the hardware's, gil vs nonatomic, --calibrate's work, the explain flavour's zero
#    cost (timed kernels disassembled before and after it was added).
$PY bench/instrument_targets.py --repeat 9 | tee bench/instrument_targets.txt
#    The same ratios as medians over eight code placements of this tree's build (a kernel's time
#    depends on where the linker put it); needs refstrat/_core.c, which the pip build generates.
$PY bench/layout_spread.py | tee bench/layout-spread.txt

# 6. What each CPython 3.14t mechanism buys (issue 8): biased alone, + immortal (3.13t), + deferred,
#    + sharded (= cpython314t), on fib (3.6's operation mix), fib314 (3.14's), mixed and handoff,
#    at T = 1 and the number of cores; then the new schemes' own targets: sharded and percpu on
#    shared (CPU per operation at 2 threads against 1), deferred against immortal on fib.
for f in bench/cpython314t.json bench/new-schemes.json; do [ -e "$f" ] && mv "$f" "$f.old"; done
$PY -m refstrat.bench --strategies biased,biased+immortal,biased+immortal+deferred,cpython314t \
    --workloads fib,fib314,mixed,handoff --output bench/cpython314t.json | tee bench/cpython314t.txt
$PY -m refstrat.bench --strategies immortal,deferred,sharded,percpu,signed,atomic --workloads fib,shared \
    --output bench/new-schemes.json | tee bench/new-schemes.txt

# 7. The check build (issue 7): scheduling points per second (SC, TSO, with the race detection and
#    sleep sets), whole explorations under each reduction; then the two hardest broken variants on
#    their own programs at preemption bound 3 under each reduction.
$PY bench/check_speed.py | tee bench/check_speed.txt
$PY bench/reduction_teeth.py --cap 150000 | tee bench/reduction_teeth.txt

# 8. The thread-scaling matrix needs more CPUs than this VM has: bench/scaling.sh runs it on a
#    many-CPU machine (scaling-16cpu.txt and scaling-16cpu-s12.txt say how each was run, and how
#    the tables were made; instrument_targets-intel16.txt is step 5 on that machine).
