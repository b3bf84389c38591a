#!/usr/bin/env python3
"""Quick offline checker for logredact rule files (patterns/*.toml).

It approximates the Rust core's semantics with Python's `re` (bytes patterns, so
`\\w`, `\\d`, `\\s`, `\\b` are ASCII, as with unicode disabled in Rust):

  * schema: known fields only, unique kebab-case ids, keywords present, >= 2
    examples and >= 2 negativeExamples, bounded regexes (no `+`, `*`, `{n,}`);
  * every example gives >= 1 finding of its rule (rule run alone), every negative 0;
  * every keyword check: each example contains at least one of the rule's keywords;
  * the secret is `secretGroup`, else the first non-empty group, else the match;
    then entropy, validator (Python twins of src/validate.rs), allowlists and
    the core's placeholder vetoes;
  * --benign FILE: lines that no rule may touch (ordinary log lines);
  * --corpus FILE: recall / false positives on the Nosey Parker examples corpus.

The Rust CLI (`logredact rules test`) is the final judge; this is a fast pre-check.

  python3 tools/check_rules.py                 # check all patterns/*.toml
  python3 tools/check_rules.py --fill          # replace %%gen%% markers in examples
  python3 tools/check_rules.py --corpus ../shared/corpus/noseyparker-examples.jsonl -v
"""
import argparse
import base64
import glob
import hashlib
import json
import math
import os
import random
import re
import sys
import tomllib
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RULE_FIELDS = {
    "id", "description", "regex", "secretGroup", "keywords", "entropy", "validate", "tags",
    "prefix", "examples", "negativeExamples", "allowlists", "path",
}
ALLOW_FIELDS = {"description", "regexTarget", "regexes", "stopwords", "condition", "paths", "commits"}
VALIDATORS = {"github-checksum", "npm-checksum", "jwt", "aws-key-id", "basic-auth"}

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# ---------------------------------------------------------------- validators

def b62(n, width=6):
    s = ""
    while n:
        s = B62[n % 62] + s
        n //= 62
    return s.rjust(width, "0")


def crc_checksum_ok(secret: bytes, prefixes):
    s = secret.decode("latin-1")
    for p in prefixes:
        if s.startswith(p):
            body = s[len(p):]
            if len(body) != 36 or not body.isascii() or not body.isalnum():
                return False
            return b62(zlib.crc32(body[:30].encode())) == body[30:]
    return False


def b64url_decode(seg: bytes):
    seg = seg.rstrip(b"=")
    if not re.fullmatch(rb"[A-Za-z0-9_\-+/]*", seg) or len(seg) % 4 == 1:
        return None
    seg = seg.replace(b"+", b"-").replace(b"/", b"_")
    try:
        return base64.urlsafe_b64decode(seg + b"=" * (-len(seg) % 4))
    except Exception:
        return None


def jwt_ok(secret: bytes):
    parts = secret.split(b".")
    if len(parts) < 2:
        return False
    h = b64url_decode(parts[0])
    p = b64url_decode(parts[1])
    if h is None or p is None:
        return False
    try:
        hj = json.loads(h)
        pj = json.loads(p)
    except Exception:
        return False
    return isinstance(hj, dict) and "alg" in hj and isinstance(pj, dict)


AWS_PREFIXES = ["AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "APKA", "AROA", "ASCA"]


def aws_key_id_ok(secret: bytes):
    s = secret.decode("latin-1")
    if len(s) != 20:
        return False
    if not (s[:4] in AWS_PREFIXES or re.fullmatch(r"A3T[A-Z0-9]", s[:4])):
        return False
    return re.fullmatch(r"[A-Z2-7]{16}", s[4:]) is not None


def basic_auth_ok(secret: bytes):
    d = b64url_decode(secret)
    if d is None or b":" not in d:
        return False
    user, _, pw = d.partition(b":")
    return len(pw) > 0 and all(32 <= c < 127 for c in d)


def validate(name, secret):
    if name == "github-checksum":
        return crc_checksum_ok(secret, ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])
    if name == "npm-checksum":
        return crc_checksum_ok(secret, ["npm_"])
    if name == "jwt":
        return jwt_ok(secret)
    if name == "aws-key-id":
        return aws_key_id_ok(secret)
    if name == "basic-auth":
        return basic_auth_ok(secret)
    return True


