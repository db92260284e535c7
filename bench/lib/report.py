#!/usr/bin/env python3
"""Turns bench.py's results (JSON lines) into the Markdown of docs/BENCHMARKS.md: per workload a table of
medians and spread, the ratio logferry/peer, and the targets of issue #7 checked against the medians.

    report.py RESULTS.jsonl            prints the Markdown section
    report.py RESULTS.jsonl --doc FILE replaces the part of FILE between the bench markers with it
"""

import json
import statistics
import sys

BEGIN = "<!-- bench/run.sh: begin (generated; edit bench/lib/report.py instead) -->"
END = "<!-- bench/run.sh: end -->"

TITLES = {
    "dgram100": "1a. unix-dgram, 100-byte lines → local store",
    "dgram500": "1b. unix-dgram, 500-byte lines → local store",
    "stream": "2. unix-stream, 100-byte lines → local store",
    "file": "3. file tail: nginx access log → local store",
    "forward": "4. reliable forwarding on loopback, 100-byte lines (edge → central → store)",
    "latency": "4b. forwarding latency: send → line in the central store (offered: half of each daemon's median forwarding "
    "rate from `forward`, unless BENCH_LAT_RATE fixes it)",
    "rss50k": "4c. forwarding at a fixed 50,000 msg/s offered (edge + central): CPU and peak RSS",
    "crash": "4d. reliable forwarding while the central is killed (SIGKILL) and restarted: numbered messages, counted "
    "at the store",
}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return "%s–%s" % (fmt_num(min(values)), fmt_num(max(values)))


def fmt_num(v, digits=None):
    if v is None:
        return "-"
    if digits is not None:
        return "%.*f" % (digits, v)
    if abs(v) >= 1000:
        return "{:,}".format(int(round(v)))
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def load(path):
    runs, metas, ends = [], [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if "meta" in r:
                metas.append(r["meta"])
            elif "meta_end" in r:
                ends.append(r["meta_end"])
            else:
                runs.append(r)
    return runs, metas, ends


class Group:
    def __init__(self, runs):
        self.runs = runs
        self.ok = [r for r in runs if "error" not in r]
        self.errors = [r["error"] for r in runs if "error" in r]

    def m(self, key):
        return med([r.get(key) for r in self.ok])

    def s(self, key):
        return spread([r.get(key) for r in self.ok])

    def detail(self, key):
        """Per-process medians ("edge 1.2 / central 0.8") for forwarding runs."""
        labels = sorted({lab for r in self.ok for lab in r.get("detail", {})})
        if len(labels) < 2:
            return None
        parts = []
        for lab in labels:
            v = med([r["detail"][lab].get(key) for r in self.ok if lab in r.get("detail", {})])
            parts.append("%s %s" % (lab.split("-")[-1], fmt_num(v)))
        return " / ".join(parts)


def groups_of(runs, workload):
    g = {}
    for r in runs:
        if r["workload"] == workload:
            g.setdefault((r["daemon"], r["format"]), []).append(r)
    return {k: Group(v) for k, v in g.items()}


def rate_of(groups, daemon, fmt):
    if daemon == "logferry":
        fmt = "plain"  # logferry writes JSON lines in every case: one run stands for both rows
    g = groups.get((daemon, fmt))
    return g.m("msgs_per_s") if g else None


def throughput_table(runs, workload, out):
    groups = groups_of(runs, workload)
    if not groups:
        return
    out.append("#### " + TITLES[workload])
    out.append("")
    out.append(
        "| daemon | output | msg/s (median) | spread | MB/s | lost (all runs) | CPU s | CPU µs/msg | peak RSS MiB "
        "| logferry/this |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    lf = rate_of(groups, "logferry", "plain")
    for (daemon, fmt), g in sorted(groups.items(), key=lambda kv: (kv[0][0] != "logferry", kv[0])):
        output = "JSON lines (the only output; = both)" if daemon == "logferry" else ("JSON" if fmt == "json" else "plain")
        rate = g.m("msgs_per_s")
        ratio = "-" if daemon == "logferry" or not rate or not lf else "%.2f×" % (lf / rate)
        cpu = g.detail("cpu_s") or fmt_num(g.m("cpu_s"))
        rss = g.detail("rss_mib") or fmt_num(g.m("rss_mib"))
        lost = sum(r.get("lost", 0) for r in g.ok)
        runs_note = "" if not g.errors else " (%d failed)" % len(g.errors)
        out.append(
            "| %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                daemon,
                output,
                fmt_num(rate),
                runs_note,
                g.s("msgs_per_s"),
                fmt_num(g.m("mb_per_s")),
                "{:,}".format(lost),
                cpu,
                fmt_num(g.m("cpu_us_per_msg")),
                rss,
                ratio,
            )
        )
    out.append("")


def latency_table(runs, out):
    groups = groups_of(runs, "latency")
    if not groups:
        return
    out.append("#### " + TITLES["latency"])
    out.append("")
    out.append(
        "| daemon | offered msg/s | p50 ms (median) | p99 ms (median) | p99 spread | max ms | lost | CPU s | peak RSS MiB "
        "| journal append → ack, p99 ≤ ms |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for (daemon, fmt), g in sorted(groups.items(), key=lambda kv: (kv[0][0] != "logferry", kv[0])):
        out.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                daemon,
                fmt_num(g.m("rate")),
                fmt_num(g.m("p50_ms")),
                fmt_num(g.m("p99_ms")),
                g.s("p99_ms"),
                fmt_num(g.m("max_ms")),
                "{:,}".format(sum(r.get("lost", 0) for r in g.ok)),
                g.detail("cpu_s") or fmt_num(g.m("cpu_s")),
                g.detail("rss_mib") or fmt_num(g.m("rss_mib")),
                fmt_num(g.m("ack_p99_le_ms")) if g.m("ack_p99_le_ms") is not None else "-",
            )
        )
    out.append("")
    out.append(
        "The last column is logferry's own measure of the target (edge `/metrics`, "
        "`logferry_destination_ack_latency_seconds`: per batch, from the journal append of its oldest event to the "
        "central's ack, which the central sends once its journal made the batch durable): the histogram bucket bound "
        "that holds 99% of the batches. The p50/p99 columns are the whole path to the central's store file, an upper "
        "bound that includes the store write."
    )
    out.append("")


