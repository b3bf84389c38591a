#!/usr/bin/env bash
# Peak RSS of the release binary while it streams GIB GiB of log lines (a generated 100 MB
# corpus, typical unless KIND says otherwise, or the real logs of ../shared/real-logs, repeated
# into the pipe, never written out whole), then a few very long single lines. Prints bytes and lines in, lines out (must be equal),
# wall time, MB/s and peak RSS, with PASS/FAIL against the 64 MiB bound of issue 8. Exits 1 if
# any phase fails.
#
#   benches/rss.sh                                  # 10 GiB, pure-Rust engine, default threads
#   THREADS=1 GIB=1 benches/rss.sh                  # THREADS: --threads (0 = one per core)
#   FEATURES="--features hyperscan" benches/rss.sh  # also the Hyperscan engine
#   LONG_MB=300 LONG_LINES=3 benches/rss.sh         # the long-line phase (LONG_LINES=0: skip)
#   KIND=worst benches/rss.sh                       # corpus kind: typical | clean | worst | realistic
#   KIND=real-logs benches/rss.sh                   # ../shared/real-logs concatenated (~22 MB), repeated
#
# Peak RSS comes from /usr/bin/time (the kernel's ru_maxrss of the logredact process) when it is
# installed, else from polling VmHWM in /proc/<pid>/status every 0.1 s (a high-water mark, so it
# loses at most a peak reached in the last interval before exit).
set -euo pipefail
cd "$(dirname "$0")/.."
GIB=${GIB:-10}
KIND=${KIND:-typical}
THREADS=${THREADS:-0}
FEATURES=${FEATURES:-}
LONG_MB=${LONG_MB:-300}
LONG_LINES=${LONG_LINES:-3}
LIMIT_MIB=64
# shellcheck disable=SC2086
cargo build --quiet --release $FEATURES --bin logredact --example gen-corpus
bin=target/release/logredact
dir=${TMPDIR:-/tmp}/logredact-rss
mkdir -p "$dir"
if [ "$KIND" = real-logs ]; then
  real_logs=../shared/real-logs
  if [ ! -d "$real_logs" ]; then
    echo "rss.sh: $real_logs not found (KIND=real-logs needs the shared real-world logs)" >&2
    exit 2
  fi
  corpus="$dir/real-logs.log"
  # Every log file, in a fixed order; the README, the expectations and the licences are not logs.
  [ -s "$corpus" ] || find "$real_logs" -type f ! -path '*/LICENSES/*' ! -name README.md \
    ! -name expected.jsonl -print0 | sort -z | xargs -0 cat > "$corpus"
  # Whole lines only, so that lines in and out compare.
  [ -z "$(tail -c 1 "$corpus")" ] || echo >> "$corpus"
else
  corpus="$dir/$KIND-100.log"
  # gen-corpus prints the realistic corpus's statistics to stderr: keep them beside the corpus.
  [ -s "$corpus" ] || target/release/examples/gen-corpus "$KIND" 100 > "$corpus" 2> "$corpus.stats"
fi
corpus_bytes=$(stat -c %s "$corpus")
corpus_lines=$(wc -l < "$corpus")
# Whole copies of the corpus, at least GIB GiB in all.
reps=$(( (GIB * 1024 * 1024 * 1024 + corpus_bytes - 1) / corpus_bytes ))

engines=(regex)
case "$FEATURES" in *hyperscan*) engines+=(hyperscan) ;; esac

feed_corpus() {
  for _ in $(seq "$reps"); do cat "$corpus"; done
}

# LONG_LINES lines of LONG_MB MB each: log text without newlines, a made-up AWS key id in every
# repetition, so the windows of each line have secrets to redact.
feed_long_lines() {
  local alphabet=ABCDEFGHIJKLMNOPQRSTUVWXYZ234567 key=AKIA
  for _ in $(seq 16); do key+=${alphabet:RANDOM%32:1}; done
  for _ in $(seq "$LONG_LINES"); do
    # `head` ends the pipeline early: the others' SIGPIPE is expected.
    { yes "GET /api/v1/orders?page=2 status=200 aws_access_key_id=$key duration_ms=12 " |
      tr -d '\n' | head -c "$((LONG_MB * 1000 * 1000))"; } || true
    echo
  done
}

# Runs feed function $1 into logredact (remaining arguments) and out into `wc -l`; sets
# lines_out, seconds and peak_kib.
measure() {
  local feed=$1; shift
  local t0=$EPOCHREALTIME status
  if [ -x /usr/bin/time ]; then
    set +e
    "$feed" | /usr/bin/time -f '%M' -o "$dir/maxrss" "$bin" "$@" | wc -l > "$dir/lines-out"
    status=${PIPESTATUS[1]}
    set -e
    peak_kib=$(tail -n 1 "$dir/maxrss")
  else
    rm -f "$dir/in.fifo" "$dir/out.fifo"
    mkfifo "$dir/in.fifo" "$dir/out.fifo"
    "$feed" > "$dir/in.fifo" &
    local feeder=$!
    wc -l < "$dir/out.fifo" > "$dir/lines-out" &
    local counter=$!
    "$bin" "$@" < "$dir/in.fifo" > "$dir/out.fifo" &
    local pid=$! hwm
    peak_kib=0
    while kill -0 "$pid" 2> /dev/null; do
      hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2> /dev/null || true)
      if [ -n "$hwm" ] && [ "$hwm" -gt "$peak_kib" ]; then peak_kib=$hwm; fi
      sleep 0.1
    done
    set +e; wait "$pid"; status=$?; wait "$feeder" "$counter"; set -e
    rm -f "$dir/in.fifo" "$dir/out.fifo"
  fi
  local t1=$EPOCHREALTIME
  seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  lines_out=$(cat "$dir/lines-out")
  if [ "$status" -ne 0 ]; then
    echo "logredact $* exited with status $status" >&2
    exit 1
  fi
}

failed=0
report() {
  local phase=$1 engine=$2 bytes=$3 lines_in=$4
  local peak_mib verdict=PASS
  peak_mib=$(awk -v k="$peak_kib" 'BEGIN { printf "%.1f", k / 1024 }')
  if [ "$lines_out" -ne "$lines_in" ] || [ "$peak_kib" -gt $((LIMIT_MIB * 1024)) ]; then
    verdict=FAIL
    failed=1
  fi
  awk -v p="$phase" -v e="$engine" -v t="$THREADS" -v b="$bytes" -v li="$lines_in" \
    -v lo="$lines_out" -v s="$seconds" -v m="$peak_mib" -v v="$verdict" \
    'BEGIN { printf "%-10s %-10s %7s %14.0f %11.0f %11.0f %7.1f %7.0f %8.1f  %s\n",
             p, e, t, b, li, lo, s, b / s / 1e6, m, v }'
}

printf '%-10s %-10s %7s %14s %11s %11s %7s %7s %8s  (limit %d MiB)\n' phase engine threads \
  bytes-in lines-in lines-out wall-s MB/s peak-MiB "$LIMIT_MIB"
for engine in "${engines[@]}"; do
  measure feed_corpus --engine "$engine" --threads "$THREADS"
  report "$KIND" "$engine" $((reps * corpus_bytes)) $((reps * corpus_lines))
  if [ "$LONG_LINES" -gt 0 ]; then
    measure feed_long_lines --engine "$engine" --threads "$THREADS"
    report "long-lines" "$engine" $((LONG_LINES * (LONG_MB * 1000 * 1000 + 1))) "$LONG_LINES"
  fi
done
exit "$failed"
