#!/usr/bin/env bash
# logferry against syslog-ng and rsyslog, side by side, on the same workloads (issue #7). One entry point:
#
#   bench/run.sh [--docs] [workload ...]
#
# workloads (default: all, in this order):
#   dgram100 dgram500  unix-dgram → local store, 100- and 500-byte nginx-like lines (loggen)
#   stream             unix-stream → local store, 100-byte lines (loggen)
#   file               tail of an nginx access log (BENCH_FILE_LINES lines) → local store
#   forward            reliable forwarding on loopback: syslog-ng disk-buffer(reliable(yes)) over TCP to a second
#                      syslog-ng; rsyslog omrelp → imrelp; logferry edge → websocket → central (acks, journal fsync)
#   latency            the forwarding set-up at half of each daemon's measured max rate (from `forward` of the same
#                      invocation, or BENCH_LAT_RATE): p50/p99 from send to the line in the central store
#   rss50k             the forwarding set-up at 50,000 msg/s offered: CPU and peak RSS
#   crash              the forwarding set-up, paced, while the central is killed with SIGKILL and restarted: numbered
#                      messages counted at the store (lost and duplicated)
# Peers run each workload with plain and with JSON output; logferry's file destination always writes JSON lines,
# so its one run stands for both.
#
# --docs  writes the tables into docs/BENCHMARKS.md (between the generated-section markers).
#
# Environment (defaults in brackets):
#   LOGFERRY_BIN       logferry binary [swift build -c release in this repository]
#   BENCH_RUNS [3]     runs of each case; the tables show medians and min–max
#   BENCH_N [200000]   messages per unix-dgram/unix-stream run      BENCH_FILE_LINES [1000000]  lines of the log file
#   BENCH_FWD_N [200000] messages per forwarding run                BENCH_LAT_SECONDS [10]      latency run length
#   BENCH_LAT_RATE     fixed offered rate of the latency runs       BENCH_RSS_RATE [50000] BENCH_RSS_N [250000]
#   BENCH_CRASH_N [200000] BENCH_CRASH_RATE [20000] BENCH_CRASH_KILLS [2] BENCH_CRASH_STALL [15]  the crash runs
#   BENCH_DAEMONS [logferry,syslog-ng,rsyslog]                      BENCH_STALL [3]  s without growth = done
#   BENCH_CACHE [/var/tmp/logferry-bench]  input files and the unpacked rsyslog
#   BENCH_TMP [/tmp]   where each run's directory (configs, journals, store) is made and removed
#   BENCH_RESULTS      JSON lines of every run [$BENCH_CACHE/results-DATE.jsonl]; bench/lib/report.py FILE reprints
#   BENCH_KEEP=1       keep each run's directory
#   BENCH_LOGFERRY_JOURNAL  a journal: mapping for every logferry node, e.g. "{fsync: interval, fsync_interval: 10ms}"
#   BENCH_LOGFERRY_SENDER   extra keys for the edge's websocket destination, e.g. "window: 32, batch_events: 2000"
#
# Installs through apt when missing (as root): syslog-ng-core (it has loggen); syslog-ng's service is kept from
# starting by a temporary policy-rc.d. rsyslog conflicts with syslog-ng-core, so rsyslog, rsyslog-relp and the
# libraries they need are downloaded (apt-get download) and unpacked (dpkg -x) under $BENCH_CACHE, never installed.
# Every daemon runs in the foreground from its own config under a temporary directory, never as a system service.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

DOCS=0
WORKLOADS=()
for a in "$@"; do
    case "$a" in
    --docs) DOCS=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) WORKLOADS+=("$a") ;;
    esac
done

CACHE=${BENCH_CACHE:-/var/tmp/logferry-bench}
mkdir -p "$CACHE"
DAEMONS=${BENCH_DAEMONS:-logferry,syslog-ng,rsyslog}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

need_root() {
    if [[ $(id -u) != 0 ]]; then
        echo "bench: $1 is missing and installing it needs root (apt-get); install it, or run as root" >&2
        exit 1
    fi
}