# ---------------------------------------------------------------- detection

PLACEHOLDERS = [b"example", b"${", b"{{", b"<redacted>", b"redacted", b"****", b"xxxx"]
MARKER = re.compile(rb"\[REDACTED:[a-z0-9-]*\]")


def entropy(b: bytes):
    if not b:
        return 0.0
    counts = {}
    for c in b:
        counts[c] = counts.get(c, 0) + 1
    n = len(b)
    return -sum(v / n * math.log2(v / n) for v in counts.values())


def py_regex(rx: str):
    # Rust syntax -> Python: (?i) fine; \z -> \Z; possessive/other not used.
    rx = rx.replace(r"\z", r"\Z")
    return re.compile(rx.encode())


class Rule:
    def __init__(self, d, file):
        self.d = d
        self.file = file
        self.id = d["id"]
        self.rx = py_regex(d["regex"])
        self.keywords = [k.lower().encode() for k in d.get("keywords", [])]
        self.allow = []
        for a in d.get("allowlists", []):
            self.allow.append((
                a.get("regexTarget", "secret"),
                [re.compile(r.encode()) for r in a.get("regexes", [])],
                [s.lower().encode() for s in a.get("stopwords", [])],
            ))

    def findings(self, line: bytes, why=None):
        low = line.lower()
        if self.keywords and not any(k in low for k in self.keywords):
            if why is not None:
                why.append("no keyword")
            return []
        out = []
        markers = [m.span() for m in MARKER.finditer(line)]
        for m in self.rx.finditer(line):
            sg = self.d.get("secretGroup")
            if sg is not None:
                span = m.span(sg)
            else:
                span = None
                for g in range(1, (self.rx.groups or 0) + 1):
                    if m.group(g):
                        span = m.span(g)
                        break
                if span is None:
                    span = m.span()
            if span[0] < 0:
                continue
            secret = line[span[0]:span[1]]
            reason = self.veto(secret, m.group(0), line, markers, m.span())
            if reason:
                if why is not None:
                    why.append(f"{reason}: {secret[:60]!r}")
                continue
            out.append((span, secret))
        if not out and why is not None and not why:
            why.append("regex did not match")
        return out

    def veto(self, secret, match, line, markers, mspan):
        if not secret:
            return "empty"
        e = self.d.get("entropy")
        if e is not None and entropy(secret) < e:
            return f"entropy {entropy(secret):.2f} < {e}"
        v = self.d.get("validate")
        if v and not validate(v, secret):
            return f"validator {v}"
        for target, rxs, stops in self.allow:
            t = {"secret": secret, "match": match, "line": line}[target]
            if any(r.search(t) for r in rxs):
                return "allowlist regex"
            if any(s in secret.lower() for s in stops):
                return "allowlist stopword"
        ls = secret.lower()
        for p in PLACEHOLDERS:
            if p in ls:
                return f"placeholder {p!r}"
        if len(set(secret)) == 1:
            return "one repeated char"
        for a, b in markers:
            if mspan[0] < b and a < mspan[1]:
                return "overlaps marker"
        return None


