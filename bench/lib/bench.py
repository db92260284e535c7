#!/usr/bin/env python3
"""Side-by-side benchmark driver: logferry, syslog-ng and rsyslog on the same workloads.

Started by bench/run.sh (which builds or finds the binaries); usable alone:
    bench.py --logferry BIN --rsyslog-root DIR --results FILE [workload ...]

Every daemon runs in the foreground from its own config under a temporary directory (never as a system
service). The load generator is syslog-ng's loggen wherever it fits (unix-dgram, unix-stream, the edge's
unix-stream input of the forwarding runs); the latency runs use a paced Python sender that stamps the send time
into each message, and a tailer that reads the central store and compares. Stored messages are counted at the
store (newlines in the output files). CPU seconds (utime+stime) and peak RSS (VmHWM) are read from /proc right
before each daemon is stopped. One JSON line per run goes to the results file; bench/lib/report.py turns it
into tables. Only the standard library is used, so any python3 >= 3.8 runs it.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
WORKLOADS = ["dgram100", "dgram500", "stream", "file", "forward", "latency", "rss50k", "crash"]
DAEMONS = ["logferry", "syslog-ng", "rsyslog"]


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_float(name, default):
    return float(os.environ.get(name, default))


# ---------------------------------------------------------------------------------------------------------------
# Input data


def syslog_line(i, size):
    """An nginx access-log line as nginx sends it to syslog (no hostname), exactly `size` bytes."""
    head = "<190>Nov 21 16:00:00 nginx: "
    ip = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
    pre = '%s - - "GET /p/%06d' % (ip, i % 1000000)
    post = ' HTTP/1.1" 200 612'
    if size >= 200:
        pre = '%s - - [21/Nov/2026:16:00:00 +0000] "GET /p/%06d' % (ip, i % 1000000)
        post += ' "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"'
    pad = size - len(head) - len(pre) - len(post)
    if pad < 0:
        raise ValueError("line size %d too small" % size)
    return head + pre + ("/abcdefghij" * (pad // 11 + 1))[:pad] + post


def make_syslog_file(path, size, count=10000):
    if os.path.exists(path):
        return
    with open(path + ".tmp", "w") as f:
        for i in range(count):
            f.write(syslog_line(i, size) + "\n")
    os.rename(path + ".tmp", path)


def write_generated(path, lines, line_of):
    """Writes `line_of(0) … line_of(lines - 1)`, one per line, to `path`, unless a complete file of that many lines
    is already there (`path.lines` records the count once the file is whole)."""
    try:
        with open(path + ".lines") as f:
            if int(f.read()) == lines and os.path.exists(path):
                return
    except (OSError, ValueError):
        pass
    with open(path + ".tmp", "w") as f:
        for start in range(0, lines, 10000):
            f.write("".join(line_of(i) + "\n" for i in range(start, min(lines, start + 10000))))
    os.rename(path + ".tmp", path)
    with open(path + ".lines", "w") as f:
        f.write(str(lines))


def make_access_log(path, lines):
    """A plain nginx access log (combined format, no syslog header), `lines` lines of about 190 bytes."""
    agents = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "curl/7.88.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari/605.1.15",
    ]
    write_generated(
        path,
        lines,
        lambda i: '10.%d.%d.%d - - [21/Nov/2026:16:%02d:%02d +0000] "GET /shop/item/%d?ref=%d HTTP/1.1" %d %d '
        '"https://example.com/shop" "%s"'
        % (
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255,
            (i // 60) % 60,
            i % 60,
            i,
            i % 97,
            (200, 200, 200, 304, 404)[i % 5],
            500 + i % 20000,
            agents[i % 3],
        ),
    )


# ---------------------------------------------------------------------------------------------------------------
# Process helpers


def proc_usage(pid):
    """(cpu seconds, peak RSS KiB) of a live process, or (None, None) when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        hwm = None
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        return cpu, hwm
    except (OSError, IndexError, ValueError):
        return None, None


