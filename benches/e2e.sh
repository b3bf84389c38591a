#!/usr/bin/env bash
# End-to-end throughput of the release binary through real pipes, compared in the same run with
# `cat` through the same pipes. Prints MB/s per corpus and engine, and the ratio to `cat`.
#
#   benches/e2e.sh                      # pure-Rust engine, 200 MB corpora
#   FEATURES="--features hyperscan" benches/e2e.sh
#   SIZE_MB=50 RUNS=5 THREADS=1 benches/e2e.sh     # THREADS: --threads (0 = one per core)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-200}
RUNS=${RUNS:-3}
FEATURES=${FEATURES:-}
THREADS=${THREADS:-0}
# shellcheck disable=SC2086
cargo build --quiet --release $FEATURES --bin logredact --example gen-corpus
bin=target/release/logredact
dir=${TMPDIR:-/tmp}/logredact-e2e
mkdir -p "$dir"
for kind in clean typical worst; do
  file="$dir/$kind-$SIZE_MB.log"
  [ -s "$file" ] || target/release/examples/gen-corpus "$kind" "$SIZE_MB" > "$file"
done

engines=(regex)
case "$FEATURES" in *hyperscan*) engines+=(hyperscan) ;; esac

# Best of $RUNS wall-clock seconds for a pipeline reading $1.
best() {
  local file=$1; shift
  local best=
  for _ in $(seq "$RUNS"); do
    local t0=$EPOCHREALTIME
    cat "$file" | "$@" > /dev/null
    local t1=$EPOCHREALTIME
    local dt
    dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    if [ -z "$best" ] || awk -v a="$dt" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$dt; fi
  done
  echo "$best"
}

printf '%-8s %-10s %10s %10s\n' corpus pipeline MB/s vs-cat
for kind in clean typical worst; do
  file="$dir/$kind-$SIZE_MB.log"
  bytes=$(stat -c %s "$file")
  cat_s=$(best "$file" cat)
  cat_mbs=$(awk -v b="$bytes" -v s="$cat_s" 'BEGIN { printf "%.0f", b / s / 1e6 }')
  printf '%-8s %-10s %10s %10s\n' "$kind" "cat" "$cat_mbs" "1.00"
  for engine in "${engines[@]}"; do
    s=$(best "$file" "$bin" --engine "$engine" --threads "$THREADS")
    awk -v k="$kind" -v e="$engine" -v b="$bytes" -v s="$s" -v c="$cat_s" \
      'BEGIN { printf "%-8s %-10s %10.0f %10.2f\n", k, e, b / s / 1e6, c / s }'
  done
done
