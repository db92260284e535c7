#!/usr/bin/env python3
"""Parse + template on one core (issue #5): `logferry parse` against syslog-ng with `$(format-json ...)`.

Started by bench/parse.sh; usable alone:
    parse.py --logferry BIN --results FILE [--cpu 0] [--perf DIR] [case ...]

Cases (default: both):
    parse-nginx  nginx `escape=json` access lines as the body of RFC 3164 syslog lines; the JSON is parsed into
                 fields and the numeric variables typed (logferry: a config template with `preset: nginx`;
                 syslog-ng: `json-parser(prefix(".nginx."))` and `format-json` with int()/double() hints)
    parse-5424   RFC 5424 lines with structured data (logferry: `--format rfc5424`; syslog-ng:
                 `flags(syslog-protocol)`, SD rendered with `--key .SDATA.*`)

Both programs read the same input file (BENCH_PARSE_LINES lines, made once in the cache, every line distinct) from
stdin redirected from that file — no feeder process — and write one JSON document per line to a file. Each runs
under `taskset -c CPU` (default 0). logferry: `logferry parse`, which exits at end of input. syslog-ng: `syslog-ng
-F` with a `stdin()` source, which also exits at end of input (a regular file cannot be polled by epoll, so the
source has `follow-freq(1)`; it only matters at EOF). Wall time runs from just before the process is started to
the output file's last modification (the last line written); CPU seconds and peak RSS come from wait4()'s rusage.
The output's lines are counted; a run that does not have exactly one line per input line is recorded as failed.
One JSON line per run goes to the results file (the same conventions as bench.py); report() renders the table.
Standard library only.
"""

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from report import fmt_num, load, med, spread  # noqa: E402  (same formatting as the issue #7 tables)

CASES = ["parse-nginx", "parse-5424"]

# ---------------------------------------------------------------------------------------------------------------
# Input


AGENTS = [
    'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
    'curl/8.5.0',
    'Mozilla/5.0 (compatible; \\"bench-bot\\"/2.1; +https://example.com/bot)',  # a quote, as escape=json writes it
]