def tcp_listening(port):
    needle = ":%04X" % port
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1].endswith(needle) and parts[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    """One daemon process started from its own config, stopped with SIGTERM after its usage is read."""

    def __init__(self, label, argv, workdir, env=None):
        self.label = label
        self.log = open(os.path.join(workdir, label + ".log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
        self.cpu = None
        self.rss_kib = None

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.cpu, self.rss_kib = proc_usage(self.proc.pid)
        self.exited_early = not self.alive()
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def trouble(self):
        """Why this daemon's run does not count, or None: it exited by itself, or crashed (Swift's backtracer
        keeps a crashed process alive for seconds, so its log is checked too)."""
        try:
            with open(self.log.name, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            text = ""
        for mark in ("*** Program crashed", "*** Signal ", "Fatal error", "Segmentation fault"):
            if mark in text:
                line = next(l for l in text.splitlines() if mark in l)
                return "%s crashed: %s (see its log)" % (self.label, line.strip()[:160])
        if self.exited_early:
            return "%s exited by itself with status %s (see its log)" % (self.label, self.proc.returncode)
        return None


def wait_until(cond, timeout, what, daemons=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        for d in daemons:
            if not d.alive():
                raise RuntimeError("%s exited while waiting for %s (see %s.log)" % (d.label, what, d.label))
        time.sleep(0.02)
    raise RuntimeError("timed out waiting for " + what)


class StoreReader:
    """Reads what was appended to the files matching a glob since the last poll, complete lines only, and hands
    it to `consume`."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.offsets = {}

    def poll(self):
        for path in glob.glob(self.pattern, recursive=True):
            offset = self.offsets.get(path, 0)
            try:
                with open(path, "rb") as f:
                    f.seek(offset)
                    while True:
                        data = f.read(1 << 22)
                        end = data.rfind(b"\n") + 1
                        if end == 0:
                            break
                        self.consume(data[:end])
                        offset += end
                        f.seek(offset)
            except OSError:
                continue
            self.offsets[path] = offset
        return self.result()


class StoreCounter(StoreReader):
    """Counts the lines in the store."""

    def __init__(self, pattern):
        super().__init__(pattern)
        self.count = 0

    def consume(self, data):
        self.count += data.count(b"\n")

    def result(self):
        return self.count


class SeqCounter(StoreReader):
    """Counts loggen's `seq: N` in the store: distinct sequence numbers and lines (a crash test's store may hold
    a message twice)."""

    SEQ = re.compile(rb"seq: (\d+)")

    def __init__(self, pattern):
        super().__init__(pattern)
        self.seen = set()
        self.lines = 0

    def consume(self, data):
        for line in data.splitlines():
            self.lines += 1
            m = self.SEQ.search(line)
            if m:
                self.seen.add(int(m.group(1)))

    def result(self):
        return len(self.seen)


def wait_store(counter, expected, sender, daemons, stall):
    """Polls the store until it holds `expected` lines, or the sender finished and nothing arrived for `stall`
    seconds. Returns (stored, time the last line was seen)."""
    last, last_change = -1, time.time()
    while True:
        c = counter.poll()
        now = time.time()
        if c != last:
            last, last_change = c, now
        if c >= expected:
            return c, now
        sender_done = sender is None or sender.poll() is not None
        if sender_done and now - last_change > stall:
            return c, last_change
        if not sender_done and now - last_change > stall * 4:
            raise RuntimeError("store stopped growing at %d of %d while the sender was still sending" % (c, expected))
        for d in daemons:
            if not d.alive():
                raise RuntimeError("%s exited during the run (see its log)" % d.label)
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------------------------
# Configs. Each writer returns the daemons' argv lists; the store is always <work>/store/*.log.

SYSLOG_NG_JSON = (
    '"$(format-json @timestamp=${ISODATE} host=${HOST} program=${PROGRAM} pid=${PID} facility=${FACILITY} '
    'severity=${LEVEL} message=${MESSAGE} received_at=${R_ISODATE})\\n"'
)
# syslog-ng's default source window (log-iw-size 1000, shared by max-connections) and fetch limit (10) hold it
# far below what it can do with flow control on; these are the usual throughput settings from its manual.
SYSLOG_NG_WINDOW = "log-iw-size(20000) log-fetch-limit(100)"
SYSLOG_NG_PLAIN = '"${ISODATE} ${HOST} ${MSGHDR}${MESSAGE}\\n"'

RSYSLOG_JSON_TEMPLATE = """template(name="bench_json" type="list" option.jsonf="on") {
  property(outname="@timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="program" name="programname" format="jsonf")
  property(outname="pid" name="procid" format="jsonf")
  property(outname="facility" name="syslogfacility-text" format="jsonf")
  property(outname="severity" name="syslogseverity-text" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
  property(outname="received_at" name="timegenerated" dateFormat="rfc3339" format="jsonf")
}
"""


class Bench:
    def __init__(self, args):
        self.args = args
        self.cache = args.cache
        os.makedirs(self.cache, exist_ok=True)
        self.results = args.results
        self.rs_root = args.rsyslog_root
        self.rs_env = dict(os.environ)
        if self.rs_root:
            libdir = os.path.join(self.rs_root, "usr/lib/x86_64-linux-gnu")
            self.rs_env["LD_LIBRARY_PATH"] = libdir + ":" + os.environ.get("LD_LIBRARY_PATH", "")
            self.rsyslogd = os.path.join(self.rs_root, "usr/sbin/rsyslogd")
            self.rs_moddir = os.path.join(libdir, "rsyslog")
        self.children = []  # loggen and latency processes of the current run
        self.maxrate = {}  # daemon -> median forwarding msg/s of this invocation (for the latency runs)

    # -- per-daemon configs ------------------------------------------------------------------------------------

    def logferry_node(self, w, name, sources, destinations, metrics_port=None):
        conf = os.path.join(w, name + ".yaml")
        with open(conf, "w") as f:
            metrics = ", metrics_listen: 127.0.0.1:%d" % metrics_port if metrics_port else ""
            f.write("node: {name: %s, data_dir: %s/%s-data%s}\n" % (name, w, name, metrics))
            if os.environ.get("BENCH_LOGFERRY_JOURNAL"):  # e.g. "{fsync: interval, fsync_interval: 10ms}"
                f.write("journal: %s\n" % os.environ["BENCH_LOGFERRY_JOURNAL"])
            f.write("sources:\n%s\ndestinations:\n%s\n" % (sources, destinations))
        return [self.args.logferry, "run", "--config", conf]

    def syslog_ng_node(self, w, name, body):
        conf = os.path.join(w, name + ".conf")
        with open(conf, "w") as f:
            f.write(
                "@version: 3.38\n"
                "options { threaded(yes); keep-hostname(yes); chain-hostnames(no); use-dns(no);\n"
                "          dns-cache(no); create-dirs(yes); };\n" + body
            )
        return [
            self.args.syslog_ng,
            "-F",
            "--no-caps",
            "-f",
            conf,
            "-R",
            os.path.join(w, name + ".persist"),
            "-p",
            os.path.join(w, name + ".pid"),
            "-c",
            os.path.join(w, name + ".ctl"),
        ]

    def rsyslog_node(self, w, name, body):
        conf = os.path.join(w, name + ".conf")
        os.makedirs(os.path.join(w, name + "-work"), exist_ok=True)
        with open(conf, "w") as f:
            f.write('global(workDirectory="%s/%s-work" maxMessageSize="64k")\n' % (w, name))
            f.write(RSYSLOG_JSON_TEMPLATE + body)
        return [self.rsyslogd, "-n", "-M", self.rs_moddir, "-f", conf, "-i", os.path.join(w, name + ".pid")]

    def ingest_setup(self, daemon, fmt, w, kind, src_path):
        """Daemons for an ingest workload: kind is dgram, stream or file; src_path the socket or log file."""
        store = os.path.join(w, "store", "out.log")
        os.makedirs(os.path.dirname(store), exist_ok=True)
        if daemon == "logferry":
            if kind == "file":
                src = "  in: {type: file, include: [%s], start_at: beginning}" % src_path
            else:
                src = "  in: {type: unix-%s, path: %s}" % (kind, src_path)
            return [("node", self.logferry_node(w, "node", src, '  store: {type: file, path: "%s"}' % store), None)]
        if daemon == "syslog-ng":
            template = SYSLOG_NG_JSON if fmt == "json" else SYSLOG_NG_PLAIN
            if kind == "file":
                src = 'file("%s" flags(no-parse) program-override("nginx") follow-freq(1) %s)' % (src_path, SYSLOG_NG_WINDOW)
            elif kind == "stream":
                src = 'unix-stream("%s" max-connections(16) %s)' % (src_path, SYSLOG_NG_WINDOW)
            else:
                src = 'unix-dgram("%s" %s)' % (src_path, SYSLOG_NG_WINDOW)
            body = (
                "source s_in { %s; };\n"
                'destination d_store { file("%s" template(%s)); };\n'
                "log { source(s_in); destination(d_store); flags(flow-control); };\n" % (src, store, template)
            )
            return [("node", self.syslog_ng_node(w, "node", body), None)]
        template = "bench_json" if fmt == "json" else "RSYSLOG_FileFormat"
        if kind == "file":
            src = 'module(load="imfile")\ninput(type="imfile" file="%s" tag="nginx:")\n' % src_path
        elif kind == "stream":
            src = 'module(load="imptcp")\ninput(type="imptcp" path="%s" unlink="on")\n' % src_path
        else:
            src = (
                'module(load="imuxsock" SysSock.Use="off")\n'
                'input(type="imuxsock" socket="%s" createPath="on" rateLimit.interval="0")\n' % src_path
            )
        body = src + 'action(type="omfile" file="%s" template="%s")\n' % (store, template)
        return [("node", self.rsyslog_node(w, "node", body), self.rs_env)]

    def forward_setup(self, daemon, fmt, w, sock, port, reconnect_fast=False):
        """Edge (unix-stream input, reliable forwarding on loopback) and central (store) for one daemon.
        `reconnect_fast`: the peers' edges retry a lost central after 1 s instead of their defaults (syslog-ng
        time-reopen 60 s, rsyslog resumeInterval 30 s), as logferry's backoff does, for the crash workload."""
        store = os.path.join(w, "store", "out.log")
        os.makedirs(os.path.dirname(store), exist_ok=True)
        if daemon == "logferry":
            central = self.logferry_node(
                w,
                "central",
                "  ingest: {type: websocket, listen: 127.0.0.1:%d, tokens: [bench]}" % port,
                '  store: {type: file, path: "%s"}' % store,
            )
            # The edge's /metrics has the append → ack latency of every batch (read by the latency runs).
            self.edge_metrics_port = free_port()
            edge = self.logferry_node(
                w,
                "edge",
                "  in: {type: unix-stream, path: %s}" % sock,
                '  central: {type: websocket, url: "ws://127.0.0.1:%d/v1/ingest", token: bench%s}'
                % (port, ", " + os.environ["BENCH_LOGFERRY_SENDER"] if os.environ.get("BENCH_LOGFERRY_SENDER") else ""),
                metrics_port=self.edge_metrics_port,
            )
            return [("central", central, None), ("edge", edge, None)]
        if daemon == "syslog-ng":
            template = SYSLOG_NG_JSON if fmt == "json" else SYSLOG_NG_PLAIN
            central = self.syslog_ng_node(
                w,
                "central",
                'source s_net { network(ip("127.0.0.1") port(%d) transport("tcp") max-connections(16) %s); };\n'
                'destination d_store { file("%s" template(%s)); };\n'
                "log { source(s_net); destination(d_store); flags(flow-control); };\n" % (port, SYSLOG_NG_WINDOW, store, template),
            )
            os.makedirs(os.path.join(w, "diskbuf"), exist_ok=True)
            edge = self.syslog_ng_node(
                w,
                "edge",
                'source s_in { unix-stream("%s" max-connections(16) %s); };\n'
                'destination d_fwd { network("127.0.0.1" port(%d) transport("tcp")\n'
                '    disk-buffer(reliable(yes) dir("%s/diskbuf") disk-buf-size(2147483648) mem-buf-size(67108864))%s); };\n'
                "log { source(s_in); destination(d_fwd); flags(flow-control); };\n"
                % (sock, SYSLOG_NG_WINDOW, port, w, " time-reopen(1)" if reconnect_fast else ""),
            )
            return [("central", central, None), ("edge", edge, None)]
        template = "bench_json" if fmt == "json" else "RSYSLOG_FileFormat"
        central = self.rsyslog_node(
            w,
            "central",
            'module(load="imrelp")\ninput(type="imrelp" port="%d" address="127.0.0.1")\n'
            'action(type="omfile" file="%s" template="%s")\n' % (port, store, template),
        )
        edge = self.rsyslog_node(
            w,
            "edge",
            'module(load="imptcp")\ninput(type="imptcp" path="%s" unlink="on")\n'
            'module(load="omrelp")\n'
            'action(type="omrelp" target="127.0.0.1" port="%d" template="RSYSLOG_ForwardFormat" windowSize="1024"\n'
            '       queue.type="LinkedList" queue.filename="fwd" queue.saveOnShutdown="on"\n'
            '       action.resumeRetryCount="-1"%s)\n' % (sock, port, ' action.resumeInterval="1"' if reconnect_fast else ""),
        )
        return [("central", central, self.rs_env), ("edge", edge, self.rs_env)]

    # -- running -----------------------------------------------------------------------------------------------

    def start(self, specs, w, daemon):
        return [Daemon("%s-%s" % (daemon, label), argv, w, env) for label, argv, env in specs]

    def loggen(self, w, sock, kind, infile, n, rate):
        """Starts loggen; finish() stops it if the run ends early."""
        argv = [self.args.loggen, "-x", "-S" if kind == "stream" else "-D", "-R", infile, "-d", "-l", "-n", str(n), "-I", "100000"]
        argv += ["-r", str(rate), sock]
        out = open(os.path.join(w, "loggen.log"), "wb")
        self.children.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT))
        return self.children[-1]

    @staticmethod
    def loggen_count(w, default):
        try:
            with open(os.path.join(w, "loggen.log"), "rb") as f:
                text = f.read().decode(errors="replace")
            m = re.findall(r"count=(\d+)", text)
            return int(m[-1]) if m else default
        except OSError:
            return default

    def finish(self, daemons, record):
        for child in self.children:  # a sender or tailer still running after a failed run
            if child.poll() is None:
                child.kill()
                child.wait()
        self.children = []
        for d in reversed(daemons):
            d.stop()
        for d in daemons:
            why = d.trouble()
            if why and "error" not in record:
                record["error"] = why
        record["cpu_s"] = round(sum(d.cpu or 0 for d in daemons), 3)
        record["rss_mib"] = round(max((d.rss_kib or 0) for d in daemons) / 1024, 1)
        record["detail"] = {d.label: {"cpu_s": d.cpu, "rss_mib": round((d.rss_kib or 0) / 1024, 1)} for d in daemons}
        if record.get("stored") and record["cpu_s"]:
            record["cpu_us_per_msg"] = round(record["cpu_s"] * 1e6 / record["stored"], 2)
        with open(self.results, "a") as f:
            f.write(json.dumps(record) + "\n")
        print(
            "  %-9s %-5s %-9s run %d: %s"
            % (
                record["daemon"],
                record["format"],
                record["workload"],
                record["run"],
                ", ".join(
                    "%s=%s" % (k, record[k])
                    for k in (
                        "sent", "stored", "distinct", "lost", "duplicated", "kills", "secs", "msgs_per_s", "cpu_s",
                        "rss_mib", "p50_ms", "p99_ms", "ack_p99_le_ms", "error",
                    )
                    if k in record
                ),
            ),
            flush=True,
        )

    def run_case(self, workload, daemon, fmt, run, body, **fields):
        """One run: a fresh work directory and record for `body(w, record, daemons)`; the daemons it leaves in
        `daemons` are stopped and accounted for, and a failed run is recorded while the benchmark goes on."""
        w = tempfile.mkdtemp(prefix="lfb-%s-%s-" % (workload, daemon), dir=self.args.tmp)
        record = {"workload": workload, "daemon": daemon, "format": fmt, "run": run, **fields}
        daemons = []
        try:
            body(w, record, daemons)
        except Exception as e:  # a failed run is recorded, and the benchmark goes on with the next
            record["error"] = str(e)
        finally:
            self.finish(daemons, record)
            if not self.args.keep:
                shutil.rmtree(w, ignore_errors=True)
        return record

    def run_ingest(self, workload, daemon, fmt, run):
        n = env_int("BENCH_N", 200000)

        def body(w, record, daemons):
            nonlocal n
            if workload == "file":
                n = env_int("BENCH_FILE_LINES", 1000000)
                log = os.path.join(self.cache, "access.log")
                make_access_log(log, n)
                size = os.path.getsize(log)
                src = os.path.join(w, "access.log")
                os.link(log, src) if os.stat(log).st_dev == os.stat(w).st_dev else shutil.copyfile(log, src)
                specs = self.ingest_setup(daemon, fmt, w, "file", src)
                counter = StoreCounter(os.path.join(w, "store", "*.log"))
                t0 = time.time()
                daemons[:] = self.start(specs, w, daemon)
                stored, t_end = wait_store(counter, n, None, daemons, env_float("BENCH_STALL", 3))
                sent, msg_bytes = n, size / n
            else:
                size = 500 if workload == "dgram500" else 100
                infile = os.path.join(self.cache, "lines%d.txt" % size)
                make_syslog_file(infile, size)
                kind = "stream" if workload == "stream" else "dgram"
                sock = os.path.join(w, "in.sock")
                specs = self.ingest_setup(daemon, fmt, w, kind, sock)
                counter = StoreCounter(os.path.join(w, "store", "*.log"))
                daemons[:] = self.start(specs, w, daemon)
                wait_until(lambda: os.path.exists(sock), 20, "the input socket", daemons)
                time.sleep(0.3)
                t0 = time.time()
                rate = env_int("BENCH_RSS_RATE", 50000) if workload == "rss50k" else 100000000
                sender = self.loggen(w, sock, kind, infile, n, rate)
                stored, t_end = wait_store(counter, n, sender, daemons, env_float("BENCH_STALL", 3))
                sender.wait()
                sent, msg_bytes = self.loggen_count(w, n), size + 1
            secs = max(t_end - t0, 1e-6)
            record.update(
                sent=sent,
                stored=stored,
                lost=sent - stored,
                secs=round(secs, 3),
                msgs_per_s=round(stored / secs),
                mb_per_s=round(stored * msg_bytes / secs / 1e6, 2),
            )

        return self.run_case(workload, daemon, fmt, run, body)

    def run_forward(self, workload, daemon, fmt, run):
        n = env_int("BENCH_FWD_N", 200000)

        def body(w, record, daemons):
            nonlocal n
            infile = os.path.join(self.cache, "lines100.txt")
            make_syslog_file(infile, 100)
            sock = os.path.join(w, "in.sock")
            port = free_port()
            specs = self.forward_setup(daemon, fmt, w, sock, port)
            counter = StoreCounter(os.path.join(w, "store", "*.log"))
            daemons[:] = self.start(specs[:1], w, daemon)
            wait_until(lambda: tcp_listening(port), 20, "the central's port", daemons)
            daemons += self.start(specs[1:], w, daemon)
            wait_until(lambda: os.path.exists(sock), 20, "the edge's socket", daemons)
            time.sleep(0.5)
            if workload == "latency":
                record.update(self.latency(w, sock, daemon, daemons))
            else:
                rate = env_int("BENCH_RSS_RATE", 50000) if workload == "rss50k" else 100000000
                if workload == "rss50k":
                    n = env_int("BENCH_RSS_N", 250000)
                t0 = time.time()
                sender = self.loggen(w, sock, "stream", infile, n, rate)
                stored, t_end = wait_store(counter, n, sender, daemons, env_float("BENCH_STALL", 3))
                sender.wait()
                sent = self.loggen_count(w, n)
                secs = max(t_end - t0, 1e-6)
                record.update(
                    sent=sent,
                    stored=stored,
                    lost=sent - stored,
                    secs=round(secs, 3),
                    msgs_per_s=round(stored / secs),
                    mb_per_s=round(stored * 101 / secs / 1e6, 2),
                )

        return self.run_case(workload, daemon, fmt, run, body)

    def run_crash(self, workload, daemon, fmt, run):
        """Reliable forwarding while the central is killed with SIGKILL and restarted, BENCH_CRASH_KILLS times:
        every message is numbered (loggen's own `seq:`), and the store is counted by distinct numbers, so what was
        lost and what was stored twice are both seen. Paced (BENCH_CRASH_RATE) so the kills land mid-stream."""
        n = env_int("BENCH_CRASH_N", 200000)
        rate = env_int("BENCH_CRASH_RATE", 20000)
        kills = env_int("BENCH_CRASH_KILLS", 2)

        def body(w, record, daemons):
            sock = os.path.join(w, "in.sock")
            port = free_port()
            specs = self.forward_setup(daemon, fmt, w, sock, port, reconnect_fast=True)
            counter = SeqCounter(os.path.join(w, "store", "*.log"))
            central = self.start(specs[:1], w, daemon)[0]
            wait_until(lambda: tcp_listening(port), 20, "the central's port", [central])
            edge = self.start(specs[1:], w, daemon)[0]
            daemons[:] = [central, edge]
            wait_until(lambda: os.path.exists(sock), 20, "the edge's socket", daemons)
            time.sleep(0.5)
            argv = [self.args.loggen, "-x", "-S", "-s", "160", "-n", str(n), "-r", str(rate), "-I", "100000", sock]
            out = open(os.path.join(w, "loggen.log"), "wb")
            sender = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
            self.children.append(sender)
            t0 = time.time()
            duration = n / rate
            # Kills spread over the sending time; each central is restarted 1 s after its kill.
            schedule = [t0 + duration * (i + 1) / (kills + 1) for i in range(kills)]
            down_since = None
            last, last_change = -1, time.time()
            stall = env_float("BENCH_CRASH_STALL", 15)
            while True:
                now = time.time()
                if down_since is None and schedule and now >= schedule[0]:
                    schedule.pop(0)
                    central.proc.kill()  # SIGKILL: no shutdown, no flush
                    central.proc.wait()
                    central.log.close()
                    down_since = now
                    record["kills"] += 1
                elif down_since is not None and now - down_since >= 1.0:
                    central = self.start([(specs[0][0] + "-%d" % record["kills"],) + tuple(specs[0][1:])], w, daemon)[0]
                    daemons[:] = [central, edge]
                    down_since = None
                c = counter.poll()
                if c != last:
                    last, last_change = c, now
                if c >= n and not schedule and down_since is None:
                    break
                if sender.poll() is not None and not schedule and down_since is None and now - last_change > stall:
                    break
                if not edge.alive():
                    raise RuntimeError("%s exited during the run (see its log)" % edge.label)
                time.sleep(0.05)
            sender.wait()
            counter.poll()
            sent = self.loggen_count(w, n)
            distinct = len(counter.seen)
            record.update(
                sent=sent,
                stored=counter.lines,
                distinct=distinct,
                lost=sent - distinct,
                duplicated=counter.lines - distinct,
                secs=round(time.time() - t0, 1),
            )

        return self.run_case(workload, daemon, fmt, run, body, rate=rate, kills=0)

    def latency(self, w, sock, daemon, daemons):
        """Paced stamped sender into the edge, tailer on the central store; latency = time the line was read
        from the store minus the send time inside it."""
        seconds = env_float("BENCH_LAT_SECONDS", 10)
        rate = env_int("BENCH_LAT_RATE", 0) or int(self.maxrate.get(daemon, 40000) / 2)
        here = os.path.dirname(os.path.abspath(__file__))
        tail = subprocess.Popen(
            [sys.executable, os.path.join(here, "latency.py"), "tail", os.path.join(w, "store"), str(seconds + 15)],
            stdout=subprocess.PIPE,
        )
        self.children.append(tail)
        time.sleep(0.3)
        send = subprocess.run(
            [sys.executable, os.path.join(here, "latency.py"), "send", sock, str(rate), str(seconds)],
            stdout=subprocess.PIPE,
            check=True,
        )
        sent = int(send.stdout.split()[0])
        # The tailer stops when it has seen every message or after its time limit; tell it how many to expect.
        with open(os.path.join(w, "store", ".expected"), "w") as f:
            f.write(str(sent))
        out, _ = tail.communicate(timeout=seconds + 30)
        res = json.loads(out)
        ack = self.ack_latency(daemon)
        return {
            **ack,
            "sent": sent,
            "stored": res["count"],
            "lost": sent - res["count"],
            "rate": rate,
            "p50_ms": res["p50_ms"],
            "p99_ms": res["p99_ms"],
            "max_ms": res["max_ms"],
        }

    def ack_latency(self, daemon):
        """logferry only: the bucket bounds holding 50% and 99% of the edge's batches' journal-append → ack times
        (`logferry_destination_ack_latency_seconds` on its /metrics), in ms; {} when unavailable."""
        if daemon != "logferry":
            return {}
        import urllib.request

        try:
            url = "http://127.0.0.1:%d/metrics" % self.edge_metrics_port
            text = urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            return {}
        buckets = []
        for line in text.splitlines():
            m = re.match(r'logferry_destination_ack_latency_seconds_bucket\{.*le="([^"]+)"\} (\d+)', line)
            if m:
                buckets.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), int(m.group(2))))
        if not buckets or buckets[-1][1] == 0:
            return {}
        total = buckets[-1][1]

        def bound(fraction):
            return next(le for le, c in buckets if c >= fraction * total)

        return {"ack_batches": total, "ack_p50_le_ms": bound(0.5) * 1000, "ack_p99_le_ms": bound(0.99) * 1000}

    def runs(self, workload, daemon, fmt):
        if workload in ("dgram100", "dgram500", "stream", "file"):
            return self.run_ingest(workload, daemon, fmt, self.current_run)
        if workload == "crash":
            return self.run_crash(workload, daemon, fmt, self.current_run)
        return self.run_forward(workload, daemon, fmt, self.current_run)  # forward, latency, rss50k

    def main(self, workloads, daemons):
        nruns = env_int("BENCH_RUNS", 3)
        for workload in workloads:
            print("== %s" % workload, flush=True)
            # logferry's file destination writes one JSON document per line in every case, so its "plain" and
            # "json" are the same workload: run once, reported in both rows. Latency and RSS runs: plain only.
            variants = []
            for d in daemons:
                fmts = ["plain"] if d == "logferry" or workload in ("latency", "rss50k", "crash") else ["plain", "json"]
                variants += [(d, f) for f in fmts]
            rates = {}
            for run in range(1, nruns + 1):
                self.current_run = run
                for d, fmt in variants:  # interleaved, so slow drift of the machine hits every daemon alike
                    r = self.runs(workload, d, fmt)
                    if workload == "forward" and fmt == "plain" and "msgs_per_s" in r:
                        rates.setdefault(d, []).append(r["msgs_per_s"])
            for d, v in rates.items():
                self.maxrate[d] = statistics.median(v)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def first_line(argv, env=None):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=20).stdout
        return out.decode(errors="replace").strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def cpu_and_memory():
    """The CPU model and the memory in GiB, from /proc."""
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / (1 << 20)
    return cpu, mem_gib


