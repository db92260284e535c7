#!/usr/bin/env python3
"""A logferry protocol v1 sender written from docs/PROTOCOL.md alone, with the `websockets` package.

Used by Tests/IntegrationTests/PythonSenderTests.swift against the real `logferry` binary as a receiver.
It plays an edge whose journal holds `--count` events (seq 1..count, origin = this node) plus a few events it
"relays" for another node (their origin and oseq kept), and checks what the doc promises:

1. wrong token: refused at the handshake with 401;
2. hello -> welcome (committed 0 for a new stream); pipelined batches, each ack names its batch, `through` is
   the batch's last seq, one id per event, ids are `<origin hex>-<oseq>`;
3. reconnect under the same stream: welcome.committed is where the first connection ended; the last batch is
   resent on purpose and acknowledged with the same ids (the receiver stores it only once); then the rest;
4. a malformed message on another connection: `error` with code `malformed`, then close 1002;
   a binary frame: close 1003.

Prints one line per step; exit 0 when every check passed, 1 (with the reason) otherwise.
"""
import argparse
import asyncio
import json
import sys

import websockets

SUBPROTOCOL = "logferry.v1"
NODE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"  # this "edge"'s identity: 32 lowercase hex digits
OTHER = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # a node whose events we forward as a relay would


class CheckFailed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def connect(url, token):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return websockets.connect(
        url, subprotocols=[SUBPROTOCOL], additional_headers=headers, max_size=4 * 1024 * 1024,
        compression=None, open_timeout=10, close_timeout=5)


async def recv_json(ws, timeout=15):
    raw = await asyncio.wait_for(ws.recv(), timeout)
    check(isinstance(raw, str), f"expected a text message, got {type(raw).__name__}")
    msg = json.loads(raw)
    check(isinstance(msg, dict) and "type" in msg, f"not a protocol message: {raw[:200]}")
    return msg


async def hello(ws, stream):
    check(ws.subprotocol == SUBPROTOCOL, f"receiver chose subprotocol {ws.subprotocol!r}")
    await ws.send(json.dumps({"type": "hello", "version": 1, "stream": stream, "node": "py-edge"}))
    welcome = await recv_json(ws)
    check(welcome["type"] == "welcome", f"expected welcome, got {welcome}")
    check(welcome["version"] == 1, f"welcome version {welcome['version']}")
    check(isinstance(welcome["committed"], int), f"welcome.committed {welcome['committed']!r}")
    return welcome


def journal(count, prefix):
    """(seq, origin, oseq, doc): our own events, and every 10th one relayed from OTHER."""
    out = []
    for seq in range(1, count + 1):
        if seq % 10 == 0:
            origin, oseq = OTHER, 1000 + seq
        else:
            origin, oseq = NODE, seq
        doc = {"@timestamp": "2026-11-21T12:00:00.000Z", "host": "py-host", "program": "pysender",
               "message": f"{prefix}-{seq:06d}", "n": seq, "fields": {"ratio": 0.5, "ok": True}}
        out.append((seq, origin, oseq, doc))
    return out


async def send_batches(ws, events, limit, window, first_number=1):
    """Sends `events` in batches of `limit`, up to `window` unacknowledged; checks every ack. Returns the ids."""
    chunks = [events[i:i + limit] for i in range(0, len(events), limit)]
    in_flight = []  # (number, chunk), oldest first
    ids = []
    number = first_number

    async def take_ack():
        n, chunk = in_flight.pop(0)
        reply = await recv_json(ws)
        if reply["type"] == "error":
            raise CheckFailed(f"receiver error {reply['code']}: {reply['message']}")
        check(reply["type"] == "ack", f"expected ack, got {reply}")
        check(reply["batch"] == n, f"ack for batch {reply['batch']}, oldest in flight is {n}")
        check(reply["through"] == chunk[-1][0], f"ack through {reply['through']}, batch ends at {chunk[-1][0]}")
        expected = [f"{origin}-{oseq}" for (_, origin, oseq, _) in chunk]
        check(reply["ids"] == expected, f"batch {n}: ids {reply['ids'][:3]}... expected {expected[:3]}...")
        ids.extend(reply["ids"])

    for chunk in chunks:
        if len(in_flight) >= window:
            await take_ack()
        await ws.send(json.dumps({"type": "batch", "batch": number, "events": [
            {"seq": seq, "origin": origin, "oseq": oseq, "doc": doc} for (seq, origin, oseq, doc) in chunk]}))
        in_flight.append((number, chunk))
        number += 1
    while in_flight:
        await take_ack()
    return ids, number


