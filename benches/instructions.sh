#!/usr/bin/env bash
# Instructions per input byte of release binaries, counted by valgrind's callgrind: exact and
# repeatable on a shared, noisy machine where wall and CPU time are not (the figures of the
# issue-13 notes). Each binary filters the first FROM_MB and the first TO_MB megabytes of a corpus
# (3 and 6 unless set) with --threads 1; the difference divided by the difference in size is the
# cost per byte, without start-up (rule loading, Hyperscan database). Regexes compiled on first use
# inside the second slice still count, as they would early in a stream: on the realistic corpus
# 3 -> 6 MB gives ~130 instructions/byte where 6 -> 12 MB gives ~116 (fewer first uses left).
# The same binary varies by about 1.5 % from run to run (hash seeds, allocation addresses).
#
#   benches/instructions.sh BIN [BIN...]                         # realistic, typical, real-logs
#   CORPORA="realistic" ENGINES="regex" benches/instructions.sh target/release/logredact old/logredact
#   FROM_MB=6 TO_MB=12 benches/instructions.sh target/release/logredact   # closer to steady state
#
# Corpora come from benches/e2e.sh's directory (${TMPDIR:-/tmp}/logredact-e2e; run e2e.sh once,
# e.g. `SIZE_MB=50 RUNS=1 THREADS=1 benches/e2e.sh`, to make them). Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind > /dev/null || { echo "valgrind not installed: apt-get install valgrind" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: $0 BIN [BIN...]" >&2; exit 2; }
dir=${TMPDIR:-/tmp}/logredact-e2e
CORPORA=${CORPORA:-realistic typical real-logs}
ENGINES=${ENGINES:-regex hyperscan}
FROM_MB=${FROM_MB:-3}
TO_MB=${TO_MB:-6}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Instructions of BIN with ENGINE on FILE.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --engine "$2" --threads 1 \
    < "$3" > /dev/null 2> "$work/vg"
  grep -o 'refs: .*' "$work/vg" | tr -dc 0-9
}

for kind in $CORPORA; do
  src=$(ls "$dir/$kind"*.log 2> /dev/null | head -n 1 || true)
  if [ -z "$src" ]; then
    echo "$kind: no corpus in $dir (run benches/e2e.sh first), skipped" >&2
    continue
  fi
  head -c "${FROM_MB}000000" "$src" > "$work/small.log"
  head -c "${TO_MB}000000" "$src" > "$work/large.log"
  for engine in $ENGINES; do
    for bin in "$@"; do
      # Warm the Hyperscan database cache first: else the first slice compiles the database and
      # the second loads it, and the difference undercounts by the compile (~1 instruction/byte).
      "$bin" --engine "$engine" --threads 1 < /dev/null > /dev/null 2>&1 || true
      if ! small=$(instructions "$bin" "$engine" "$work/small.log"); then
        echo "$kind $engine $bin: engine not built in, skipped" >&2
        continue
      fi
      large=$(instructions "$bin" "$engine" "$work/large.log")
      awk -v k="$kind" -v e="$engine" -v b="$bin" -v s="$small" -v l="$large" \
        -v n="$((TO_MB - FROM_MB))" \
        'BEGIN { printf "%-10s %-9s %6.1f instructions/byte  %s\n", k, e, (l - s) / (n * 1e6), b }'
    done
  done
done