def load_rules(files):
    rules, errors = [], []
    seen = {}
    for f in files:
        with open(f, "rb") as fh:
            try:
                data = tomllib.load(fh)
            except Exception as ex:
                errors.append(f"{f}: TOML error: {ex}")
                continue
        for k in data:
            if k not in ("rules", "title", "description"):
                errors.append(f"{f}: unknown top-level key {k}")
        for d in data.get("rules", []):
            rid = d.get("id", "?")
            for k in d:
                if k not in RULE_FIELDS:
                    errors.append(f"{f}:{rid}: unknown field {k}")
            for a in d.get("allowlists", []):
                for k in a:
                    if k not in ALLOW_FIELDS:
                        errors.append(f"{f}:{rid}: unknown allowlist field {k}")
            if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rid):
                errors.append(f"{f}:{rid}: id not kebab-case")
            if rid in seen:
                errors.append(f"{f}:{rid}: duplicate id (also in {seen[rid]})")
            seen[rid] = f
            if not d.get("keywords"):
                errors.append(f"{f}:{rid}: no keywords")
            for kw in d.get("keywords", []):
                if len(kw) < 3 and kw.isalnum():
                    errors.append(f"{f}:{rid}: keyword too short: {kw!r}")
            if len(d.get("examples", [])) < 2 or len(d.get("negativeExamples", [])) < 2:
                errors.append(f"{f}:{rid}: needs >= 2 examples and >= 2 negativeExamples")
            v = d.get("validate")
            if v and v not in VALIDATORS:
                errors.append(f"{f}:{rid}: unknown validator {v}")
            rx = d.get("regex", "")
            if unbounded(rx):
                errors.append(f"{f}:{rid}: unbounded quantifier in regex")
            if re.search(r"\(\?[=!<]", rx) or re.search(r"\\[1-9]", rx):
                errors.append(f"{f}:{rid}: look-around/backreference")
            if "*?" in rx or "+?" in rx or "}?" in rx:
                errors.append(f"{f}:{rid}: lazy quantifier")
            try:
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    import sre_parse
                    width = sre_parse.parse(rx.replace(r"\z", r"\Z").encode()).getwidth()[1]
                if width > 4096:
                    errors.append(f"{f}:{rid}: longest match {width} bytes > 4096")
            except Exception:
                pass
            if re.search(r"\\b(?:\\[-.:/]|[-.:/=@])|(?<![\\?])[-.:/=@]\\b", rx):
                errors.append(f"{f}:{rid}: \\b next to a non-word character")
            try:
                rules.append(Rule(d, f))
            except re.error as ex:
                errors.append(f"{f}:{rid}: regex error {ex}")
    return rules, errors


def unbounded(rx):
    # crude: strip escapes and classes, then look for + * {n,}
    s = re.sub(r"\\.", "", rx)
    s = re.sub(r"\[[^\]]*\]", "", s)
    return bool(re.search(r"[+*]|\{\d+,\}", s))


def check_examples(rules):
    errors = []
    for r in rules:
        for ex in r.d.get("examples", []):
            line = ex.encode()
            if b"\n" in line:
                errors.append(f"{r.id}: example contains a newline")
            low = line.lower()
            if not any(k in low for k in r.keywords):
                errors.append(f"{r.id}: example lacks every keyword: {ex[:80]!r}")
            why = []
            found = r.findings(line, why)
            if not found:
                errors.append(f"{r.id}: example NOT detected ({'; '.join(why)}): {ex[:120]!r}")
            p = r.d.get("prefix")
            for _, secret in found:
                if p and not secret.startswith(p.encode()):
                    errors.append(f"{r.id}: secret does not start with prefix {p!r}: {ex[:80]!r}")
            if "%%" in ex:
                errors.append(f"{r.id}: unfilled marker in example")
        for ex in r.d.get("negativeExamples", []):
            f = r.findings(ex.encode())
            if f:
                errors.append(f"{r.id}: negative detected {f[0][1][:60]!r}: {ex[:120]!r}")
    return errors


