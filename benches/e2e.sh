#!/usr/bin/env bash
# End-to-end throughput of the release binary through real pipes, compared in the same run with
# `cat` through the same pipes. Prints, per corpus, engine and --threads: MB/s, the ratio to
# `cat | cat`, MB per CPU-second of the process (user + sys; steadier than wall time on a busy
# machine; "-" where too small to measure) and its peak RSS (max over the runs).
#
#   benches/e2e.sh                      # pure-Rust engine, 200 MB corpora, --threads 1 and default
#   FEATURES="--features hyperscan" benches/e2e.sh                 # also the Hyperscan engine
#   SIZE_MB=50 RUNS=5 THREADS="1" benches/e2e.sh                   # THREADS: list of --threads (0 = one per core)
#   CORPORA="realistic real-logs" benches/e2e.sh                   # a subset of the corpora
#
# Corpora: clean, typical, worst (the benches' own, `gen-corpus`), realistic (container logs at
# real context-word rates, issue 13; its statistics are printed first) and real-logs (every log
# file under ../shared/real-logs concatenated, ~22 MB; skipped with a message when absent).
# Peak RSS is the kernel's ru_maxrss of the measured process, from /usr/bin/time when installed.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-200}
RUNS=${RUNS:-3}
FEATURES=${FEATURES:-}
THREADS=${THREADS:-1 0}
CORPORA=${CORPORA:-clean typical worst realistic real-logs}
# shellcheck disable=SC2086
cargo build --quiet --release $FEATURES --bin logredact --example gen-corpus
bin=target/release/logredact
dir=${TMPDIR:-/tmp}/logredact-e2e
mkdir -p "$dir"
real_logs=../shared/real-logs

# Sets `file` to the corpus file of kind $1 (made on first use), or empty when it cannot be made.
corpus_file() {
  local kind=$1
  file=
  case "$kind" in
    real-logs)
      if [ ! -d "$real_logs" ]; then
        echo "real-logs: $real_logs not found, skipped" >&2
        return
      fi
      file="$dir/real-logs.log"
      if [ ! -s "$file" ]; then
        # Every log file, in a fixed order; the README, the expectations and the licences are not logs.
        find "$real_logs" -type f ! -path '*/LICENSES/*' ! -name README.md ! -name expected.jsonl -print0 |
          sort -z | xargs -0 cat > "$file"
        [ -z "$(tail -c 1 "$file")" ] || echo >> "$file"
      fi
      ;;
    *)
      file="$dir/$kind-$SIZE_MB.log"
      if [ ! -s "$file" ]; then
        target/release/examples/gen-corpus "$kind" "$SIZE_MB" > "$file" 2> "$file.stats"
      fi
      ;;
  esac
}

engines=(regex)
case "$FEATURES" in *hyperscan*) engines+=(hyperscan) ;; esac

# Runs `cat $file | CMD...` RUNS times; sets `secs` (best wall-clock seconds), `cpu` (least
# user + sys seconds of CMD, empty when unknown) and `peak_kib` (largest peak RSS of CMD, 0 when
# unknown).
measure() {
  local file=$1; shift
  secs= peak_kib=0 cpu=
  for _ in $(seq "$RUNS"); do
    local t0=$EPOCHREALTIME t1 dt kib=0 c
    if [ -x /usr/bin/time ]; then
      cat "$file" | /usr/bin/time -f '%M %U %S' -o "$dir/maxrss" "$@" > /dev/null
      read -r kib c < <(tail -n 1 "$dir/maxrss" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }')
      if [ -z "$cpu" ] || awk -v a="$c" -v b="$cpu" 'BEGIN { exit !(a < b) }'; then cpu=$c; fi
    else
      cat "$file" | "$@" > /dev/null
    fi
    t1=$EPOCHREALTIME
    dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    if [ -z "$secs" ] || awk -v a="$dt" -v b="$secs" 'BEGIN { exit !(a < b) }'; then secs=$dt; fi
    if [ "$kib" -gt "$peak_kib" ]; then peak_kib=$kib; fi
  done
}

row() {
  awk -v k="$1" -v p="$2" -v t="$3" -v b="$4" -v s="$5" -v c="$6" -v m="$7" -v u="${8:-}" \
    'BEGIN { cpu = (u == "" || u + 0 < 0.05) ? "-" : sprintf("%.0f", b / u / 1e6)
             printf "%-10s %-10s %7s %9.0f %7.2f %9s %9.1f\n", k, p, t, b / s / 1e6, c / s, cpu, m / 1024 }'
}

for kind in $CORPORA; do
  corpus_file "$kind"
  if [ -n "$file" ] && [ -s "$file.stats" ]; then cat "$file.stats"; fi
done
echo "runs: best of $RUNS; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); FEATURES='$FEATURES'"
printf '%-10s %-10s %7s %9s %7s %9s %9s\n' corpus pipeline threads MB/s vs-cat MB/cpu-s peak-MiB
for kind in $CORPORA; do
  corpus_file "$kind" 2> /dev/null
  [ -n "$file" ] || continue
  bytes=$(stat -c %s "$file")
  measure "$file" cat
  cat_s=$secs
  row "$kind" cat - "$bytes" "$secs" "$cat_s" "$peak_kib" "$cpu"
  for engine in "${engines[@]}"; do
    for threads in $THREADS; do
      measure "$file" "$bin" --engine "$engine" --threads "$threads"
      row "$kind" "$engine" "$threads" "$bytes" "$secs" "$cat_s" "$peak_kib" "$cpu"
    done
  done
done
