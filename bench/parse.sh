#!/usr/bin/env bash
# Parse + template on one core (issue #5): `logferry parse` against syslog-ng's `$(format-json ...)`, the same
# input file, both pinned to one core. One entry point:
#
#   bench/parse.sh [--perf] [parse-nginx] [parse-5424]
#
# cases (default: both):
#   parse-nginx  nginx escape=json access lines as the body of RFC 3164 syslog lines, parsed into typed fields
#   parse-5424   RFC 5424 lines with structured data
# Each program reads the input file on stdin (redirected: no feeder process), writes one JSON document per line
# to a file, and exits at end of input; bench/lib/parse.py has the configs and says what is measured.
#
# --perf  after the runs, `perf record -g` one logferry run per case; the flat profiles (self time by symbol,
#         demangled) go to $BENCH_CACHE/parse-perf/CASE.txt
#
# Environment (defaults in brackets):
#   LOGFERRY_BIN          logferry binary [swift build -c release in this repository]
#   BENCH_RUNS [3]        runs of each case and program, interleaved; the table shows medians and min–max
#   BENCH_PARSE_LINES [1000000]  lines of each input file (made once, in the cache)
#   BENCH_CPU [0]         the core both programs are pinned to (taskset -c)
#   BENCH_SNG_THREADED [no]  syslog-ng's threaded() option (on one core its worker threads only take turns)
#   BENCH_CACHE [/var/tmp/logferry-bench]  input files      BENCH_TMP [/tmp]  each run's directory (output file)
#   BENCH_RESULTS         JSON lines of every run [$BENCH_CACHE/parse-DATE.jsonl];
#                         `bench/lib/parse.py --report --results FILE` reprints the table
#   BENCH_KEEP=1          keep each run's directory
#
# syslog-ng is the Debian package syslog-ng-core (bench/run.sh installs it when missing); it runs in the
# foreground from its own config under the run's directory, never as a system service.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

PERF=0
CASES=()
for a in "$@"; do
    case "$a" in
    --perf) PERF=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) CASES+=("$a") ;;
    esac
done

CACHE=${BENCH_CACHE:-/var/tmp/logferry-bench}
mkdir -p "$CACHE"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

if [[ -z "${LOGFERRY_BIN:-}" ]]; then
    echo "bench: building logferry (release)..."
    swift build -c release --product logferry >/dev/null
    LOGFERRY_BIN=$(swift build -c release --show-bin-path)/logferry
fi
if ! command -v syslog-ng >/dev/null; then
    echo "bench: syslog-ng is missing; bench/run.sh installs it (syslog-ng-core), or: apt-get install syslog-ng-core" >&2
    exit 1
fi
command -v taskset >/dev/null || { echo "bench: taskset (util-linux) is missing" >&2; exit 1; }
if [[ $PERF == 1 ]] && ! command -v perf >/dev/null; then
    echo "bench: --perf needs perf" >&2
    exit 1
fi

RESULTS=${BENCH_RESULTS:-$CACHE/parse-$(date +%Y%m%d-%H%M%S).jsonl}
echo "bench: logferry $LOGFERRY_BIN; results $RESULTS"
args=(--logferry "$LOGFERRY_BIN" --results "$RESULTS" --cache "$CACHE" --tmp "${BENCH_TMP:-/tmp}" --cpu "${BENCH_CPU:-0}")
[[ "${BENCH_KEEP:-0}" != 1 ]] || args+=(--keep)
[[ $PERF == 0 ]] || args+=(--perf "$CACHE/parse-perf")
"$PY" "$REPO/bench/lib/parse.py" "${args[@]}" ${CASES[@]+"${CASES[@]}"}
