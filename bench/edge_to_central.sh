#!/usr/bin/env bash
# First end-to-end throughput figure: N syslog datagrams into an edge's unix-dgram socket, forwarded over
# websocket to a central that stores them in files. Reports messages/s from the first send to the last line
# stored, median of RUNS runs. Release build. Usage: bench/edge_to_central.sh [N] [RUNS]
# (LOGFERRY_BIN=path skips the build). The side-by-side comparison with syslog-ng and rsyslog is bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
RUNS=${2:-3}
if [[ -z "${LOGFERRY_BIN:-}" ]]; then
    swift build -c release --product logferry >/dev/null
    LOGFERRY_BIN=$(swift build -c release --show-bin-path)/logferry
fi
BIN=$LOGFERRY_BIN
WORK=$(mktemp -d /tmp/lf-bench-XXXXXX)
RESULTS=$(mktemp /tmp/lf-bench-results-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK" "$RESULTS"' EXIT
PORT=$((20000 + RANDOM % 20000))

for run in $(seq 1 "$RUNS"); do
    rm -rf "$WORK"/*
    mkdir -p "$WORK/central" "$WORK/edge"
    cat > "$WORK/central/c.yaml" <<YAML
node: {name: central, data_dir: $WORK/central/data}
sources:
  ingest: {type: websocket, listen: 127.0.0.1:$PORT, tokens: [bench]}
destinations:
  archive: {type: file, path: "$WORK/central/store/\${HOST}/\${PROGRAM}.log"}
YAML
    cat > "$WORK/edge/e.yaml" <<YAML
node: {name: edge, data_dir: $WORK/edge/data}
sources:
  local: {type: unix-dgram, path: $WORK/edge/log.sock, receive_buffer_bytes: 8MiB}
destinations:
  central: {type: websocket, url: "ws://127.0.0.1:$PORT/v1/ingest", token: bench}
YAML
    "$BIN" run --config "$WORK/central/c.yaml" 2>"$WORK/central.log" &
    CPID=$!
    "$BIN" run --config "$WORK/edge/e.yaml" 2>"$WORK/edge.log" &
    EPID=$!
    for _ in $(seq 100); do [ -S "$WORK/edge/log.sock" ] && break; sleep 0.1; done
    # A blocking datagram sender, like syslog(3): waits when the socket queue is full; the edge drains the queue
    # into a bounded buffer and counts what overflows it.
    python3 - "$WORK/edge/log.sock" "$N" "$WORK/store-count" "$WORK/central/store" >>"$RESULTS" <<'PY'
import glob, os, socket, sys, time
path, n, _, store = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(path)
start = time.time()
for i in range(n):
    s.send(b"<14>Nov 21 12:00:00 bench[42]: GET /index.html HTTP/1.1 200 612 request %08d" % i)
sent = time.time()
def stored():
    total = 0
    for f in glob.glob(store + "/*/*.log"):
        with open(f, "rb") as fh:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return total
# Datagram sources never push back on the sender (nginx must never block): what the edge cannot take in
# time is dropped and counted. So wait until everything arrived or nothing more arrives for 3 s.
last, last_change = -1, time.time()
while True:
    c = stored()
    if c != last:
        last, last_change = c, time.time()
    if c >= n or time.time() - last_change > 3:
        break
    time.sleep(0.05)
end = last_change if last < n else time.time()
print("%d %d %.3f %.3f" % (n, last, sent - start, end - start))
PY
    kill $EPID $CPID; wait $EPID $CPID 2>/dev/null || true
done
awk '{ printf "run: %d sent in %.2fs, %d stored (%d dropped at the edge) in %.2fs -> %.0f msg/s stored\n", $1, $3, $2, $1-$2, $4, $2/$4 }' "$RESULTS"
awk '{ print $2/$4 }' "$RESULTS" | sort -n | awk '{ a[NR]=$1 } END { printf "median edge->central throughput: %.0f msg/s (%d runs)\n", a[int((NR+1)/2)], NR }'
