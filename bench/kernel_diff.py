"""Compare two compiled objects function by function, as the core's shape changes must leave
every timed kernel's instructions as they were.

    python bench/kernel_diff.py OLD.o NEW.o [REGEX [FUNCTION]]

Each function's disassembly (objdump -d -r) is normalised: jump and call targets by symbol, and
RIP-relative offsets, local constant labels (.LC<n>) and section offsets dropped, since they move
with any change elsewhere in the object. Prints how many functions both objects define, those
whose instructions differ (matching REGEX), those only one defines, and with FUNCTION a unified
diff of that function. Compile both with setup.py's flags, e.g.
    gcc -std=gnu11 -O2 -fno-strict-aliasing -Wall -Wno-unused-function -pthread -Iinclude \
        -I"$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" -c src/registry.c
"""

import re
import subprocess
import sys


def funcs(obj):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-r", obj], capture_output=True, text=True).stdout
    fns, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if m:
            cur = m.group(1)
            fns[cur] = []
            continue
        if cur and re.match(r"^\s+[0-9a-f]+:", line):
            ins = line.split(":", 1)[1].strip()
            ins = re.sub(r"[0-9a-f]+ <([^>+]+)(\+0x[0-9a-f]+)?>", r"<\1>", ins)  # call/jmp targets by symbol
            ins = re.sub(r"\b(j\w+|call)\s+[0-9a-f]+\b", r"\1 X", ins)
            ins = re.sub(r"-?0x[0-9a-f]+\(%rip\)", "RIP", ins)
            ins = re.sub(r"\.LC[0-9]+", ".LC", ins)
            ins = re.sub(
                r"(\.rodata|\.data\.rel\.ro\.local|\.data\.rel\.local|\.bss|\.data)(\.[a-z0-9.]+)?[+-]0x[0-9a-f]+",
                r"\1",
                ins,
            )
            fns[cur].append(ins)
        elif cur and "R_X86_64" in line:
            fns[cur].append(re.sub(r"\.LC[0-9]+", ".LC", re.sub(r"^\s*[0-9a-f]+:\s*", "", line).strip()))
    return fns


a, b = funcs(sys.argv[1]), funcs(sys.argv[2])
pat = re.compile(sys.argv[3]) if len(sys.argv) > 3 else re.compile(".")
diff = [f for f in sorted(set(a) & set(b)) if pat.search(f) and a[f] != b[f]]
only_a = sorted(f for f in set(a) - set(b) if pat.search(f))
only_b = sorted(f for f in set(b) - set(a) if pat.search(f))
print("common", len(set(a) & set(b)), "differ", len(diff), diff[:40])
print("only old", only_a[:40])
print("only new", only_b[:40])
if len(sys.argv) > 4:
    import difflib

    f = sys.argv[4]
    print("\n".join(list(difflib.unified_diff(a[f], b[f], lineterm=""))[:60]))
