#!/bin/bash
# Measures Fluent Bit CPU alone vs through the relay. BIG=file of log lines; LOGREDACT=binary.
# usage: bench.sh alone|relay ; prints CPU seconds of fluent-bit and relay
set -u
MODE=$1; BIG=${BIG:-/tmp/relaybench/big.log}; LOGREDACT=${LOGREDACT:-target/release/logredact}; D=/tmp/relaybench/run-$MODE; rm -rf $D; mkdir -p $D/logs $D/out
# Fluent Bit's tail skips a whole file with a line over its buffer (32 kB): the wait below would
# never end, so refuse such a file up front.
if awk 'length($0) > 30000 { bad=1; exit } END { exit !bad }' "$BIG"; then
  echo "bench.sh: $BIG has lines over 30 kB (Fluent Bit's tail would skip the file)" >&2; exit 2
fi
cp $BIG $D/logs/app.log
N=$(wc -l < $D/logs/app.log)
PORT=$((24300 + RANDOM % 500))
if [ $MODE = alone ]; then TARGET="    Host 127.0.0.1\n    Port $PORT"; else TARGET="    Unix_Path $D/relay.sock"; fi
cat > $D/fb.conf <<C
[SERVICE]
    Flush 1
    Log_Level error
    storage.path $D/storage
[INPUT]
    Name tail
    Path $D/logs/*.log
    Tag kube.*
    DB $D/tail.db
    Read_from_Head true
    storage.type filesystem
[OUTPUT]
    Name forward
    Match kube.*
$(printf "$TARGET")
    Require_ack_response true
    Retry_Limit False
[INPUT]
    Name forward
    Listen 127.0.0.1
    Port $PORT
    Tag_Prefix redacted.
[OUTPUT]
    Name file
    Match redacted.*
    Path $D/out
    File out.jsonl
    Format plain
C
RP=
if [ $MODE = relay ]; then
  $LOGREDACT relay --listen unix:$D/relay.sock --forward tcp:127.0.0.1:$PORT 2>$D/relay.err & RP=$!
  sleep 0.3
fi
START=$(date +%s.%N)
/work/shared/tools/fluent-bit/fluent-bit -c $D/fb.conf > $D/fb.log 2>&1 & FP=$!
while [ "$(wc -l < $D/out/out.jsonl 2>/dev/null || echo 0)" -lt $N ]; do sleep 0.2; done
END=$(date +%s.%N)
cpu() { awk '{print ($14+$15)/100}' /proc/$1/stat; }
FB=$(cpu $FP); R=0; [ -n "$RP" ] && R=$(cpu $RP)
echo "$MODE lines=$N wall=$(echo "$END - $START" | bc) fluent-bit_cpu=$FB relay_cpu=$R secrets_in_out=$(grep -c 'password=[^[]' $D/out/out.jsonl)"
kill $FP; [ -n "$RP" ] && kill $RP; wait 2>/dev/null
