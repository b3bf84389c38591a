#!/usr/bin/env bash
# Instructions per input byte of release binaries, counted by valgrind's callgrind: exact and
# repeatable on a shared, noisy machine where wall and CPU time are not (the figures of the
# issue-13 notes). Each binary filters the first 3 MB and the first 6 MB of a corpus with
# --threads 1; the difference divided by 3 MB is the steady-state cost per byte, without start-up
# (rule loading, Hyperscan database). Regexes compiled on first use inside the second 3 MB still
# count, as they would in a stream.
#
#   benches/instructions.sh BIN [BIN...]                         # realistic, typical, real-logs
#   CORPORA="realistic" ENGINES="regex" benches/instructions.sh target/release/logredact old/logredact
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
  head -c 3000000 "$src" > "$work/3.log"
  head -c 6000000 "$src" > "$work/6.log"
  for engine in $ENGINES; do
    for bin in "$@"; do
      if ! small=$(instructions "$bin" "$engine" "$work/3.log"); then
        echo "$kind $engine $bin: engine not built in, skipped" >&2
        continue
      fi
      large=$(instructions "$bin" "$engine" "$work/6.log")
      awk -v k="$kind" -v e="$engine" -v b="$bin" -v s="$small" -v l="$large" \
        'BEGIN { printf "%-10s %-9s %6.1f instructions/byte  %s\n", k, e, (l - s) / 3e6, b }'
    done
  done
done
