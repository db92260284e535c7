import LogferryCore
import LogferryTesting
import ServiceLifecycle
import Synchronization
import Testing
import WSClient

@testable import LogferryTransport

@Suite struct WebSocketReceiverTests {
    let edge = NodeIdentity(hex: "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")!

    func batchJSON(_ number: UInt64, _ seqs: ClosedRange<UInt64>) -> String {
        let events = seqs.map {
            WireEvent(seq: $0, origin: EventOrigin(node: edge, seq: $0), doc: ["n": .int(Int64($0))])
        }
        return String(decoding: WireCodec.encode(.batch(Batch(batch: number, events: events))), as: UTF8.self)
    }

    func hello(_ stream: String = "edge/central") -> String {
        String(decoding: WireCodec.encode(.hello(Hello(stream: stream, node: "edge"))), as: UTF8.self)
    }

    @Test func healthAnswersOK() async throws {
        let receiver = makeReceiver(spool: InMemorySpool())
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let response = try await rawHTTP(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await r.stop()
        #expect(response.hasPrefix("HTTP/1.1 200"))
        #expect(response.hasSuffix("ok"))
    }

    @Test func refusesABadTokenAtTheHandshake() async throws {
        let spool = InMemorySpool()
        let receiver = makeReceiver(spool: spool, tokens: ["right-token"])
        let r = Running(receiver)
        let port = try await receiver.boundPort()

        let wrong = try await rawHTTP(port: port, upgradeRequest(token: "wrong-token"))
        let missing = try await rawHTTP(port: port, upgradeRequest(token: nil))
        let badPath = try await rawHTTP(port: port, upgradeRequest(token: "right-token", path: "/v2/ingest"))
        #expect(wrong.hasPrefix("HTTP/1.1 401"), "\(wrong)")
        #expect(missing.hasPrefix("HTTP/1.1 401"), "\(missing)")
        #expect(badPath.hasPrefix("HTTP/1.1 404"), "\(badPath)")

        // A real sender with the wrong token gets nowhere and stores nothing.
        let a = InMemorySpool()
        try await fill(a, count: 10)
        let sender = makeSender(spool: a, node: .random(), port: port, token: "wrong-token")
        let s = Running(sender)
        try await waitUntil("a few refused attempts") { sender.statistics.disconnects >= 2 }
        await s.stop()
        #expect(sender.statistics.connections == 0)
        #expect(await spool.lastSequence() == 0)

        // The right token works.
        let good = makeSender(spool: a, node: .random(), port: port, token: "right-token")
        let g = Running(good)
        try await waitUntil("delivery with the right token") { good.statistics.committed == 10 }
        await g.stop()
        await r.stop()
        #expect(receiver.statistics.connectionsRefused >= 5)
    }

    static let badInputs: [(String, [String], CloseCode, WireErrorCode)] = [
        ("not JSON", ["{nope"], .protocolError, .malformed),
        (
            "batch before hello",
            [
                #"{"type":"batch","batch":1,"events":[{"seq":1,"origin":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","oseq":1,"doc":{}}]}"#
            ], .protocolError, .unexpected
        ),
        ("unknown type", [#"{"type":"subscribe"}"#], .protocolError, .unknownType),
        (
            "doc not an object",
            [
                "HELLO",
                #"{"type":"batch","batch":1,"events":[{"seq":1,"origin":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","oseq":1,"doc":[1]}]}"#,
            ], .protocolError, .malformed
        ),
        (
            "future version", [#"{"type":"hello","version":2,"stream":"s","node":"n"}"#], .policyViolation,
            .unsupportedVersion
        ),
        ("too many events", ["HELLO", "BATCH-20"], .policyViolation, .tooManyEvents),
    ]

    @Test(arguments: badInputs)
    func closesAPeerThatBreaksTheProtocol(
        _ name: String, _ frames: [String], _ expected: CloseCode, _ expectedError: WireErrorCode
    ) async throws {
        let spool = InMemorySpool()
        let receiver = makeReceiver(spool: spool, maxBatchEvents: 10)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let frames = frames.map { $0 == "HELLO" ? hello() : $0 == "BATCH-20" ? batchJSON(1, 1...20) : $0 }
        let received = Box<[WireMessage]>([])
        let close = try await rawConnect(port: port) { inbound, outbound in
            for f in frames { try await outbound.write(.text(f)) }
            while let m = try await nextMessage(&inbound) { received.update { $0.append(m) } }
        }
        await r.stop()
        #expect(CloseCode.from(close) == expected, "\(name): closed with \(String(describing: close?.closeCode))")
        #expect(
            received.get.contains { if case .error(let e) = $0 { e.code == expectedError.rawValue } else { false } })
        #expect(receiver.statistics.protocolErrors == 1)
        #expect(await spool.lastSequence() == 0)
    }

    @Test func gracefulShutdownClosesConnectionsAndReturns() async throws {
        let b = InMemorySpool()
        let receiver = makeReceiver(spool: b)
        let group = ServiceGroup(
            configuration: .init(services: [receiver], gracefulShutdownSignals: [], logger: testLogger("group")))
        let task = Task { try await group.run() }
        let port = try await receiver.boundPort()
        let close = Box<CloseCode?>(nil)
        let welcomed = Box(false)
        let client = Task {
            let frame = try await rawConnect(port: port) { inbound, outbound in
                try await outbound.write(.text(hello()))
                while let m = try await nextMessage(&inbound) {
                    if case .welcome = m { welcomed.set(true) }
                }
            }
            close.set(CloseCode.from(frame))
        }
        try await waitUntil("the client welcomed") { welcomed.get }
        await group.triggerGracefulShutdown()
        try await task.value
        try await client.value
        #expect(close.get == .normal, "closed with \(String(describing: close.get))")
    }

    @Test func closesAPeerThatNeverSaysHello() async throws {
        let receiver = makeReceiver(spool: InMemorySpool(), helloTimeout: .milliseconds(100))
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let received = Box<[WireMessage]>([])
        let close = try await rawConnect(port: port) { inbound, _ in
            while let m = try await nextMessage(&inbound) { received.update { $0.append(m) } }
        }
        await r.stop()
        #expect(CloseCode.from(close) == .policyViolation)
        #expect(received.get == [.error(ErrorMessage(.helloTimeout, "no hello within 0.1 seconds"))])
    }

    @Test func closesOnOversizedMessagesAndBinaryFrames() async throws {
        let receiver = makeReceiver(spool: InMemorySpool(), maxMessageBytes: 64 << 10)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let big = String(repeating: "x", count: 100 << 10)
        // One frame over the limit: the frame decoder refuses it.
        let single = try await rawConnect(port: port) { inbound, outbound in
            try await outbound.write(.text(big))
            while try await nextMessage(&inbound) != nil {}
        }
        #expect(CloseCode.from(single) == .messageTooBig)
        // Fragments each under the limit, together over it.
        let fragmented = try await rawConnect(port: port) { inbound, outbound in
            try await outbound.withTextMessageWriter { write in
                for _ in 0..<3 { try await write(String(repeating: "y", count: 30 << 10)) }
            }
            while try await nextMessage(&inbound) != nil {}
        }
        #expect(CloseCode.from(fragmented) == .messageTooBig)
        let binary = try await rawConnect(port: port) { inbound, outbound in
            try await outbound.write(.binary(.init(string: hello())))
            while try await nextMessage(&inbound) != nil {}
        }
        #expect(CloseCode.from(binary) == .unsupportedData)
        await r.stop()
    }

    @Test func keepsServingAGoodSenderWhileClosingBadPeers() async throws {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")
        try await fill(a, count: 2000)
        let receiver = makeReceiver(spool: b)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let sender = makeSender(spool: a, node: .random(), port: port, maxBatchEvents: 100, window: 2)
        let s = Running(sender)
        var closes: [CloseCode?] = []
        for _ in 0..<5 {
            let close = try await rawConnect(port: port) { inbound, outbound in
                try await outbound.write(.text(hello()))
                try await outbound.write(.text("garbage"))
                while try await nextMessage(&inbound) != nil {}
            }
            closes.append(CloseCode.from(close))
        }
        try await waitUntil("the good sender done") { sender.statistics.committed == 2000 }
        await s.stop()
        await r.stop()
        #expect(closes == Array(repeating: .protocolError, count: 5))
        #expect(receiver.statistics.protocolErrors == 5)
        #expect(try await storedEvents(b).count == 2000)
    }

    @Test func acknowledgesDuplicatesWithTheirIDsAndStoresThemOnce() async throws {
        let spool = InMemorySpool()
        _ = try await spool.openCursor("test-keep")
        let receiver = makeReceiver(spool: spool)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let replies = Box<[WireMessage]>([])
        for attempt in 0..<2 {
            _ = try await rawConnect(port: port) { inbound, outbound in
                try await outbound.write(.text(hello()))
                if let m = try await nextMessage(&inbound) { replies.update { $0.append(m) } }
                try await outbound.write(.text(batchJSON(1, 1...3)))
                try await outbound.write(.text(batchJSON(2, 4...5)))
                for _ in 0..<2 {
                    if let m = try await nextMessage(&inbound) { replies.update { $0.append(m) } }
                }
            }
            #expect(replies.get.count == 3 * (attempt + 1))
        }
        await r.stop()
        let all = replies.get
        #expect(all[0] == .welcome(Welcome(committed: 0, maxMessageBytes: 4 << 20, maxBatchEvents: 10_000)))
        #expect(all[3] == .welcome(Welcome(committed: 5, maxMessageBytes: 4 << 20, maxBatchEvents: 10_000)))
        let ids = (1...5).map { "\(edge.hex)-\($0)" }
        for offset in [1, 4] {
            #expect(all[offset] == .ack(Ack(batch: 1, through: 3, ids: Array(ids[0..<3]))))
            #expect(all[offset + 1] == .ack(Ack(batch: 2, through: 5, ids: Array(ids[3..<5]))))
        }
        #expect(try await storedEvents(spool).count == 5)
        #expect(receiver.statistics.eventsDuplicate == 5)
    }

    @Test func rebuildsDedupFromTheJournalAfterACrash() async throws {
        // A receiver that crashed before checkpointing left records with origins but no index.
        let spool = InMemorySpool()
        _ = try await spool.openCursor("test-keep")
        _ = try await spool.openCursor(WebSocketReceiver.indexCursorName)
        _ = try await spool.append(
            (1...4).map { SpooledEvent(origin: EventOrigin(node: edge, seq: $0), document: Array("{}".utf8)).encoded() }
        )
        let receiver = makeReceiver(spool: spool)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let ack = Box<WireMessage?>(nil)
        _ = try await rawConnect(port: port) { inbound, outbound in
            try await outbound.write(.text(hello()))
            _ = try await nextMessage(&inbound)
            try await outbound.write(.text(batchJSON(1, 1...6)))
            ack.set(try await nextMessage(&inbound))
        }
        // The index is checkpointed into its cursor.
        try await waitUntil("a checkpoint") { try await spool.openCursor(WebSocketReceiver.indexCursorName).seq == 6 }
        await r.stop()
        #expect(ack.get == .ack(Ack(batch: 1, through: 6, ids: (1...6).map { "\(edge.hex)-\($0)" })))
        let stored = try await storedEvents(spool)
        #expect(stored.compactMap(\.origin?.seq) == [1, 2, 3, 4, 5, 6])
        let state = try await spool.openCursor(WebSocketReceiver.indexCursorName).state
        let index = try DedupIndex(serialized: state)
        #expect(index.highwater(edge) == 6)
        #expect(index.committed(stream: "edge/central") == 6)
    }

    @Test func closesWith1011WhenTheJournalFails() async throws {
        let spool = InMemorySpool()
        let receiver = makeReceiver(spool: spool)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        spool.setAppendFailure(.full)
        let received = Box<[WireMessage]>([])
        let close = try await rawConnect(port: port) { inbound, outbound in
            try await outbound.write(.text(hello()))
            try await outbound.write(.text(batchJSON(1, 1...2)))
            while let m = try await nextMessage(&inbound) { received.update { $0.append(m) } }
        }
        await r.stop()
        #expect(CloseCode.from(close) == .internalError)
        #expect(received.get.contains { if case .error(let e) = $0 { e.code == "storage" } else { false } })
        #expect(receiver.statistics.storageFailures == 1)
    }
}