def crash_table(runs, out):
    groups = groups_of(runs, "crash")
    if not groups:
        return
    out.append("#### " + TITLES["crash"])
    out.append("")
    out.append(
        "Each run sends BENCH_CRASH_N numbered messages (loggen's `seq:`) at BENCH_CRASH_RATE into the edge and kills the "
        "central BENCH_CRASH_KILLS times with SIGKILL, restarting it 1 s later; the peers' edges retry after 1 s "
        "(syslog-ng `time-reopen(1)`, rsyslog `action.resumeInterval=\"1\"`). lost = sent − distinct numbers in the "
        "store; duplicated = lines − distinct numbers. Totals over all runs."
    )
    out.append("")
    out.append("| daemon | runs | kills | sent | stored lines | lost | duplicated | runs with loss or duplicates |")
    out.append("|---|---|---|---|---|---|---|---|")
    for (daemon, fmt), g in sorted(groups.items(), key=lambda kv: (kv[0][0] != "logferry", kv[0])):
        bad = sum(1 for r in g.ok if r.get("lost", 0) or r.get("duplicated", 0))
        out.append(
            "| %s | %d | %s | %s | %s | %s | %s | %d of %d |"
            % (
                daemon,
                len(g.ok),
                "{:,}".format(sum(r.get("kills", 0) for r in g.ok)),
                "{:,}".format(sum(r.get("sent", 0) for r in g.ok)),
                "{:,}".format(sum(r.get("stored", 0) for r in g.ok)),
                "{:,}".format(sum(r.get("lost", 0) for r in g.ok)),
                "{:,}".format(sum(r.get("duplicated", 0) for r in g.ok)),
                bad,
                len(g.ok),
            )
        )
    out.append("")


def verdict(ok):
    return "met" if ok else "**missed**"


