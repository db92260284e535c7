#!/usr/bin/env bash
# Unpacks Debian's rsyslog (and the libraries it needs that are not installed) under a private root, without
# installing it: the rsyslog package conflicts with syslog-ng-core, which the benchmarks use. The tests
# (Tests/LogferryFormatTests/RsyslogCaptureTests.swift) run ROOT/usr/sbin/rsyslogd with `-M ROOT/usr/lib/<arch>/rsyslog`
# and LD_LIBRARY_PATH=ROOT/usr/lib/<arch>. Idempotent: does nothing when the unpacked rsyslogd is complete.
#
# Usage: .ci/unpack-rsyslog.sh [CACHE]   (default $LOGFERRY_RSYSLOG_CACHE or /var/tmp/logferry-rsyslog)
# Prints the root (CACHE/root) on stdout; the tests find it there, or through LOGFERRY_RSYSLOG_ROOT.
set -euo pipefail
CACHE=${1:-${LOGFERRY_RSYSLOG_CACHE:-/var/tmp/logferry-rsyslog}}
ROOT=$CACHE/root

# What the unpacked rsyslogd and the modules the tests load still cannot find.
missing() {
    local libdir
    libdir=$(dirname "$(ls -d "$ROOT"/usr/lib/*/rsyslog 2>/dev/null | head -1)")
    [[ -x $ROOT/usr/sbin/rsyslogd && -d $libdir/rsyslog ]] || { echo "rsyslogd"; return; }
    LD_LIBRARY_PATH=$libdir ldd "$ROOT/usr/sbin/rsyslogd" "$libdir"/rsyslog/{imuxsock,imptcp,lmnet,lmnetstrms,lmnsd_ptcp,lmtcpclt}.so |
        awk '/not found/ {print $1}' | sort -u
}

if [[ -n "$(missing)" ]]; then
    [[ -n "$(find /var/lib/apt/lists -name '*Packages*' -newermt '-7 days' 2>/dev/null | head -1)" ]] || apt-get update -qq
    mkdir -p "$CACHE/debs" "$ROOT"
    chmod 777 "$CACHE/debs" # apt-get download drops privileges to _apt
    # rsyslog's Depends, less those already installed (libc6 always is).
    pkgs=(rsyslog)
    for dep in $(apt-cache depends rsyslog | awk '$1 == "Depends:" && $2 !~ /^</ {print $2}' | sort -u); do
        dpkg -s "$dep" >/dev/null 2>&1 || pkgs+=("$dep")
    done
    (cd "$CACHE/debs" && apt-get download -qq "${pkgs[@]}")
    for deb in "$CACHE"/debs/*.deb; do dpkg -x "$deb" "$ROOT"; done
    still=$(missing)
    if [[ -n $still ]]; then
        echo "unpack-rsyslog: the unpacked rsyslog still needs: $still" >&2
        exit 1
    fi
fi
echo "$ROOT"
