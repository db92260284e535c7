#!/usr/bin/env bash
# Fuzzes the parsers with libFuzzer for a bounded time: SyslogParser in every format, FrameSplitter in random
# chunkings, presets, pattern/regex/key=value extraction, typed template fields, JSON bodies with nginx \xHH
# escapes, filters and destination selectors (Sources/LogferryFuzz/FuzzHarness.swift). Each input must not trap,
# hang or exhaust memory, and every event must render as exactly one valid JSON document carrying raw and
# parse_error when the input did not parse. See docs/PARSING.md, "Fuzzing".
#
# Usage: bench/fuzz.sh [SECONDS]     (default 120)
#   FUZZ_FORKS=N     run N fuzzing processes (libFuzzer -fork; default 1: one in-process fuzzer)
#   FUZZ_CONFIG=debug  build without optimisation (default release; both with AddressSanitizer)
#   FUZZ_ARGS="..."  more libFuzzer flags
# The corpus grows in .build-fuzz/corpus (seeded from Tests/Fuzz/corpus); findings go to .build-fuzz/artifacts,
# and the script exits 1 when there is one. Replay a finding with the normal build:
#   swift run logferry-fuzz .build-fuzz/artifacts/crash-...   (or: .build-fuzz/<config>/logferry-fuzz FILE)
# then copy it into Tests/Fuzz/corpus/ so `swift test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-120}
CONFIG=${FUZZ_CONFIG:-release}
FORKS=${FUZZ_FORKS:-1}
BUILD=.build-fuzz

mkdir -p "$BUILD"
echo "building logferry-fuzz ($CONFIG, -sanitize=fuzzer,address)..."
# (ld.gold warns "Cannot export local symbol '__asan_...'" for every ASan helper: harmless, filtered.)
if ! swift build -c "$CONFIG" --build-path "$BUILD" --product logferry-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING >"$BUILD/build.log" 2>&1; then
    grep -v "Cannot export" "$BUILD/build.log" | tail -30 >&2
    echo "fuzz.sh: build failed (full log: $BUILD/build.log)" >&2
    exit 2
fi
BIN=$BUILD/$CONFIG/logferry-fuzz

mkdir -p "$BUILD/corpus" "$BUILD/artifacts"
before=$(ls "$BUILD/artifacts" | wc -l)
LOG=$BUILD/fuzz-$(date -u +%Y%m%dT%H%M%SZ).log
parallel=()
if ((FORKS > 1)); then parallel=(-fork="$FORKS"); fi

# Leak reports would be the Swift runtime's metadata caches; the Swift backtracer would fight ASan's handler.
set +e
ASAN_OPTIONS=detect_leaks=0:${ASAN_OPTIONS:-} SWIFT_BACKTRACE=enable=no \
    "$BIN" "$BUILD/corpus" Tests/Fuzz/corpus "${parallel[@]}" \
    -max_total_time="$SECONDS_TO_RUN" -max_len=81920 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$BUILD/artifacts/" -print_final_stats=1 ${FUZZ_ARGS:-} >"$LOG" 2>&1
rc=$?
set -e

# Summary: executions, speed, coverage, findings.
last=$(grep -E '^#[0-9]+' "$LOG" | tail -1 || true)
echo "log: $LOG"
echo "last status: ${last:-none}"
grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$LOG" || true
grep -E 'property broken|ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY:|Test unit written' "$LOG" | head -20 || true
after=$(ls "$BUILD/artifacts" | wc -l)
if ((rc != 0 || after > before)); then
    echo "FINDING (exit $rc): new artifacts in $BUILD/artifacts:"
    ls -t "$BUILD/artifacts" | head -$((after - before > 0 ? after - before : 5))
    exit 1
fi
echo "no findings in ${SECONDS_TO_RUN}s"