def targets(runs, out):
    lines = []

    def faster_peer(groups):
        best = {}
        for fmt in ("plain", "json"):
            cands = [(rate_of(groups, p, fmt), p) for p in ("syslog-ng", "rsyslog") if (p, fmt) in groups]
            cands = [c for c in cands if c[0]]
            if cands:
                best[fmt] = max(cands)
        return best

    for wl, label, goal in (
        ("dgram100", "unix-dgram ingest, 100 B", 1.5),
        ("dgram500", "unix-dgram ingest, 500 B", 1.5),
        ("stream", "unix-stream ingest", 1.5),
        ("file", "file tail", 1.5),
        ("forward", "acked forwarding, journal fsync on (group commit, default interval)", 1.5),
    ):
        groups = groups_of(runs, wl)
        lf = rate_of(groups, "logferry", "plain")
        if not lf:
            continue
        for fmt, (rate, peer) in sorted(faster_peer(groups).items()):
            ratio = lf / rate
            lines.append(
                "| %s vs the faster peer (%s output: %s) | ≥ %.1f× | %.2f× | %s%s |"
                % (
                    label,
                    fmt,
                    peer,
                    goal,
                    ratio,
                    verdict(ratio >= goal),
                    "" if ratio >= goal else " (reaches %.0f%% of the target)" % (100 * ratio / goal),
                )
            )
    lat = groups_of(runs, "latency").get(("logferry", "plain"))
    if lat and lat.ok:
        p99 = lat.m("p99_ms")
        lines.append(
            "| p99 send → central store (an upper bound of journal-append → central-ack), %s msg/s | < 50 ms | %s ms | %s |"
            % (fmt_num(lat.m("rate")), fmt_num(p99), verdict(p99 is not None and p99 < 50))
        )
        ack = lat.m("ack_p99_le_ms")
        if ack is not None:
            lines.append(
                "| p99 journal-append → central-ack (edge /metrics histogram; bucket bound), %s msg/s | < 50 ms | ≤ %s ms "
                "| %s |" % (fmt_num(lat.m("rate")), fmt_num(ack), verdict(ack <= 50))
            )
    crash = groups_of(runs, "crash")
    lfc = crash.get(("logferry", "plain"))
    if lfc and lfc.ok:
        bad = sum(r.get("lost", 0) + r.get("duplicated", 0) for r in lfc.ok)
        peers = ", ".join(
            "%s lost %s, duplicated %s"
            % (d, "{:,}".format(sum(r.get("lost", 0) for r in g.ok)), "{:,}".format(sum(r.get("duplicated", 0) for r in g.ok)))
            for (d, f), g in sorted(crash.items())
            if d != "logferry" and g.ok
        )
        lines.append(
            "| forwarding with the central killed (SIGKILL) mid-stream: 0 lost, 0 duplicated (%d runs; %s) | 0 / 0 | "
            "%s lost, %s duplicated | %s |"
            % (
                len(lfc.ok),
                peers or "no peer runs",
                "{:,}".format(sum(r.get("lost", 0) for r in lfc.ok)),
                "{:,}".format(sum(r.get("duplicated", 0) for r in lfc.ok)),
                verdict(bad == 0),
            )
        )
    for wl in ("dgram100", "dgram500", "stream", "file", "forward"):
        groups = groups_of(runs, wl)
        lfg, rsg = groups.get(("logferry", "plain")), [groups.get(("rsyslog", f)) for f in ("plain", "json")]
        if not lfg or not lfg.ok:
            continue
        lf = lfg.m("cpu_us_per_msg")
        for fmt, g in zip(("plain", "json"), rsg):
            if g and g.ok and lf:
                rs = g.m("cpu_us_per_msg")
                lines.append(
                    "| CPU per message, %s (rsyslog %s output) | ≤ %s µs | %s µs (%.2f× rsyslog's) | %s |"
                    % (wl, fmt, fmt_num(rs), fmt_num(lf), lf / rs, verdict(lf <= rs))
                )
    g = groups_of(runs, "rss50k").get(("logferry", "plain"))
    if g and g.ok:
        rss = g.m("rss_mib")
        lines.append(
            "| peak RSS at 50,000 msg/s offered (largest of edge and central; %s) | < 64 MiB | %s MiB | %s |"
            % (g.detail("rss_mib") or "", fmt_num(rss), verdict(rss < 64))
        )
    if lines:
        out.append("#### Targets (issue #7), from the medians above")
        out.append("")
        out.append("| target | goal | logferry | |")
        out.append("|---|---|---|---|")
        out.extend(lines)
        out.append("")


def render(path):
    runs, metas, ends = load(path)
    out = []
    if metas:
        m = metas[0]
        out.append(
            "Run of %s on %s (%d cores, %.0f GiB, Linux %s, net.unix.max_dgram_qlen %s); work directories under %s. "
            "Load average %s at the start, %s at the end; the run took %s s."
            % (
                m["date"],
                m["cpu"],
                m["cores"],
                m["mem_gib"],
                m["kernel"],
                m.get("max_dgram_qlen", "?"),
                m["tmp"],
                m["loadavg"],
                ends[-1]["loadavg"] if ends else "?",
                ends[-1]["seconds"] if ends else "?",
            )
        )
        out.append("")
        if "logferry" in m:
            out.append("- logferry: `%s` (%s)" % (m["logferry"], m["logferry_bin"]))
        if "syslog-ng" in m:
            out.append("- syslog-ng: %s (Debian package; load generator: its loggen)" % m["syslog-ng"])
        if "rsyslog" in m:
            out.append("- rsyslog: %s (Debian packages unpacked with dpkg -x, not installed)" % m["rsyslog"])
        params = " ".join("%s=%s" % kv for kv in sorted(m.get("params", {}).items()))
        out.append("- parameters: %s" % (params or "defaults"))
        out.append("")
    for wl in ("dgram100", "dgram500", "stream", "file", "forward"):
        throughput_table(runs, wl, out)
    latency_table(runs, out)
    throughput_table(runs, "rss50k", out)
    crash_table(runs, out)
    targets(runs, out)
    errors = [r for r in runs if "error" in r]
    if errors:
        out.append("Failed runs (not in the medians):")
        out.append("")
        for r in errors:
            out.append("- %s %s %s run %d: %s" % (r["workload"], r["daemon"], r["format"], r["run"], r["error"]))
        out.append("")
    return "\n".join(out)


def main():
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != "--doc"):
        sys.exit(__doc__)
    text = render(sys.argv[1])
    if len(sys.argv) == 2:
        print(text)
        return
    with open(sys.argv[3]) as f:
        doc = f.read()
    section = BEGIN + "\n" + text + "\n" + END
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + section + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + section + "\n"
    with open(sys.argv[3], "w") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
