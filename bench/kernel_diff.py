import subprocess, re, sys
def funcs(obj):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-r", obj], capture_output=True, text=True).stdout
    fns, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if m:
            cur = m.group(1); fns[cur] = []; continue
        if cur and re.match(r"^\s+[0-9a-f]+:", line):
            ins = line.split(":", 1)[1].strip()
            ins = re.sub(r"[0-9a-f]+ <([^>+]+)(\+0x[0-9a-f]+)?>", r"<\1>", ins)   # call/jmp targets by symbol
            ins = re.sub(r"\b(j\w+|call)\s+[0-9a-f]+\b", r"\1 X", ins)
            ins = re.sub(r"-?0x[0-9a-f]+\(%rip\)", "RIP", ins)
            ins = re.sub(r"\.LC[0-9]+", ".LC", ins)
            ins = re.sub(r"(\.rodata|\.data\.rel\.ro\.local|\.data\.rel\.local|\.bss|\.data)(\.[a-z0-9.]+)?[+-]0x[0-9a-f]+", r"\1", ins)
            fns[cur].append(ins)
        elif cur and "R_X86_64" in line:
            fns[cur].append(re.sub(r"\.LC[0-9]+", ".LC", re.sub(r"^\s*[0-9a-f]+:\s*", "", line).strip()))
    return fns
a, b = funcs(sys.argv[1]), funcs(sys.argv[2])
pat = re.compile(sys.argv[3]) if len(sys.argv) > 3 else re.compile(".")
diff = [f for f in sorted(set(a) & set(b)) if pat.search(f) and a[f] != b[f]]
only_a = sorted(f for f in set(a) - set(b) if pat.search(f)); only_b = sorted(f for f in set(b) - set(a) if pat.search(f))
print("common", len(set(a)&set(b)), "differ", len(diff), diff[:40]); print("only old", only_a[:40]); print("only new", only_b[:40])
if len(sys.argv) > 4:
    import difflib
    f = sys.argv[4]
    print("\n".join(list(difflib.unified_diff(a[f], b[f], lineterm=""))[:60]))