def redact(rules, text: bytes):
    out_lines = []
    hits = []
    for line in text.split(b"\n"):
        spans = []
        for r in rules:
            for span, _ in r.findings(line):
                spans.append((span, r.id))
        if spans:
            hits.extend(sorted({rid for _, rid in spans}))
        spans.sort()
        res, pos = b"", 0
        for (a, b), rid in spans:
            if a < pos:
                if b > pos:
                    pos = b
                continue
            res += line[pos:a] + f"[REDACTED:{rid}]".encode()
            pos = b
        res += line[pos:]
        out_lines.append(res)
    return b"\n".join(out_lines), hits


def corpus(rules, path, verbose):
    recs = [json.loads(l) for l in open(path)]
    pos_texts = {r["text"] for r in recs if r["kind"] == "positive"}
    P = [r for r in recs if r["kind"] == "positive" and r["in_default_ruleset"]]
    N = [r for r in recs if r["kind"] == "negative" and r["in_default_ruleset"]]
    miss = 0
    for r in P:
        out, hits = redact(rules, r["text"].encode())
        if out == r["text"].encode():
            miss += 1
            if verbose:
                print("MISS", r["rule_id"], repr(r["text"][:160]))
    fp = fp_strict = 0
    for r in N:
        out, hits = redact(rules, r["text"].encode())
        if out != r["text"].encode():
            fp += 1
            if r["text"] not in pos_texts:
                fp_strict += 1
            if verbose:
                print("FP  ", r["rule_id"], "(also positive)" if r["text"] in pos_texts else "", hits,
                      repr(out.decode("latin-1")[:200]))
    nn = sum(1 for r in N if r["text"] not in pos_texts)
    print(f"corpus: recall {len(P) - miss}/{len(P)} = {(len(P) - miss) / len(P):.1%}; "
          f"negatives changed {fp}/{len(N)} = {fp / len(N):.1%} "
          f"(excluding texts that are also positives: {fp_strict}/{nn} = {fp_strict / nn:.1%})")


def benign(rules, path):
    n = bad = 0
    for line in open(path, "rb").read().split(b"\n"):
        if not line.strip() or line.startswith(b"#"):
            continue
        n += 1
        for r in rules:
            f = r.findings(line)
            if f:
                bad += 1
                print(f"BENIGN HIT {r.id}: {f[0][1][:60]!r} in {line[:140]!r}")
    print(f"benign: {n} lines, {bad} hits")


# ---------------------------------------------------------------- fill markers

CLASSES = {
    "an": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "al": "abcdefghijklmnopqrstuvwxyz0123456789",
    "AU": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "b64": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "b64u": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    "b32": "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
    "dig": "0123456789",
    "lo": "abcdefghijklmnopqrstuvwxyz",
    "up": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "word": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_",
    "pw": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%^*()-_=+.~",
    "bech": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
}
BAD = ["xxxx", "example", "redacted", "****"]


def rnd_str(rng, cls, n):
    while True:
        s = "".join(rng.choice(CLASSES[cls]) for _ in range(n))
        if not any(b in s.lower() for b in BAD) and "T3BlbkFJ" not in s:
            return s


