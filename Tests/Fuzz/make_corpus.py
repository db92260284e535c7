#!/usr/bin/env python3
"""Writes the seed corpus of the parsers' fuzz target (see FuzzHarness.swift and docs/PARSING.md, "Fuzzing").

Each file is: mode byte, variant byte, then the input. Mode: 0 parse, 1 frames, 2 pattern NUL message, 3 filter,
4 JSON body, 5 journal document. For parse the variant's low bits pick the format (0 auto, 1 rfc3164, 2 rfc5424,
3 json, 4 raw), bits 3-5 the template (0 none, 1 nginx preset, 2 supervisor preset, 3 kv+json body, 4 pattern+
regex+typed fields, 5 everything), bits 6-7 the size limit (0 64 KiB, 1 tiny, 2 none, 3 1 KiB).
Re-run after editing; crash reproducers found by bench/fuzz.sh are added by hand as crash-*.
"""
import os

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def parse(fmt, template=0, limit=0):
    return bytes([0, fmt | (template << 3) | (limit << 6)])

AUTO, B3164, I5424, JSON, RAW = range(5)
seeds = {
    "5424-full": parse(I5424, 4) + b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] \xef\xbb\xbfAn application event log entry',
    "5424-nil": parse(AUTO) + b"<34>1 - - - - - -",
    "5424-sd-escapes": parse(I5424, 5) + b'<14>1 2026-11-21T12:00:00.123456+01:00 h app 42 - [a@1 k="q\\"uo\\]te\\\\" k2=""] msg',
    "5424-bad-sd": parse(I5424) + b'<14>1 2026-11-21T12:00:00Z h app 42 - [a@1 k="unterminated msg',
    "3164-logger": parse(AUTO, 4) + b"<13>Nov 21 12:00:00 web-01 alice: status=200 bytes=512 ok=true",
    "3164-nohost": parse(B3164) + b"<30>Nov  1 03:04:05 systemd[1]: Started Session 5 of user root.",
    "3164-iso": parse(B3164, 4) + b"<13>2026-11-21T12:00:00.123+01:00 web-01 app[7]: hi",
    "3164-cisco": parse(AUTO) + b"<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by vty0 (10.1.1.1)",
    "3164-fail2ban": parse(AUTO, 4) + b"<38>2017-06-14 17:16:12,329 fail2ban.actions [1112]: NOTICE [sshd] Ban 59.45.175.88",
    "3164-nopri": parse(B3164) + b"Dec 31 23:59:59 host prog: year end",
    "3164-feb29": parse(B3164) + b"<13>Feb 29 00:00:00 h p: leap",
    "nginx-combined": parse(AUTO, 1) + b'<190>Nov 21 12:00:00 web nginx: 10.0.0.1 - bob [21/Nov/2026:12:00:00 +0100] "GET /a?b=c HTTP/1.1" 404 153 "-" "curl/8.0"',
    "nginx-error": parse(AUTO, 1) + b'<187>Nov 21 12:00:00 web nginx: 2026/11/21 12:00:00 [error] 123#123: *45 open() "/x" failed (2: No such file or directory), client: 10.0.0.1, server: _, request: "GET /x HTTP/1.1", host: "h"',
    "nginx-json-hex": parse(AUTO, 5) + b'<190>Nov 21 12:00:00 web nginx: {"status":"200","request_time":"0.005","body_bytes_sent":"12","request":"GET /\\x22q\\x5C HTTP/1.1","ua":"\\xE2\\x82\\xAC"}',
    "nginx-json-badhex": parse(JSON, 5) + b'{"request":"\\xZZ \\x0","status":200}',
    "supervisor-own": parse(AUTO, 2) + b"2026-11-21 12:00:00,123 INFO spawned: 'web' with pid 42",
    "supervisor-child": parse(RAW, 2) + b"Traceback (most recent call last):",
    "json-structured": parse(JSON, 3) + b'{"message":"m","level":"warn","@timestamp":"2026-11-21T12:00:00Z","pid":7,"facility":3,"n":[1,{"a":null}],"d":1.5e300}',
    "json-deep": parse(JSON) + b"{\"a\":" * 70 + b"1" + b"}" * 70,
    "json-dupkeys": parse(AUTO, 3) + b'{"message":"a","message":"b","fields":1,"x":1,"x":2}',
    "json-surrogates": parse(JSON) + b'{"m":"\\ud83d\\ude00 \\ud800 \\udc00 \\u0000"}',
    "json-numbers": parse(JSON, 4) + b'{"a":-0,"b":1e400,"c":-1e-400,"d":123456789012345678901234567890,"e":0.1}',
    "pri-bad": parse(AUTO) + b"<999>Nov 21 12:00:00 h p: m",
    "pri-unclosed": parse(I5424) + b"<13",
    "pri-zeros": parse(AUTO) + b"<0013>1 - - - - - -",
    "pri-only": parse(B3164) + b"<13>",
    "html": parse(AUTO) + b"<html><body>not syslog</body></html>",
    "nuls": parse(AUTO) + b"<13>Nov 21 12:00:00 h p: a\x00b\x00\x00\n\x00",
    "invalid-utf8": parse(AUTO, 4, 1) + b"<13>Nov 21 12:00:00 h\xff p\xc3: \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 ok",
    "truncate-boundary": parse(RAW, 0, 1) + "ééééééééééééééééé€€€€€😀😀😀".encode(),
    "u2028": parse(AUTO, 4) + "<13>Nov 21 12:00:00 h p: line\u2028sep\u2029 \"q\" \\ \t".encode(),
    "kv-quoted": parse(AUTO, 3) + b'<13>Nov 21 12:00:00 h p: a=1 b="two words" c=\'x\' d= =e f="unterminated',
    "big-70k": parse(AUTO, 0, 0) + b"<13>Nov 21 12:00:00 h p: " + b"x" * (70 * 1024),
    "big-70k-utf8": parse(RAW, 3, 2) + "€".encode() * 24000,
    # Framing: variant low bits 0 none, 1 lines, 2 octet-counted; bit 7 with bits 2-6: a small frame limit.
    "frames-octet": bytes([1, 2]) + b"56 <13>1 2026-11-21T12:00:00Z h app - - - first message\n22 <13>Nov 21 1:0:0 h p:x",
    "frames-octet-bad": bytes([1, 2]) + b"12345678901 x\n0 \n9 short\n3 abcde",
    "frames-octet-small-limit": bytes([1, 0x82 | (3 << 2)]) + b"20 aaaaaaaaaaaaaaaaaaaa5 bbbbbline\r\n",
    "frames-lines": bytes([1, 1]) + b"<13>Nov 21 12:00:00 h p: one\r\n\r\n\n<14>two\n{\"message\":\"three\"}\nlast",
    "frames-none": bytes([1, 0]) + b"<13>1 - - - - - - whole\nstream",
    # Pattern NUL message.
    "pattern-fail2ban": bytes([2, 4 | 1]) + b"$date $hour _ \\[$process\\] _ $ip\x002017-06-14 17:16:12,329 fail2ban.actions [1112]: NOTICE [sshd] Ban 59.45.175.88",
    "pattern-errors": bytes([2, 4]) + b"$a$b \\ $ $_ _ x\x00m",
    "pattern-macros": bytes([2, 8]) + b"/var/log/${HOST}/${PROGRAM}/${fields.a}-${YEAR}${MONTH}${DAY}${HOUR}.log $$ ${\x00<13>Nov 21 12:00:00 ../.. ..: a=/etc/passwd",
    # Filters.
    "filter-full": bytes([3, 1]) + b'severity <= "warning" and (program == "nginx" or fields.status >= 500) and not exists(fields.skip) or host in ["a", \'b\', null, 3, 1.5e3, true] and message =~ "^GET \\\\d+" and x !~ "y"',
    "filter-deep": bytes([3, 0]) + b"(" * 70 + b"a == 1" + b")" * 70,
    "filter-bad": bytes([3, 0]) + b'severity <= "nonsense" and == "\\',
    # JSON bodies.
    "json-hex": bytes([4, 1]) + b'{"a":"\\x41\\xe2\\x82\\xac\\xff","b":[1,2.5,-3e2,true,null,{}],"c":"\\u00e9"}',
    "json-scalar": bytes([4, 2]) + b"  123.0e-2  ",
    # Journal documents for selectors.
    "document": bytes([5, 0]) + b'{"@timestamp":"2026-11-21T12:00:00Z","host":"h","program":"nginx","severity":"err","message":"m","source":"s","received_at":"x","fields":{"status":503,"t":1}}',
}

os.makedirs(here, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {here}")