def machine_info(args, daemons, workloads):
    cpu, mem_gib = cpu_and_memory()
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": round(mem_gib, 1),
        "kernel": os.uname().release,
        "max_dgram_qlen": open("/proc/sys/net/unix/max_dgram_qlen").read().strip(),
        "tmp": args.tmp,
        "loadavg": loadavg(),
        "daemons": daemons,
        "workloads": workloads,
        "params": {k: v for k, v in os.environ.items() if k.startswith("BENCH_")},
    }
    if "logferry" in daemons:
        info["logferry"] = first_line([args.logferry, "version"])
        info["logferry_bin"] = args.logferry
    if "syslog-ng" in daemons:
        info["syslog-ng"] = first_line([args.syslog_ng, "--version"])
        info["loggen"] = args.loggen
    if "rsyslog" in daemons:
        info["rsyslog"] = first_line([os.path.join(args.rsyslog_root, "usr/sbin/rsyslogd"), "-v"], Bench(args).rs_env).replace(" compiled with:", "")
    return info


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--logferry", required=True)
    p.add_argument("--syslog-ng", default=shutil.which("syslog-ng") or "/usr/sbin/syslog-ng")
    p.add_argument("--loggen", default=shutil.which("loggen") or "/usr/bin/loggen")
    p.add_argument("--rsyslog-root", help="where rsyslog, rsyslog-relp and their libraries were unpacked (dpkg -x)")
    p.add_argument("--results", required=True, help="JSON lines, appended")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "logferry-bench-cache"))
    p.add_argument("--tmp", default=tempfile.gettempdir())
    p.add_argument("--daemons", default=",".join(DAEMONS))
    p.add_argument("--keep", action="store_true", help="keep each run's directory (configs, logs, store)")
    p.add_argument("workloads", nargs="*", default=WORKLOADS)
    args = p.parse_args()
    for wl in args.workloads:
        if wl not in WORKLOADS:
            p.error("unknown workload %s (known: %s)" % (wl, " ".join(WORKLOADS)))
    daemons = [d for d in args.daemons.split(",") if d]
    if "rsyslog" in daemons and not args.rsyslog_root:
        p.error("--rsyslog-root is needed for rsyslog")
    b = Bench(args)
    # The latency runs pace at half of each daemon's forwarding rate: measure it first when it was not asked for.
    workloads = list(args.workloads)
    if "latency" in workloads and "forward" not in workloads and not os.environ.get("BENCH_LAT_RATE"):
        print("latency: no forward workload in this run and no BENCH_LAT_RATE: using 40000/2 msg/s", flush=True)
    started = time.time()
    with open(args.results, "a") as f:
        f.write(json.dumps({"meta": machine_info(args, daemons, workloads)}) + "\n")
    b.main(workloads, daemons)
    with open(args.results, "a") as f:
        f.write(json.dumps({"meta_end": {"seconds": round(time.time() - started), "loadavg": loadavg()}}) + "\n")


if __name__ == "__main__":
    main()