def b64u(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def gen(rng, spec):
    kind, _, arg = spec.partition(":")
    if kind in CLASSES:
        return rnd_str(rng, kind, int(arg))
    if kind == "gh":  # GitHub-style checksummed token: gh:ghp_ / gh:npm_
        body = rnd_str(rng, "an", 30)
        return arg + body + b62(zlib.crc32(body.encode()))
    if kind == "uuid":
        h = rnd_str(rng, "hex", 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    if kind == "UUID":
        return gen(rng, "uuid").upper()
    if kind == "aws":  # aws:AKIA
        return arg + rnd_str(rng, "b32", 16)
    if kind == "b64raw":  # base64 of N random bytes, with padding
        return base64.b64encode(bytes(rng.randrange(256) for _ in range(int(arg)))).decode()
    if kind == "b64uraw":
        return b64u(bytes(rng.randrange(256) for _ in range(int(arg))))
    if kind == "jwt" or kind == "jwtk8s" or kind == "jwtk8sold":
        hdr = {"alg": "RS256", "kid": rnd_str(rng, "b64u", 43)} if kind != "jwt" else {"alg": "HS256", "typ": "JWT"}
        now = 1760000000 + rng.randrange(10000000)
        if kind == "jwt":
            pl = {"sub": rnd_str(rng, "dig", 7), "name": "svc-" + rnd_str(rng, "lo", 6), "iat": now,
                  "exp": now + 3600}
        elif kind == "jwtk8sold":
            ns = rng.choice(["payments", "kube-system", "ci", "default", "monitoring"])
            pl = {"iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": ns,
                  "kubernetes.io/serviceaccount/secret.name": "deployer-token-" + rnd_str(rng, "al", 5),
                  "kubernetes.io/serviceaccount/service-account.name": "deployer",
                  "sub": f"system:serviceaccount:{ns}:deployer"}
        else:
            ns = rng.choice(["payments", "kube-system", "ci", "default", "monitoring"])
            pl = {"aud": ["https://kubernetes.default.svc.cluster.local"], "exp": now + 3600, "iat": now,
                  "iss": "https://kubernetes.default.svc.cluster.local",
                  "kubernetes.io": {"namespace": ns, "pod": {"name": "api-" + rnd_str(rng, "al", 5),
                                                             "uid": gen(rng, "uuid")},
                                    "serviceaccount": {"name": "api", "uid": gen(rng, "uuid")}},
                  "nbf": now, "sub": f"system:serviceaccount:{ns}:api"}
        sig = rnd_str(rng, "b64u", 43 if kind == "jwt" else 342)
        return (b64u(json.dumps(hdr, separators=(",", ":")).encode()) + "." +
                b64u(json.dumps(pl, separators=(",", ":")).encode()) + "." + sig)
    if kind == "pem":  # pem:RSA:1200 -> base64 body of N bytes (one line, no header)
        n = int(arg.split(":")[1]) if ":" in arg else 900
        return base64.b64encode(bytes(rng.randrange(256) for _ in range(n))).decode()
    if kind == "basic":  # basic:user -> base64(user:password)
        pw = rnd_str(rng, "pw", 14)
        return base64.b64encode(f"{arg}:{pw}".encode()).decode()
    if kind == "pick":
        return rng.choice(arg.split("|"))
    raise ValueError(f"unknown marker kind {kind}")


def fill(files):
    pat = re.compile(r"%%([A-Za-z0-9]+(?::[^%]*)?)%%")
    for f in files:
        src = open(f).read()
        if "%%" not in src:
            continue
        # seed per file + position so a re-run is stable for unchanged files
        rng = random.Random(hashlib.sha256((os.path.basename(f) + src).encode()).digest())
        out = pat.sub(lambda m: gen(rng, m.group(1)), src)
        with open(f, "w") as fh:
            fh.write(out)
        print(f"filled {f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*")
    ap.add_argument("--fill", action="store_true")
    ap.add_argument("--corpus")
    ap.add_argument("--benign")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    files = a.files or sorted(glob.glob(os.path.join(ROOT, "patterns", "*.toml")))
    if a.fill:
        fill(files)
    rules, errors = load_rules(files)
    errors += check_examples(rules)
    per = {}
    for r in rules:
        per[os.path.basename(r.file)] = per.get(os.path.basename(r.file), 0) + 1
    for e in errors:
        print("ERROR", e)
    print(f"{len(rules)} rules ({', '.join(f'{k}: {v}' for k, v in sorted(per.items()))}); {len(errors)} errors")
    all_rules = rules
    if a.files and (a.corpus or a.benign):
        all_rules, _ = load_rules(sorted(glob.glob(os.path.join(ROOT, "patterns", "*.toml"))))
    if a.benign:
        benign(all_rules, a.benign)
    if a.corpus:
        corpus(all_rules, a.corpus, a.verbose)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
