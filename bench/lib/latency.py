#!/usr/bin/env python3
"""Latency probe for the forwarding benchmark, the same for every daemon.

  latency.py send SOCKET RATE SECONDS   paced sender into a unix-stream socket (newline framing); every message
                                        carries its send time (`lat=<ns since the epoch>`); prints the count sent
  latency.py tail STOREDIR LIMIT_S      follows STOREDIR/*.log (newlines only, whatever the line format), and for
                                        each stored line takes (time it was read) - (send time inside it); stops
                                        when it has seen the count in STOREDIR/.expected, or after LIMIT_S seconds
                                        of no new lines; prints {"count", "p50_ms", "p99_ms", "max_ms"} as JSON

The tailer polls every millisecond, so a latency carries up to ~1 ms of polling on top of the pipeline's own.
Standard library only.
"""

import glob
import json
import os
import re
import socket
import sys
import time


def send(path, rate, seconds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    start = time.monotonic()
    sent = 0
    total = int(rate * seconds)
    pad = "x" * 100
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        if due > sent:
            now = time.time_ns()
            lines = []
            for i in range(sent, due):
                head = "<14>Nov 21 16:00:00 latbench[1]: lat=%d seq=%08d " % (now, i)
                lines.append(head + pad[: max(0, 100 - len(head))] + "\n")
            s.sendall("".join(lines).encode())
            sent = due
        else:
            time.sleep(0.0005)
    s.close()
    print(sent)


STAMP = re.compile(rb"lat=(\d{19})")


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[k]


def tail(store, limit):
    offsets, partial, lat = {}, {}, []
    last_change = time.monotonic()
    expected = None
    while True:
        got = False
        for path in glob.glob(os.path.join(store, "*.log")):
            try:
                with open(path, "rb") as f:
                    f.seek(offsets.get(path, 0))
                    data = f.read()
            except OSError:
                continue
            if not data:
                continue
            now = time.time_ns()
            offsets[path] = offsets.get(path, 0) + len(data)
            data = partial.get(path, b"") + data
            cut = data.rfind(b"\n") + 1
            partial[path] = data[cut:]
            for line in data[:cut].splitlines():
                m = STAMP.search(line)
                if m:
                    lat.append((now - int(m.group(1))) / 1e6)
            got = True
        mono = time.monotonic()
        if got:
            last_change = mono
        if expected is None:
            try:
                with open(os.path.join(store, ".expected")) as f:
                    expected = int(f.read())
            except (OSError, ValueError):
                pass
        if expected is not None and len(lat) >= expected:
            break
        if mono - last_change > (limit if expected is None else 5):
            break
        time.sleep(0.001)
    lat.sort()
    r = lambda v: None if v is None else round(v, 2)
    print(
        json.dumps(
            {
                "count": len(lat),
                "p50_ms": r(percentile(lat, 0.5)),
                "p99_ms": r(percentile(lat, 0.99)),
                "max_ms": r(lat[-1] if lat else None),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "send":
        send(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "tail":
        tail(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(__doc__)