async def expect_close(ws, want_code, want_error=None):
    """Reads until the receiver closes; checks the `error` message (if asked) and the close code."""
    error = None
    try:
        while True:
            msg = await recv_json(ws)
            if msg["type"] == "error":
                error = msg
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd is not None else None
        reason = closed.rcvd.reason if closed.rcvd is not None else ""
        check(code == want_code, f"close code {code} ({reason!r}), expected {want_code}")
        if want_error is not None:
            check(error is not None and error["code"] == want_error,
                  f"expected error {want_error!r} before the close, got {error}")
        return code, reason, error


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--count", type=int, default=2500)
    ap.add_argument("--prefix", default="py")
    args = ap.parse_args()
    stream = f"{NODE}/python"
    events = journal(args.count, args.prefix)
    split = args.count * 3 // 5

    # 1. A wrong token is refused at the handshake.
    try:
        async with connect(args.url, "not-the-token"):
            raise CheckFailed("a wrong token was accepted")
    except websockets.InvalidStatus as refused:
        check(refused.response.status_code == 401, f"wrong token answered {refused.response.status_code}")
    print("wrong token: 401", flush=True)

    # 2. First connection: the first part of the journal, pipelined.
    async with connect(args.url, args.token) as ws:
        welcome = await hello(ws, stream)
        check(welcome["committed"] == 0, f"new stream, but committed {welcome['committed']}")
        limit = min(400, welcome.get("max_batch_events", 400))
        ids, _ = await send_batches(ws, events[:split], limit, window=4)
        check(len(set(ids)) == split, "ids of distinct events are not distinct")
        await ws.close(1000)
    print(f"connection 1: {split} events acknowledged", flush=True)

    # 3. Reconnect: the receiver says where we are; resend the last batch anyway (dedup), then the rest.
    async with connect(args.url, args.token) as ws:
        welcome = await hello(ws, stream)
        check(welcome["committed"] == split, f"welcome.committed {welcome['committed']}, expected {split}")
        resend = events[split - 300:split]
        again, number = await send_batches(ws, resend, 300, window=1)
        check(again == [f"{o}-{s}" for (_, o, s, _) in resend], "a resent batch got different ids")
        rest, _ = await send_batches(ws, events[split:], 500, window=8, first_number=number)
        check(len(rest) == args.count - split, "not every remaining event was acknowledged")
        await ws.close(1000)
    print(f"connection 2: resent 300 (deduplicated), then {args.count - split} more acknowledged", flush=True)

    # 4. Misbehaving peers are closed with the documented codes.
    async with connect(args.url, args.token) as ws:
        await hello(ws, f"{NODE}/python-bad")
        await ws.send('{"type":"batch","batch":1,"events":[{"seq":1,"origin":"zz","oseq":1,"doc":{}}]}')
        code, reason, error = await expect_close(ws, 1002, "malformed")
    print(f"malformed batch: error {error['code']}, close {code} ({reason})", flush=True)
    async with connect(args.url, args.token) as ws:
        await ws.send("this is not json")
        code, reason, _ = await expect_close(ws, 1002, "malformed")
    print(f"not json: close {code} ({reason})", flush=True)
    async with connect(args.url, args.token) as ws:
        await hello(ws, f"{NODE}/python-binary")
        await ws.send(b"\x00\x01binary junk")
        code, reason, _ = await expect_close(ws, 1003)
    print(f"binary frame: close {code} ({reason})", flush=True)

    # 5. The receiver still serves a good sender afterwards: the stream is complete.
    async with connect(args.url, args.token) as ws:
        welcome = await hello(ws, stream)
        check(welcome["committed"] == args.count, f"after all: committed {welcome['committed']}")
        await ws.close(1000)
    print("ok", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except CheckFailed as failure:
        print(f"FAILED: {failure}", flush=True)
        sys.exit(1)
