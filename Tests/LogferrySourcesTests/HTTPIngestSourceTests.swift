import Foundation
import LogferryCore
import LogferryTesting
import Logging
import Synchronization
import Testing

@testable import LogferrySources

/// The http source with real clients: `curl` and Python's `urllib.request`, on loopback. Its deliver closure
/// journals into an `InMemorySpool` (which assigns the sequences) and can hold `durable()` on a gate.
@Suite struct HTTPIngestSourceTests {
    static let curl = findTool("curl")
    static let python = findTool("python3")
    static let openssl = findTool("openssl")
    static let key = "s3cret-key"

    /// Opens once; every `wait()` before that waits.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        init(open: Bool) { state.withLock { $0.open = open } }
        func wait() async {
            await withCheckedContinuation { c in
                let ready = state.withLock { s in
                    if s.open { return true }
                    s.waiters.append(c)
                    return false
                }
                if ready { c.resume() }
            }
        }
        func open() {
            let waiters = state.withLock { s in
                s.open = true
                defer { s.waiters = [] }
                return s.waiters
            }
            for w in waiters { w.resume() }
        }
    }

    /// A running source, its spool and its durability gate.
    struct Running {
        let source: HTTPIngestSource
        let spool: InMemorySpool
        let gate: Gate
        let node: NodeIdentity
        let task: Task<Void, any Error>
        let port: Int
        let calls: Counter
        /// `deliver` calls that returned a delivery.
        var deliveries: Int { calls.value.load(ordering: .relaxed) }

        var base: String { "http\(source.config.usesTLS ? "s" : "")://127.0.0.1:\(port)" }

        func stop() async {
            gate.open()  // a request held on the gate would keep the server from finishing
            task.cancel()
            _ = try? await task.value
        }

        /// The journaled event texts, by sequence.
        func stored() async throws -> [UInt64: String] {
            let records = try await spool.read(after: 0, maxRecords: 1 << 20, maxBytes: 1 << 30)
            return Dictionary(
                uniqueKeysWithValues: records.map { ($0.seq, String(decoding: $0.payload, as: UTF8.self)) })
        }
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Runs `body` against a started source and stops the source however `body` ends.
    static func withSource(
        _ config: HTTPIngestConfiguration, gateOpen: Bool = true, _ body: (Running) async throws -> Void
    ) async throws {
        let r = try await start(config, gateOpen: gateOpen)
        do {
            try await body(r)
        } catch {
            await r.stop()
            throw error
        }
        await r.stop()
    }

    static func start(_ config: HTTPIngestConfiguration, gateOpen: Bool) async throws -> Running {
        let spool = InMemorySpool()
        let gate = Gate(open: gateOpen)
        let node = NodeIdentity.random()
        let calls = Counter()
        let source = HTTPIngestSource(
            config: config, node: node, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task {
            try await source.run { batch in
                let seqs = try await spool.append(batch.map(\.bytes))
                calls.value.add(1, ordering: .relaxed)
                return Delivery(sequences: seqs) { await gate.wait() }
            }
        }
        let port = try await source.boundPort()
        return Running(
            source: source, spool: spool, gate: gate, node: node, task: task, port: port, calls: calls)
    }

    static func config(
        tokens: [String] = [key], maxBody: Int = 10 << 20, maxMessage: Int = 64 * 1024, maxConnections: Int = 256,
        tlsCert: String? = nil, tlsKey: String? = nil
    ) -> HTTPIngestConfiguration {
        HTTPIngestConfiguration(
            name: "http-test", host: "127.0.0.1", port: 0, tokens: tokens, maxBodyBytes: maxBody,
            maxMessageBytes: maxMessage, maxConnections: maxConnections, tlsCertificateFile: tlsCert,
            tlsKeyFile: tlsKey)
    }

    /// Runs curl to its exit; the status code and the response body.
    static func curl(_ arguments: [String], dir: String) async throws -> (status: Int, body: String) {
        let tag = UUID().uuidString.prefix(8)
        let bodyFile = "\(dir)/resp-\(tag)"
        let (code, out) = try await runToExit(
            curl!, ["-sS", "-o", bodyFile, "-w", "%{http_code}"] + arguments, output: "\(dir)/curl-\(tag)",
            timeout: 30)
        #expect(code == 0, "curl failed: \(out)")
        return (Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, readText(bodyFile))
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    static func ids(_ text: String) -> [String] { json(text)["ids"] as? [String] ?? [] }

    func expectIDs(_ ids: [String], _ r: Running, seqs: ClosedRange<UInt64>) {
        #expect(ids == seqs.map { EventOrigin(node: r.node, seq: $0).documentID })
    }

    // MARK: curl

    @Test(.enabled(if: curl != nil || integrationRequired, "needs curl"))
    func curlObjectArrayAndNDJSONAreJournaledAndNamed() async throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await Self.withSource(Self.config()) { r in
            let url = r.base + "/events"
            let auth = ["-H", "X-Log-Key: \(Self.key)"]

            let one = try await Self.curl(
                auth + ["-H", "Content-Type: application/json", "--data-binary", #"{"msg":"one","n":1}"#, url], dir: dir
            )
            #expect(one.status == 200, "\(one.body)")
            expectIDs(Self.ids(one.body), r, seqs: 1...1)

            let array = try await Self.curl(
                [
                    "-H", "Authorization: Bearer \(Self.key)", "--data-binary",
                    #"[{"msg":"a"}, {"msg":"b"},{"msg":"c"}]"#,
                    url,
                ],
                dir: dir)
            #expect(array.status == 200, "\(array.body)")
            expectIDs(Self.ids(array.body), r, seqs: 2...4)

            let ndjsonFile = "\(dir)/events.ndjson"
            try "{\"msg\":\"l1\"}\n{\"msg\":\"l2\"}\r\n\n{\"msg\":\"l3\"}\n".write(
                toFile: ndjsonFile, atomically: false, encoding: .utf8)
            let nd = try await Self.curl(
                auth + ["-H", "Content-Type: application/x-ndjson", "--data-binary", "@\(ndjsonFile)", url], dir: dir)
            #expect(nd.status == 200, "\(nd.body)")
            expectIDs(Self.ids(nd.body), r, seqs: 5...7)

            // NDJSON without its content type (curl -d's form type): detected because it is not one JSON value.
            let sniffed = try await Self.curl(
                auth + ["--data-binary", "{\"msg\":\"s1\"}\n{\"msg\":\"s2\"}", url], dir: dir)
            #expect(sniffed.status == 200, "\(sniffed.body)")
            expectIDs(Self.ids(sniffed.body), r, seqs: 8...9)

            let stored = try await r.stored()
            #expect(stored[1] == #"{"msg":"one","n":1}"#)
            #expect([2, 3, 4].map { stored[$0] } == [#"{"msg":"a"}"#, #"{"msg":"b"}"#, #"{"msg":"c"}"#])
            #expect([5, 6, 7].map { stored[$0] } == [#"{"msg":"l1"}"#, #"{"msg":"l2"}"#, #"{"msg":"l3"}"#])
            #expect([8, 9].map { stored[$0] } == [#"{"msg":"s1"}"#, #"{"msg":"s2"}"#])
            #expect(stored.count == 9)
            #expect(r.source.counters.events.load(ordering: .relaxed) == 9)
            #expect(r.source.counters.accepted.load(ordering: .relaxed) == 4)
        }
    }

    @Test(.enabled(if: curl != nil || integrationRequired, "needs curl"))
    func rejectedRequestsJournalNothing() async throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await Self.withSource(Self.config(maxBody: 4096, maxMessage: 100)) { r in
            let url = r.base + "/events"
            let auth = ["-H", "X-Log-Key: \(Self.key)"]
            let body = ["--data-binary", #"{"msg":"x"}"#]

            let noKey = try await Self.curl(body + [url], dir: dir)
            #expect(noKey.status == 401)
            #expect((Self.json(noKey.body)["error"] as? String)?.contains("missing key") == true, "\(noKey.body)")
            let wrongKey = try await Self.curl(["-H", "X-Log-Key: nope"] + body + [url], dir: dir)
            #expect(wrongKey.status == 401)
            let wrongBearer = try await Self.curl(
                ["-H", "Authorization: Bearer \(Self.key)x"] + body + [url], dir: dir)
            #expect(wrongBearer.status == 401)
            #expect(!noKey.body.contains(Self.key) && !wrongBearer.body.contains(Self.key))

            let junk = try await Self.curl(auth + ["--data-binary", #"{"msg": nope}"#, url], dir: dir)
            #expect(junk.status == 400)
            #expect((Self.json(junk.body)["error"] as? String)?.contains("byte 8") == true, "\(junk.body)")
            let scalar = try await Self.curl(auth + ["--data-binary", #"[{"msg":"ok"}, 7]"#, url], dir: dir)
            #expect(scalar.status == 400)
            #expect(Self.json(scalar.body)["index"] as? Int == 1, "\(scalar.body)")
            let badLine = try await Self.curl(
                auth + [
                    "-H", "Content-Type: application/x-ndjson", "--data-binary", "{\"a\":1}\n{\"b\":2}\n{oops\n", url,
                ],
                dir: dir)
            #expect(badLine.status == 400)
            #expect((Self.json(badLine.body)["error"] as? String)?.contains("line 3") == true, "\(badLine.body)")

            let bigFile = "\(dir)/big.json"
            let big = "[" + Array(repeating: #"{"msg":"0123456789"}"#, count: 300).joined(separator: ",") + "]"
            try big.write(toFile: bigFile, atomically: false, encoding: .utf8)
            let tooLarge = try await Self.curl(auth + ["--data-binary", "@\(bigFile)", url], dir: dir)
            #expect(tooLarge.status == 413, "\(tooLarge.body)")
            // Chunked: no Content-Length to refuse early; the limit applies while reading.
            let chunked = try await Self.curl(
                auth + ["-H", "Transfer-Encoding: chunked", "--data-binary", "@\(bigFile)", url], dir: dir)
            #expect(chunked.status == 413, "\(chunked.body)")
            let bigEvent = #"[{"m":1},{"msg":""# + String(repeating: "x", count: 200) + #""}]"#
            let eventTooLarge = try await Self.curl(auth + ["--data-binary", bigEvent, url], dir: dir)
            #expect(eventTooLarge.status == 413)
            #expect(Self.json(eventTooLarge.body)["index"] as? Int == 1, "\(eventTooLarge.body)")

            let xml = try await Self.curl(auth + ["-H", "Content-Type: application/xml"] + body + [url], dir: dir)
            #expect(xml.status == 415)
            let get = try await Self.curl(auth + [url], dir: dir)
            #expect(get.status == 405)
            let health = try await Self.curl([r.base + "/health"], dir: dir)
            #expect(health.status == 200)

            #expect(await r.spool.lastSequence() == 0, "a rejected request was journaled")
            #expect(r.deliveries == 0)
            let c = r.source.counters
            #expect(c.rejectedUnauthorized.load(ordering: .relaxed) == 3)
            #expect(c.rejectedMalformed.load(ordering: .relaxed) == 3)
            #expect(c.rejectedTooLarge.load(ordering: .relaxed) == 3)
            #expect(c.rejectedMediaType.load(ordering: .relaxed) == 1)
            #expect(c.rejectedMethod.load(ordering: .relaxed) == 1)

            // The source still serves after all that.
            let fine = try await Self.curl(auth + body + [url], dir: dir)
            #expect(fine.status == 200)
            expectIDs(Self.ids(fine.body), r, seqs: 1...1)
        }
    }

    @Test(.enabled(if: curl != nil || integrationRequired, "needs curl"))
    func noAnswerBeforeTheBatchIsDurable() async throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await Self.withSource(Self.config(), gateOpen: false) { r in
            let out = "\(dir)/curl.out"
            let client = try spawnLogged(
                Self.curl!,
                [
                    "-sS", "-w", "\n%{http_code}", "-H", "X-Log-Key: \(Self.key)", "--data-binary",
                    #"[{"a":1},{"a":2}]"#,
                    r.base + "/events",
                ],
                output: out)
            defer { if client.isRunning { client.terminate() } }
            // Journaled, but `durable()` is held on the gate: the client must still be waiting for its answer.
            #expect(await eventually(timeout: 20) { r.deliveries == 1 })
            #expect(client.isRunning, "curl finished before durable(): \(readText(out))")
            #expect(readText(out).isEmpty)
            r.gate.open()
            #expect(await eventually(timeout: 20) { !client.isRunning })
            let lines = readText(out).split(separator: "\n")
            #expect(lines.last == "200", "\(readText(out))")
            expectIDs(Self.ids(String(lines.first ?? "")), r, seqs: 1...2)
        }
    }

    @Test(.enabled(if: curl != nil || integrationRequired, "needs curl"))
    func requestsBeyondMaxConnectionsAreTurnedAway() async throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await Self.withSource(Self.config(maxConnections: 1), gateOpen: false) { r in
            let out = "\(dir)/first.out"
            let first = try spawnLogged(
                Self.curl!,
                [
                    "-sS", "-w", "\n%{http_code}", "-H", "X-Log-Key: \(Self.key)", "--data-binary", #"{"a":1}"#,
                    r.base + "/events",
                ],
                output: out)
            defer { if first.isRunning { first.terminate() } }
            #expect(await eventually(timeout: 20) { r.deliveries == 1 })
            let second = try await Self.curl(
                ["-H", "X-Log-Key: \(Self.key)", "--data-binary", #"{"a":2}"#, r.base + "/events"], dir: dir)
            #expect(second.status == 503)
            #expect(r.source.counters.rejectedBusy.load(ordering: .relaxed) == 1)
            r.gate.open()
            #expect(await eventually(timeout: 20) { !first.isRunning })
            #expect(readText(out).hasSuffix("\n200"), "\(readText(out))")
            #expect(await r.spool.lastSequence() == 1)
        }
    }

    @Test(.enabled(if: (curl != nil && openssl != nil) || integrationRequired, "needs curl and openssl"))
    func servesHTTPS() async throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cert = "\(dir)/cert.pem"
        let key = "\(dir)/key.pem"
        let (code, out) = try await runToExit(
            Self.openssl!,
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out",
                cert, "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            output: "\(dir)/openssl.out", timeout: 60)
        try #require(code == 0, "\(out)")
        try await Self.withSource(Self.config(tlsCert: cert, tlsKey: key)) { r in
            let ok = try await Self.curl(
                [
                    "--cacert", cert, "-H", "X-Log-Key: \(Self.key)", "--data-binary", #"{"tls":true}"#,
                    r.base + "/events",
                ],
                dir: dir)
            #expect(ok.status == 200, "\(ok.body)")
            expectIDs(Self.ids(ok.body), r, seqs: 1...1)
            #expect(try await r.stored()[1] == #"{"tls":true}"#)
        }
    }

    struct JournalBroke: Error {}

    /// A source whose `deliver` is `deliver`; its task and port.
    static func startBare(_ config: HTTPIngestConfiguration, deliver: @escaping Deliver) async throws -> (
        HTTPIngestSource, Task<Void, any Error>, Int
    ) {
        let source = HTTPIngestSource(
            config: config, node: .random(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await source.run(deliver: deliver) }
        return (source, task, try await source.boundPort())
    }

    @Test(.enabled(if: curl != nil || integrationRequired, "needs curl"))
    func aDroppedBatchIsAnswered503() async throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // What the node's deliver returns under when_full: drop-newest: no sequences.
        let (source, task, port) = try await Self.startBare(Self.config()) { _ in .immediate }
        let r = try await Self.curl(
            ["-H", "X-Log-Key: \(Self.key)", "--data-binary", #"{"a":1}"#, "http://127.0.0.1:\(port)/events"], dir: dir)
        task.cancel()
        _ = try? await task.value
        #expect(r.status == 503)
        #expect((Self.json(r.body)["error"] as? String)?.contains("journal full") == true, "\(r.body)")
        #expect(source.counters.rejectedJournalFull.load(ordering: .relaxed) == 1)
        #expect(source.counters.accepted.load(ordering: .relaxed) == 0)
    }

    @Test(.enabled(if: curl != nil || integrationRequired, "needs curl"))
    func aFailingJournalEndsTheSource() async throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (source, task, port) = try await Self.startBare(Self.config()) { _ in throw JournalBroke() }
        let r = try await Self.curl(
            ["-H", "X-Log-Key: \(Self.key)", "--data-binary", #"{"a":1}"#, "http://127.0.0.1:\(port)/events"], dir: dir)
        #expect(r.status == 500)
        await #expect(throws: JournalBroke.self) { try await task.value }
        #expect(source.counters.failed.load(ordering: .relaxed) == 1)
    }

    @Test func unusableSettingsStopTheStart() async throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var missingKeyFile = Self.config()
        missingKeyFile.tokensFile = "\(dir)/nope"
        var halfTLS = Self.config()
        halfTLS.tlsCertificateFile = "\(dir)/cert.pem"
        var badTLS = Self.config(tlsCert: "\(dir)/cert.pem", tlsKey: "\(dir)/key.pem")
        badTLS.name = "bad-tls"
        for config in [missingKeyFile, halfTLS, badTLS] {
            let source = HTTPIngestSource(
                config: config, node: .random(), logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
            await #expect(throws: HTTPIngestError.self) { try await source.run { _ in .immediate } }
            await #expect(throws: HTTPIngestError.self) { try await source.boundPort() }
        }
    }

    @Test func keysComeFromTheListAndTheFile() throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "# keys\n k1 \n\nk2\r\n".write(toFile: "\(dir)/keys", atomically: false, encoding: .utf8)
        var config = Self.config(tokens: ["k0"])
        config.tokensFile = "\(dir)/keys"
        #expect(try config.loadTokens() == ["k0", "k1", "k2"])
        #expect(config.problems().isEmpty)
        config.path = "events"
        config.tlsKeyFile = "k.pem"
        #expect(config.problems().count == 2)
    }

    /// `logferry check` loads the PEM pair (through `problems`), so a bad one is reported before the start.
    @Test func aBadCertificatePairIsAProblem() throws {
        let dir = try makeTempDirectory("http-tls")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a certificate".write(toFile: "\(dir)/bad.pem", atomically: false, encoding: .utf8)
        var config = Self.config(tokens: ["k0"])
        config.tlsCertificateFile = "\(dir)/bad.pem"
        config.tlsKeyFile = "\(dir)/bad.pem"
        let problems = config.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.contains("bad.pem") == true, "\(problems)")
        config.tlsCertificateFile = "\(dir)/missing.pem"
        #expect(config.problems().count == 1)
    }

    // MARK: Python

    static let pythonClient = #"""
        import json, sys, threading, urllib.request, urllib.error
        base, key, clients, per_client = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        results, errors, lock = [], [], threading.Lock()
        def client(c):
            for r in range(per_client):
                events = [{"client": c, "request": r, "event": e, "tag": f"{c}-{r}-{e}"} for e in range(3)]
                if r % 2 == 0:
                    body, ctype = json.dumps(events).encode(), "application/json"
                else:
                    body, ctype = "".join(json.dumps(e) + "\n" for e in events).encode(), "application/x-ndjson"
                headers = {"Content-Type": ctype}
                if c % 2 == 0:
                    headers["X-Log-Key"] = key
                else:
                    headers["Authorization"] = "Bearer " + key
                req = urllib.request.Request(base + "/events", data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(req, timeout=60) as resp:
                        ids = json.load(resp)["ids"]
                    with lock:
                        results.append({"tags": [e["tag"] for e in events], "ids": ids})
                except Exception as ex:
                    with lock:
                        errors.append(repr(ex))
        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in threads: t.start()
        for t in threads: t.join()
        json.dump({"results": results, "errors": errors[:5], "error_count": len(errors)}, sys.stdout)
        """#

    @Test(.enabled(if: python != nil || integrationRequired, "needs python3"))
    func fiftyPythonClientsEveryEventOnce() async throws {
        let dir = try makeTempDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await Self.withSource(Self.config()) { r in
            let script = "\(dir)/client.py"
            try Self.pythonClient.write(toFile: script, atomically: false, encoding: .utf8)
            let clients = 50
            let perClient = 20
            let resultFile = "\(dir)/result.json"
            let process = try spawnLogged(
                "/bin/sh",
                [
                    "-c", "exec \"$0\" \"$@\" > \(resultFile)", Self.python!, script, r.base, Self.key,
                    "\(clients)", "\(perClient)",
                ],
                output: "\(dir)/python.err")
            defer { if process.isRunning { process.terminate() } }
            #expect(await eventually(timeout: 120, interval: 0.1) { !process.isRunning })
            #expect(process.terminationStatus == 0, "\(readText("\(dir)/python.err"))")
            let result = Self.json(readText(resultFile))
            #expect(
                result["error_count"] as? Int == 0,
                "\(result["errors"] ?? "no result: \(readText("\(dir)/python.err"))")")
            let results = result["results"] as? [[String: Any]] ?? []
            #expect(results.count == clients * perClient)

            // Every answered ID names the sequence that holds exactly that event, and every event is stored once.
            let stored = try await r.stored()
            #expect(stored.count == clients * perClient * 3)
            var seen = Set<String>()
            let prefix = r.node.hex + "-"
            for entry in results {
                let tags = entry["tags"] as? [String] ?? []
                let ids = entry["ids"] as? [String] ?? []
                #expect(tags.count == 3 && ids.count == 3)
                for (tag, id) in zip(tags, ids) {
                    #expect(id.hasPrefix(prefix))
                    guard let seq = UInt64(id.dropFirst(prefix.count)), let text = stored[seq] else {
                        Issue.record("id \(id) names no stored event")
                        continue
                    }
                    #expect(Self.json(text)["tag"] as? String == tag)
                    #expect(seen.insert(tag).inserted, "\(tag) answered twice")
                }
            }
            let storedTags = stored.values.compactMap { Self.json($0)["tag"] as? String }
            #expect(Set(storedTags).count == clients * perClient * 3, "an event was stored twice or not at all")
            #expect(r.source.counters.events.load(ordering: .relaxed) == clients * perClient * 3)
            #expect(r.source.counters.active.load(ordering: .relaxed) == 0)
        }
    }
}