def nginx_line(i):
    """An nginx `escape=json` access line sent through syslog (RFC 3164, as nginx's `access_log syslog:` does)."""
    ip = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
    mm, ss = (i // 60) % 60, i % 60
    status = (200, 200, 200, 304, 404)[i % 5]
    body = (
        '{"time":"2026-11-21T16:%02d:%02d+00:00","remote_addr":"%s","remote_user":"",'
        '"request":"GET /p/%d?ref=%d HTTP/1.1","status":"%d","body_bytes_sent":"%d","request_time":"%d.%03d",'
        '"http_referer":"https://example.com/shop","http_user_agent":"%s"}'
        % (mm, ss, ip, i, i % 97, status, 500 + i % 20000, i % 3, i % 1000, AGENTS[i % 3])
    )
    return "<190>Nov 21 16:%02d:%02d web%d nginx: %s" % (mm, ss, i % 16, body)


def rfc5424_line(i):
    """An RFC 5424 line with two SD elements (one value with escaped quotes), every field varying."""
    mm, ss = (i // 60) % 60, i % 60
    return (
        '<%d>1 2026-11-21T16:%02d:%02d.%06dZ host%d.example.com app%d %d ID%d '
        '[exampleSDID@32473 iut="%d" eventSource="Application" eventID="%d"][meta@1 seq="%d" note="say \\"hi\\" %d"] '
        "GET /p/%d served in %d ms"
        % (8 * (i % 24) + i % 8, mm, ss, i % 1000000, i % 32, i % 8, 1000 + i % 30000, i % 100,
           i % 10, 1000 + i, i, i % 7, i, i % 500)
    )


def make_input(path, case, lines):
    from bench import write_generated

    write_generated(path, lines, nginx_line if case == "parse-nginx" else rfc5424_line)


# ---------------------------------------------------------------------------------------------------------------
# Configs

LOGFERRY_CONFIG = """# bench/lib/parse.py: the templates `logferry parse --config THIS --template NAME` uses.
node: {name: bench, data_dir: %(w)s/data}
# Only the templates are used; a config is valid with a source and a destination, which parse does not open.
sources:
  unused: {type: unix-dgram, path: %(w)s/unused.sock}
destinations:
  unused: {type: stdout}
templates:
  # nginx escape=json bodies: the JSON into fields, status/body_bytes_sent/... as integers, request_time as a
  # float, the message becomes "REQUEST STATUS" (see NginxPreset).
  nginx_json:
    preset: nginx
  # RFC 5424: the document of SPEC.md section 3 as parsed (sd, msgid, version included); no extra steps.
  plain: {}
"""

# Same keys as logferry's document (SPEC.md §3): @timestamp host program pid facility severity message source
# received_at, plus msgid and sd for RFC 5424 and fields for nginx. format-json leaves out empty values, so the
# nginx lines (no PID) have no pid, as in logferry's documents. A value that does not convert to its type hint is
# dropped (on-error(drop-property)), as logferry leaves out a field that does not convert.
SNG_COMMON = (
    "@timestamp=${ISODATE} host=${HOST} program=${PROGRAM} pid=int(${PID}) facility=${FACILITY} severity=${LEVEL} "
    "source=${SOURCE} received_at=${R_ISODATE}"
)
SNG_TEMPLATES = {
    "parse-5424": "$(format-json --scope none %s message=${MESSAGE} msgid=${MSGID} "
    "--key .SDATA.* --rekey .SDATA.* --replace-prefix .SDATA.=sd.)\\n" % SNG_COMMON,
    # The typed variables are excluded from the glob and written again with their type hint, under fields.
    "parse-nginx": "$(format-json --scope none %s message='${.nginx.request} ${.nginx.status}' "
    "--key .nginx.* --exclude .nginx.status --exclude .nginx.body_bytes_sent --exclude .nginx.request_time "
    "--rekey .nginx.* --replace-prefix .nginx.=fields. "
    "fields.status=int(${.nginx.status}) fields.body_bytes_sent=int(${.nginx.body_bytes_sent}) "
    "fields.request_time=double(${.nginx.request_time}))\\n" % SNG_COMMON,
}


def syslog_ng_config(case, out, threaded):
    flags = "flags(syslog-protocol) " if case == "parse-5424" else ""
    parser = 'parser { json-parser(prefix(".nginx.")); };\n    ' if case == "parse-nginx" else ""
    return """@version: 3.38
# bench/lib/parse.py: syslog-ng doing what `logferry parse` does, on the same input.
options {
    threaded(%(threaded)s); keep-hostname(yes); chain-hostnames(no); use-dns(no); dns-cache(no); stats-freq(0);
    frac-digits(6); on-error(drop-property); log-msg-size(65536);
};
source s_in { stdin(%(flags)sfollow-freq(1) log-iw-size(20000) log-fetch-limit(100)); };
destination d_out { file("%(out)s" template("%(template)s")); };
log {
    source(s_in);
    %(parser)sdestination(d_out);
    flags(flow-control);
};
""" % {
        "threaded": "yes" if threaded else "no",
        "flags": flags,
        "out": out,
        "template": SNG_TEMPLATES[case],
        "parser": parser,
    }


# ---------------------------------------------------------------------------------------------------------------
# Running


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            data = f.read(1 << 22)
            if not data:
                return n
            n += data.count(b"\n")


def first_line_of(path):
    with open(path, "rb") as f:
        return f.readline().decode(errors="replace").rstrip("\n")


def wait_with_schedstat(pid):
    """wait4() of `pid`, polling its threads' /proc schedstat meanwhile: (status, rusage, seconds its threads were
    runnable but waited for the core). The machine is shared; that wait says how much of the wall time was not
    ours, and CPU time per message is the measure it does not distort."""
    waits = {}
    while True:
        done, status, ru = os.wait4(pid, os.WNOHANG)
        if done:
            return status, ru, sum(waits.values())
        for task in glob.glob("/proc/%d/task/*/schedstat" % pid):
            try:
                with open(task) as f:
                    waits[task] = int(f.read().split()[1]) / 1e9
            except (OSError, IndexError, ValueError):
                pass
        time.sleep(0.02)


class ParseBench:
    def __init__(self, args):
        self.args = args
        self.lines = int(os.environ.get("BENCH_PARSE_LINES", 1000000))
        self.threaded = os.environ.get("BENCH_SNG_THREADED", "no") == "yes"

    def input_of(self, case):
        path = os.path.join(self.args.cache, "%s-%d.log" % (case, self.lines))
        make_input(path, case, self.lines)
        return path

    def argv(self, daemon, case, w, out):
        if daemon == "logferry":
            conf = os.path.join(w, "logferry.yaml")
            with open(conf, "w") as f:
                f.write(LOGFERRY_CONFIG % {"w": w})
            fmt = "rfc3164" if case == "parse-nginx" else "rfc5424"
            name = "nginx_json" if case == "parse-nginx" else "plain"
            return [self.args.logferry, "parse", "--format", fmt, "--config", conf, "--template", name], True
        conf = os.path.join(w, "syslog-ng.conf")
        with open(conf, "w") as f:
            f.write(syslog_ng_config(case, out, self.threaded))
        return [
            self.args.syslog_ng, "-F", "--no-caps", "-f", conf, "-R", os.path.join(w, "persist"),
            "-p", os.path.join(w, "pid"), "-c", os.path.join(w, "ctl"),
        ], False

    def run_one(self, case, daemon, run):
        infile = self.input_of(case)
        w = tempfile.mkdtemp(prefix="lfp-%s-%s-" % (case, daemon), dir=self.args.tmp)
        out = os.path.join(w, "out.json")
        record = {"workload": case, "daemon": daemon, "format": "json", "run": run, "cpu": self.args.cpu}
        try:
            argv, to_stdout = self.argv(daemon, case, w, out)
            log = open(os.path.join(w, daemon + ".log"), "wb")
            stdout = open(out, "wb") if to_stdout else log
            with open(infile, "rb") as stdin:
                t0 = time.time()
                proc = subprocess.Popen(
                    ["taskset", "-c", str(self.args.cpu)] + argv, stdin=stdin, stdout=stdout, stderr=log, cwd=w
                )
                status, ru, rq_wait = wait_with_schedstat(proc.pid)
                t_exit = time.time()
            proc.returncode = status
            log.close()
            if stdout is not log:
                stdout.close()
            stored = count_lines(out) if os.path.exists(out) else 0
            t_end = os.stat(out).st_mtime if stored else t_exit
            secs = max(t_end - t0, 1e-6)
            size = os.path.getsize(infile)
            record.update(
                sent=self.lines,
                stored=stored,
                lost=self.lines - stored,
                secs=round(secs, 3),
                secs_to_exit=round(t_exit - t0, 3),
                msgs_per_s=round(stored / secs),
                mb_per_s=round(size * stored / self.lines / secs / 1e6, 2),
                out_mb=round(os.path.getsize(out) / 1e6, 1) if stored else 0,
                runqueue_wait_s=round(rq_wait, 3),
                cpu_s=round(ru.ru_utime + ru.ru_stime, 3),
                user_s=round(ru.ru_utime, 3),
                sys_s=round(ru.ru_stime, 3),
                rss_mib=round(ru.ru_maxrss / 1024, 1),
                sample=first_line_of(out) if stored else None,
            )
            record["cpu_us_per_msg"] = round(record["cpu_s"] * 1e6 / max(stored, 1), 3)
            if os.WEXITSTATUS(status) != 0 or os.WIFSIGNALED(status):
                with open(os.path.join(w, daemon + ".log"), "rb") as f:
                    tail = f.read()[-300:].decode(errors="replace").strip()
                record["error"] = "%s exited with status %s: %s" % (daemon, status, tail)
            elif stored != self.lines:
                record["error"] = "%d of %d lines in the output" % (stored, self.lines)
        except Exception as e:  # a failed run is recorded, and the benchmark goes on with the next
            record["error"] = str(e)
        finally:
            with open(self.args.results, "a") as f:
                f.write(json.dumps(record) + "\n")
            keys = ("stored", "secs", "runqueue_wait_s", "msgs_per_s", "cpu_s", "cpu_us_per_msg", "rss_mib", "error")
            shown = ", ".join("%s=%s" % (k, record[k]) for k in keys if k in record)
            print("  %-9s %-11s run %d: %s" % (daemon, case, run, shown), flush=True)
            if not self.args.keep:
                shutil.rmtree(w, ignore_errors=True)
        return record

    def perf(self, case, perf_dir):
        """`perf record -g` of one logferry run; the flat profile (self time, by symbol) goes to DIR/CASE.txt."""
        infile = self.input_of(case)
        w = tempfile.mkdtemp(prefix="lfp-perf-", dir=self.args.tmp)
        try:
            out = os.path.join(w, "out.json")
            argv, _ = self.argv("logferry", case, w, out)
            data = os.path.join(perf_dir, case + ".perf.data")
            with open(infile, "rb") as stdin, open(out, "wb") as stdout:
                record = ["perf", "record", "-q", "-g", "-F", "2000", "-o", data, "--"]
                pinned = ["taskset", "-c", str(self.args.cpu)] + argv
                subprocess.run(record + pinned, stdin=stdin, stdout=stdout, check=True)
            flat = ["perf", "report", "-i", data, "--no-children", "--sort", "symbol", "--stdio", "-g", "none"]
            report = subprocess.run(
                flat + ["--percent-limit", "0.5"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True
            ).stdout
            demangle = [shutil.which("swift-demangle")] if shutil.which("swift-demangle") else ["swift", "demangle"]
            report = subprocess.run(demangle + ["--simplified"], input=report, stdout=subprocess.PIPE).stdout
            report = "\n".join(line.rstrip() for line in report.decode(errors="replace").splitlines()) + "\n"
            path = os.path.join(perf_dir, case + ".txt")
            with open(path, "w") as f:
                f.write(report)
            print("perf: %s (%s)" % (path, data), flush=True)
        finally:
            shutil.rmtree(w, ignore_errors=True)

    def main(self, cases):
        daemons = [d for d in self.args.daemons.split(",") if d]
        for case in cases:
            infile = self.input_of(case)
            with open(infile, "rb") as f:  # into the page cache before the first run
                while f.read(1 << 22):
                    pass
        for run in range(1, int(os.environ.get("BENCH_RUNS", 3)) + 1):
            for case in cases:
                for d in daemons:  # interleaved, so slow drift of the machine hits both alike
                    self.run_one(case, d, run)
        if self.args.perf:
            os.makedirs(self.args.perf, exist_ok=True)
            for case in cases:
                self.perf(case, self.args.perf)


# ---------------------------------------------------------------------------------------------------------------
# Report

TITLES = {
    "parse-nginx": "nginx `escape=json` access lines through syslog (RFC 3164 + JSON body → typed fields)",
    "parse-5424": "RFC 5424 lines with structured data",
}


def report(path):
    runs, metas, ends = load(path)
    out = []
    if metas:
        m = metas[0]
        out.append(
            "Run of %s on %s (%d cores, %.0f GiB, Linux %s), pinned with `taskset -c %s`; %s lines per case. "
            "Load average %s at the start, %s at the end; the run took %s s."
            % (m["date"], m["cpu"], m["cores"], m["mem_gib"], m["kernel"], m["cpu_pinned"], "{:,}".format(m["lines"]),
               m["loadavg"], ends[-1]["loadavg"] if ends else "?", ends[-1]["seconds"] if ends else "?")
        )
        out.append("")
        out.append("- logferry: `%s` (%s)" % (m.get("logferry", "?"), m.get("logferry_bin", "?")))
        out.append(
            "- syslog-ng: %s (Debian package), threaded(%s)" % (m.get("syslog-ng", "?"), m.get("sng_threaded", "?"))
        )
        out.append("")
    out.append(
        "| case | program | msg/s (median, wall) | spread | MB/s in | of the wall: waiting for the core | "
        "msg per CPU-second | CPU µs/msg | CPU s (user + sys) | peak RSS MiB | logferry/syslog-ng, msg/s | "
        "logferry/syslog-ng, msg per CPU-s |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    samples = []
    errors = [r for r in runs if "error" in r]
    for case in CASES:
        g = {}
        for r in runs:
            if r["workload"] == case and "error" not in r:
                g.setdefault(r["daemon"], []).append(r)
        if not g:
            continue
        lf_rate = med([r["msgs_per_s"] for r in g.get("logferry", [])])
        lf_cpu = med([r["cpu_us_per_msg"] for r in g.get("logferry", [])])
        for d in sorted(g, key=lambda d: d != "logferry"):
            rs = g[d]
            rate = med([r["msgs_per_s"] for r in rs])
            cpu = med([r["cpu_us_per_msg"] for r in rs])
            ratio = "-" if d == "logferry" or not lf_rate else "**%.2f×**" % (lf_rate / rate)
            cratio = "-" if d == "logferry" or not lf_cpu else "**%.2f×**" % (cpu / lf_cpu)
            waited = med([r.get("runqueue_wait_s", 0) / r["secs"] * 100 for r in rs])

            def m(key):
                return fmt_num(med([r[key] for r in rs]))

            out.append(
                "| %s | %s | %s (%d runs) | %s | %s | %.0f%% | %s | %s | %s (%s + %s) | %s | %s | %s |"
                % (case, d, fmt_num(rate), len(rs), spread([r["msgs_per_s"] for r in rs]), m("mb_per_s"), waited,
                   fmt_num(1e6 / cpu), fmt_num(cpu), m("cpu_s"), m("user_s"), m("sys_s"), m("rss_mib"), ratio, cratio)
            )
            samples.append((case, d, rs[0].get("sample"), med([r["out_mb"] for r in rs])))
    out.append("")
    out.append("One output line of each (the first of the input), and the output size:")
    out.append("")
    for case, d, sample, mb in samples:
        out.append("- %s, %s (%s MB):" % (case, d, fmt_num(mb)))
        out.append("")
        out.append("  ```json")
        out.append("  " + (sample or ""))
        out.append("  ```")
    out.append("")
    if errors:
        out.append("Failed runs (not in the medians):")
        out.append("")
        for r in errors:
            out.append("- %s %s run %d: %s" % (r["workload"], r["daemon"], r["run"], r["error"]))
        out.append("")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--logferry")
    p.add_argument("--syslog-ng", default=shutil.which("syslog-ng") or "/usr/sbin/syslog-ng")
    p.add_argument("--results", required=True, help="JSON lines, appended")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "logferry-bench-cache"))
    p.add_argument("--tmp", default=tempfile.gettempdir())
    p.add_argument("--cpu", default="0", help="the core both programs are pinned to")
    p.add_argument("--daemons", default="logferry,syslog-ng")
    p.add_argument("--perf", metavar="DIR", help="after the runs, profile one logferry run per case into DIR")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--report", action="store_true", help="only print the table of --results")
    p.add_argument("cases", nargs="*", default=CASES)
    args = p.parse_args()
    if args.report:
        print(report(args.results))
        return
    for c in args.cases:
        if c not in CASES:
            p.error("unknown case %s (known: %s)" % (c, " ".join(CASES)))
    if not args.logferry:
        p.error("--logferry is needed")
    os.makedirs(args.cache, exist_ok=True)
    from bench import cpu_and_memory, first_line, loadavg  # the issue #7 driver's helpers

    cpu, mem_gib = cpu_and_memory()
    b = ParseBench(args)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": round(mem_gib, 1),
        "kernel": os.uname().release,
        "loadavg": loadavg(),
        "cpu_pinned": args.cpu,
        "lines": b.lines,
        "logferry": first_line([args.logferry, "version"]),
        "logferry_bin": args.logferry,
        "syslog-ng": first_line([args.syslog_ng, "--version"]),
        "sng_threaded": "yes" if b.threaded else "no",
        "params": {k: v for k, v in os.environ.items() if k.startswith("BENCH_")},
    }
    started = time.time()
    with open(args.results, "a") as f:
        f.write(json.dumps({"meta": meta}) + "\n")
    b.main(args.cases)
    with open(args.results, "a") as f:
        f.write(json.dumps({"meta_end": {"seconds": round(time.time() - started), "loadavg": loadavg()}}) + "\n")
    print()
    print(report(args.results))


if __name__ == "__main__":
    main()
