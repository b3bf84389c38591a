#!/usr/bin/env python3
"""Measure recall / false positives of the built-in rules on the Nosey Parker corpus with the real binary.

  python3 tools/corpus_eval.py [path/to/logredact] [corpus.jsonl] [-v]

A positive counts as redacted when the filter changes its text; a negative as a false positive when the
filter changes it. Negatives whose text is also some rule's positive are reported separately.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = [a for a in sys.argv[1:] if a != "-v"]
verbose = "-v" in sys.argv
binary = args[0] if args else os.path.join(ROOT, "target", "debug", "logredact")
corpus = args[1] if len(args) > 1 else os.path.join(ROOT, "..", "shared", "corpus", "noseyparker-examples.jsonl")

recs = [json.loads(l) for l in open(corpus)]
texts = sorted({r["text"] for r in recs})
# One process for all texts: join with a separator line that no rule touches.
SEP = "\x00LOGREDACT-CORPUS-SEPARATOR\x00"
payload = ("\n" + SEP + "\n").join(t.rstrip("\n") for t in texts) + "\n"
out = subprocess.run([binary], input=payload.encode(), capture_output=True, check=True).stdout.decode("utf-8", "replace")
parts = out.rstrip("\n").split("\n" + SEP + "\n")
assert len(parts) == len(texts), (len(parts), len(texts))
changed = {t: (p != t.rstrip("\n")) for t, p in zip(texts, parts)}
result = dict(zip(texts, parts))
pos_texts = {r["text"] for r in recs if r["kind"] == "positive"}
P = [r for r in recs if r["kind"] == "positive" and r["in_default_ruleset"]]
N = [r for r in recs if r["kind"] == "negative" and r["in_default_ruleset"]]
miss = [r for r in P if not changed[r["text"]]]
fp = [r for r in N if changed[r["text"]]]
fp_strict = [r for r in fp if r["text"] not in pos_texts]
nn = sum(1 for r in N if r["text"] not in pos_texts)
if verbose:
    for r in miss:
        print("MISS", r["rule_id"], repr(r["text"][:150]))
    for r in fp:
        print("FP  ", r["rule_id"], "(also positive)" if r["text"] in pos_texts else "", repr(result[r["text"]][:200]))
print(f"recall {len(P) - len(miss)}/{len(P)} = {(len(P) - len(miss)) / len(P):.1%}; "
      f"negatives changed {len(fp)}/{len(N)} = {len(fp) / len(N):.1%} "
      f"(not also positive: {len(fp_strict)}/{nn} = {len(fp_strict) / nn:.1%})")
