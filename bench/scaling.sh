#!/bin/bash
# The thread-scaling matrix on a machine with many CPUs (bench/scaling-16cpu.txt): every strategy
# and the limit rows, one bench invocation per (workload, T), in the order given, so that a run cut
# off by the machine's time limit keeps what finished. Each invocation gets what is left of
# DEADLINE_S seconds; the results (text reports, pyperf JSON, the machine's facts, the progress
# with the load at each start) are packed into OUTDIR/scaling.tgz.
#
# The machine may have no network: build the wheels on the development machine first, for the
# target's Python (3.12 on the lent machines), into $WHEELS (default .dev, git-ignored there):
#   python3.12 -m pip wheel --no-deps -w .dev . && python3.12 -m pip download --no-deps -d .dev pyperf
# then, on the machine, from the repository root:
#   bash bench/scaling.sh "$OUT" 530 "fib:1 fib:2 fib:4 fib:8 fib:16 shared:16 shared:1 shared:2 shared:8 shared:4"
# Merge the JSON files and print the tables (python bench/scaling_table.py --help):
#   python bench/scaling_table.py fib-T1.json fib-T2.json ... --merged MERGED.json
set -u
OUTDIR=$1; DEADLINE=$2; PAIRS=$3; shift 3; EXTRA="$*"
PY=${PY:-python3}
WHEELS=${WHEELS:-.dev}
START=$(date +%s)
W=/tmp/scaling; rm -rf $W; mkdir -p $W
export PYTHONUNBUFFERED=1
$PY -m pip install -q --no-index --no-deps --no-compile "$WHEELS"/*.whl > $W/install.log 2>&1 || { cat $W/install.log; exit 1; }
cd /tmp  # so that python imports the installed package, not the source tree's refstrat/
{ date -u; nproc; lscpu; $PY -V; uptime; cat /proc/loadavg; free -g; } > $W/machine.txt 2>&1
$PY -c "import refstrat, pyperf; print(refstrat.__file__, pyperf.__version__)" | tee -a $W/machine.txt
for pair in $PAIRS; do
  wl=${pair%%:*}; t=${pair##*:}
  left=$(( DEADLINE - ($(date +%s) - START) ))
  if [ $left -lt 30 ]; then echo "skip $wl T=$t: ${left}s left" | tee -a $W/skipped.txt; continue; fi
  s=$(date +%s)
  echo "== $wl T=$t start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $W/progress.txt
  timeout $((left - 10)) $PY -m refstrat.bench --workloads $wl --threads $t --fast $EXTRA \
      --output $W/$wl-T$t.json > $W/$wl-T$t.txt 2>&1
  echo "   rc $? in $(( $(date +%s) - s ))s" | tee -a $W/progress.txt
  tail -22 $W/$wl-T$t.txt
done
tar czf $OUTDIR/scaling.tgz -C $W .
echo "total $(( $(date +%s) - START ))s"
