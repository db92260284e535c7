#!/usr/bin/env python3
"""A logferry protocol v1 *receiver* that acknowledges slowly, written from docs/PROTOCOL.md with `websockets`.

Used by Tests/IntegrationTests/TransportFaultTests.swift to watch the real logferry sender's window from the
other side of the wire (the binary offers no way to slow its own receiver down):

1. On the first connection it acknowledges nothing until `--window` batches are unacknowledged, then holds for
   `--hold` more seconds (a sender that ignored its window would send more during that time), then acknowledges.
   A cap (`--hold-cap`) ends the hold if the sender never fills the window.
2. After that every ack waits `--ack-delay` seconds: a slow, but working, receiver.
3. It keeps reading while it holds acks (no TCP back-pressure), so what it counts is what the sender chose to
   send: the most batches ever unacknowledged on one connection (`max_in_flight`) and how many batches arrived
   before the first ack (`before_first_ack`).

It stores each event once by document ID (`<origin>-<oseq>`), appending `{"_id":..,"message":..}` to
`OUT/stored.jsonl`, answers `welcome.committed` per stream, and checks the sender's side of the protocol (batch
numbers and seqs increase on a connection). After every ack it rewrites `OUT/stats.json` atomically. Runs until
SIGTERM.
"""
import argparse
import asyncio
import json
import os
import signal
import time
from http import HTTPStatus

import websockets
from websockets.asyncio.server import serve

SUBPROTOCOL = "logferry.v1"


class State:
    def __init__(self, out):
        self.out = out
        self.stored = set()
        self.committed = {}  # stream -> highest seq stored
        self.stats = {
            "connections": 0, "refused": 0, "batches": 0, "events": 0, "stored": 0, "duplicates": 0, "acks": 0,
            "before_first_ack": None, "max_in_flight": 0, "protocol_errors": [],
        }
        self.store = open(os.path.join(out, "stored.jsonl"), "a", encoding="utf-8")
        self.first_connection_done = False

    def write_stats(self):
        tmp = os.path.join(self.out, "stats.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.stats, f)
        os.replace(tmp, os.path.join(self.out, "stats.json"))

    def protocol_error(self, what):
        if len(self.stats["protocol_errors"]) < 20:
            self.stats["protocol_errors"].append(what)
        self.write_stats()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--window", type=int, default=8)
    ap.add_argument("--hold", type=float, default=2.0)
    ap.add_argument("--hold-cap", type=float, default=30.0)
    ap.add_argument("--ack-delay", type=float, default=0.05)
    args = ap.parse_args()
    state = State(args.out)
    state.write_stats()

    def authorize(connection, request):
        if request.headers.get("Authorization") != f"Bearer {args.token}":
            state.stats["refused"] += 1
            state.write_stats()
            return connection.respond(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token\n")
        return None

    async def handler(ws):
        state.stats["connections"] += 1
        holding = not state.first_connection_done
        state.first_connection_done = True
        if ws.subprotocol != SUBPROTOCOL:
            state.protocol_error(f"subprotocol {ws.subprotocol!r}")
            await ws.close(1002)
            return
        hello = json.loads(await ws.recv())
        if hello.get("type") != "hello" or hello.get("version") != 1:
            state.protocol_error(f"first message {hello}")
            await ws.close(1002)
            return
        stream = hello["stream"]
        await ws.send(json.dumps({"type": "welcome", "version": 1, "committed": state.committed.get(stream, 0),
                                  "max_message_bytes": 4 * 1024 * 1024, "max_batch_events": 10000}))
        pending = asyncio.Queue()
        counts = {"received": 0, "acked": 0}
        window_full = asyncio.Event()
        last = {"batch": 0, "seq": 0}

        async def reader():
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("type") != "batch":
                    state.protocol_error(f"unexpected message type {msg.get('type')!r}")
                    continue
                if msg["batch"] <= last["batch"]:
                    state.protocol_error(f"batch {msg['batch']} after {last['batch']}")
                for e in msg["events"]:
                    if e["seq"] <= last["seq"]:
                        state.protocol_error(f"seq {e['seq']} after {last['seq']}")
                    last["seq"] = e["seq"]
                last["batch"] = msg["batch"]
                counts["received"] += 1
                state.stats["batches"] += 1
                in_flight = counts["received"] - counts["acked"]
                state.stats["max_in_flight"] = max(state.stats["max_in_flight"], in_flight)
                if in_flight >= args.window:
                    window_full.set()
                await pending.put(msg)

        async def acker():
            if holding:
                try:
                    await asyncio.wait_for(window_full.wait(), args.hold_cap)
                except asyncio.TimeoutError:
                    pass
                await asyncio.sleep(args.hold)
            while True:
                msg = await pending.get()
                if not holding or state.stats["before_first_ack"] is not None:
                    await asyncio.sleep(args.ack_delay)
                ids = []
                for e in msg["events"]:
                    doc_id = f"{e['origin']}-{e['oseq']}"
                    ids.append(doc_id)
                    state.stats["events"] += 1
                    if doc_id in state.stored:
                        state.stats["duplicates"] += 1
                        continue
                    state.stored.add(doc_id)
                    state.stats["stored"] += 1
                    state.store.write(json.dumps({"_id": doc_id, "message": e["doc"].get("message")}) + "\n")
                state.store.flush()
                through = msg["events"][-1]["seq"]
                state.committed[stream] = max(state.committed.get(stream, 0), through)
                if state.stats["before_first_ack"] is None:
                    state.stats["before_first_ack"] = counts["received"]
                counts["acked"] += 1
                state.stats["acks"] += 1
                state.write_stats()
                await ws.send(json.dumps({"type": "ack", "batch": msg["batch"], "through": through, "ids": ids}))

        tasks = [asyncio.create_task(reader()), asyncio.create_task(acker())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except websockets.ConnectionClosed:
            pass
        finally:
            for t in tasks:
                t.cancel()
            state.write_stats()

    async def run():
        stop = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
        async with serve(handler, "127.0.0.1", args.port, subprotocols=[SUBPROTOCOL], process_request=authorize,
                         max_size=8 * 1024 * 1024, compression=None, ping_interval=None):
            print(f"listening on 127.0.0.1:{args.port} at {time.time():.3f}", flush=True)
            await stop

    asyncio.run(run())


if __name__ == "__main__":
    main()