# --- logferry -------------------------------------------------------------------------------------------------
if [[ ",$DAEMONS," == *,logferry,* && -z "${LOGFERRY_BIN:-}" ]]; then
    echo "bench: building logferry (release)..."
    swift build -c release --product logferry >/dev/null
    LOGFERRY_BIN=$(swift build -c release --show-bin-path)/logferry
fi
LOGFERRY_BIN=${LOGFERRY_BIN:-/bin/false}

# --- syslog-ng and loggen (Debian: both in syslog-ng-core) ------------------------------------------------------
if ! command -v syslog-ng >/dev/null || ! command -v loggen >/dev/null; then
    need_root syslog-ng-core
    if dpkg -s rsyslog >/dev/null 2>&1; then
        echo "bench: rsyslog is installed as a package here; installing syslog-ng-core would remove it." >&2
        echo "       Install syslog-ng-core yourself if that is fine (rsyslog is run from an unpacked copy anyway)." >&2
        exit 1
    fi
    # Keep apt from starting syslog-ng as a system service.
    made_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
    fi
    [[ -n "$(find /var/lib/apt/lists -name '*Packages*' -newermt '-7 days' 2>/dev/null | head -1)" ]] || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends syslog-ng-core >/dev/null
    [[ $made_policy == 0 ]] || rm -f /usr/sbin/policy-rc.d
    # Where the package's service did start anyway (no policy-rc.d honoured), stop it: it is not ours to run.
    if command -v systemctl >/dev/null && systemctl is-active --quiet syslog-ng 2>/dev/null; then
        systemctl stop syslog-ng || true
    fi
fi

# --- rsyslog, unpacked ---------------------------------------------------------------------------------------
RSROOT=$CACHE/rsyslog-root
if [[ ",$DAEMONS," == *,rsyslog,* && ! -x $RSROOT/usr/sbin/rsyslogd ]]; then
    need_root rsyslog
    [[ -n "$(find /var/lib/apt/lists -name '*Packages*' -newermt '-7 days' 2>/dev/null | head -1)" ]] || apt-get update -qq
    mkdir -p "$CACHE/debs" "$RSROOT"
    chmod 777 "$CACHE/debs" # apt-get download drops privileges to _apt
    (cd "$CACHE/debs" && apt-get download -qq rsyslog rsyslog-relp librelp0 libestr0 libfastjson4 liblognorm5)
    for deb in "$CACHE"/debs/*.deb; do dpkg -x "$deb" "$RSROOT"; done
fi
if [[ ",$DAEMONS," == *,rsyslog,* ]]; then
    libdir=$RSROOT/usr/lib/x86_64-linux-gnu
    missing=$(LD_LIBRARY_PATH=$libdir ldd "$RSROOT/usr/sbin/rsyslogd" "$libdir"/rsyslog/{imuxsock,imptcp,imfile,imrelp,omrelp}.so |
        awk '/not found/ {print $1}' | sort -u)
    if [[ -n $missing ]]; then
        echo "bench: the unpacked rsyslog still needs: $missing — add their packages to the apt-get download line" >&2
        exit 1
    fi
fi

RESULTS=${BENCH_RESULTS:-$CACHE/results-$(date +%Y%m%d-%H%M%S).jsonl}
echo "bench: logferry $LOGFERRY_BIN; results $RESULTS"
args=(--logferry "$LOGFERRY_BIN" --rsyslog-root "$RSROOT" --results "$RESULTS" --cache "$CACHE"
    --tmp "${BENCH_TMP:-/tmp}" --daemons "$DAEMONS")
[[ "${BENCH_KEEP:-0}" != 1 ]] || args+=(--keep)
"$PY" "$REPO/bench/lib/bench.py" "${args[@]}" ${WORKLOADS[@]+"${WORKLOADS[@]}"}
echo
"$PY" "$REPO/bench/lib/report.py" "$RESULTS"
if [[ $DOCS == 1 ]]; then
    "$PY" "$REPO/bench/lib/report.py" "$RESULTS" --doc "$REPO/docs/BENCHMARKS.md"
    echo "bench: wrote docs/BENCHMARKS.md"
fi
