#!/usr/bin/env python3
"""Check that every rule regex compiles in Hyperscan and reports every example of its rule.

Needs gcc and the system Hyperscan (apt-get install libhyperscan-dev).

  python3 tools/hs_parity.py
"""
import glob
import os
import subprocess
import sys
import tempfile
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tmp = tempfile.mkdtemp(prefix="hs-parity-")
exe = os.path.join(tmp, "hs_parity")
subprocess.run(["gcc", "-O1", os.path.join(ROOT, "tools", "hs_parity.c"), "-o", exe, "-lhs"], check=True)
rules = []
for f in sorted(glob.glob(os.path.join(ROOT, "patterns", "*.toml"))):
    with open(f, "rb") as fh:
        rules += tomllib.load(fh)["rules"]
pats, exs = os.path.join(tmp, "patterns.txt"), os.path.join(tmp, "examples.txt")
with open(pats, "w") as p, open(exs, "w") as e:
    for i, r in enumerate(rules):
        p.write(r["regex"] + "\n")
        for ex in r.get("examples", []):
            e.write(f"{i}\t{ex}\n")
res = subprocess.run([exe, pats, exs], capture_output=True, text=True)
for line in res.stdout.splitlines():
    if line.startswith("MISS rule "):
        idx = int(line.split()[2].rstrip(":"))
        line = line.replace(f"rule {idx}:", f"{rules[idx]['id']}:")
    elif line.startswith("compile error in "):
        idx = int(line.split()[3].rstrip(":"))
        line += f" ({rules[idx]['id']})"
    print(line)
sys.exit(res.returncode)
