#!/usr/bin/env bash
# Journal append throughput: 200-byte records through `logferry journal append-test` (the real Journal, release
# build) for each fsync policy, against a plain append(+fdatasync) loop in Python on the same disk, in the same
# directory. Prints records/s, payload MB/s, fsyncs, and the ratio to the plain loop; median of RUNS runs.
# Usage: bench/journal.sh [RUNS]     (LOGFERRY_BIN=path skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SIZE=200
if [[ -z "${LOGFERRY_BIN:-}" ]]; then
    swift build -c release --product logferry >/dev/null
    LOGFERRY_BIN=$(swift build -c release --show-bin-path)/logferry
fi
WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/lf-jbench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One logferry case: prints "records/s fsyncs" of one run.
logferry_run() { # fsync count concurrency batch
    rm -rf "$WORK/data"
    "$LOGFERRY_BIN" journal append-test --data-dir "$WORK/data" --fsync "$1" --count "$2" --concurrency "$3" \
        --batch "$4" --payload-bytes $SIZE --segment-bytes $((64 << 20)) --quiet |
        awk '/^appended/ { for (i = 1; i <= NF; i++) { if ($i == "records/s,") r = $(i-1); if ($i == "fsyncs") f = $(i+1) } }
             END { print r, f }'
}

# The plain loop: write a 228-byte record (28-byte header + payload, as the journal writes it), optionally
# fdatasync after each; prints records/s.
plain_run() { # count sync(0|1)
    rm -f "$WORK/plain.log"
    python3 - "$WORK/plain.log" "$1" "$2" $((SIZE + 28)) <<'PY'
import os, sys, time
path, n, sync, size = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
rec = os.urandom(size)
t = time.perf_counter()
for _ in range(n):
    os.write(fd, rec)
    if sync:
        os.fdatasync(fd)
dt = time.perf_counter() - t
os.close(fd)
print(int(n / dt))
PY
}

echo "journal append bench: ${SIZE}-byte records, median of $RUNS, $(nproc) cores, $WORK on $(df --output=source "$WORK" | tail -1)"
echo "binary: $LOGFERRY_BIN"
plain_sync=$(for _ in $(seq "$RUNS"); do plain_run 3000 1; done | median)
plain_nosync=$(for _ in $(seq "$RUNS"); do plain_run 200000 0; done | median)
printf '%-44s %12s %9s %9s %8s\n' "case" "records/s" "MB/s" "fsyncs" "ratio"
printf '%-44s %12s %9.1f %9s %8s\n' "plain python write+fdatasync loop" "$plain_sync" \
    "$(echo "$plain_sync * $SIZE / 1000000" | bc -l)" "-" "1.00"
printf '%-44s %12s %9.1f %9s %8s\n' "plain python write loop (no fsync)" "$plain_nosync" \
    "$(echo "$plain_nosync * $SIZE / 1000000" | bc -l)" "-" "1.00"

# label fsync count concurrency batch baseline (append-test cycles batch sizes 1…batch)
cases=(
    "never,1_appender,batch_1|never|200000|1|1|$plain_nosync"
    "never,1_appender,batches_1-100|never|1000000|1|100|$plain_nosync"
    "always,1_appender,batch_1|always|3000|1|1|$plain_sync"
    "always,16_appenders,batch_1|always|40000|16|1|$plain_sync"
    "interval_100ms,64_appenders,batches_1-32|interval|60000|64|32|$plain_sync"
)
for c in "${cases[@]}"; do
    IFS='|' read -r label fsync count conc batch base <<<"$c"
    results=$(for _ in $(seq "$RUNS"); do logferry_run "$fsync" "$count" "$conc" "$batch"; done)
    rate=$(echo "$results" | awk '{print $1}' | median)
    fsyncs=$(echo "$results" | awk -v r="$rate" '$1 == r {print $2; exit}')
    printf '%-44s %12s %9.1f %9s %8.2f\n' "logferry ${label//_/ }" "$rate" \
        "$(echo "$rate * $SIZE / 1000000" | bc -l)" "$fsyncs" "$(echo "$rate / $base" | bc -l)"
done

# Recovery: a 1 GiB journal (16 segments of 64 MiB), then the time to open it (recovery verifies the newest
# segment record by record, see docs/JOURNAL.md) and the time `journal verify` takes to check every CRC.
if [[ "${SKIP_RECOVERY:-0}" != 1 ]]; then
    rm -rf "$WORK/data"
    "$LOGFERRY_BIN" journal append-test --data-dir "$WORK/data" --fsync never --count $(((1 << 30) / (SIZE + 28))) \
        --batch 200 --payload-bytes $SIZE --segment-bytes $((64 << 20)) --quiet --no-check >/dev/null
    size=$(du -sh "$WORK/data/journal" | cut -f1)
    open_s=$(for _ in $(seq "$RUNS"); do
        s=$(date +%s.%N)
        "$LOGFERRY_BIN" journal append-test --data-dir "$WORK/data" --count 0 --no-check --quiet >/dev/null
        echo "$(date +%s.%N) - $s" | bc -l
    done | median)
    verify_s=$(for _ in $(seq "$RUNS"); do
        s=$(date +%s.%N)
        "$LOGFERRY_BIN" journal verify --data-dir "$WORK/data" >/dev/null
        echo "$(date +%s.%N) - $s" | bc -l
    done | median)
    printf 'recovery of a %s journal: open (process start + recovery + close) %.3f s; verify of every CRC %.2f s\n' \
        "$size" "$open_s" "$verify_s"
fi
