import Foundation
import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryTransport

/// Receipts: the edge remembers, for a bounded time, which journal seq the receiver stored under which ID.
@Suite struct ReceiptsTests {
    let node = "9f1c0d2e4b5a69788796a5b4c3d2e1f0"
    let other = "04aa0d2e4b5a69788796a5b4c3d2e117"

    @Test func consecutiveIDsCompressToRuns() {
        let seqs: [UInt64] = [1, 2, 3, 4, 5, 6, 7]
        let ids = [
            "\(node)-1", "\(node)-2", "\(node)-3", "\(other)-880", "\(other)-881", "odd id", "no-suffix-x",
        ]
        let runs = ReceiptRun.runs(seqs: seqs, ids: ids, at: 1000)
        // "odd id" has whitespace: not kept.
        #expect(runs.count == 3)
        #expect(runs[0] == ReceiptRun(ackedAtMillis: 1000, seq: 1, count: 3, prefix: node, number: 1))
        #expect(runs[1] == ReceiptRun(ackedAtMillis: 1000, seq: 4, count: 2, prefix: other, number: 880))
        #expect(runs[2] == ReceiptRun(ackedAtMillis: 1000, seq: 7, count: 1, prefix: "no-suffix-x", number: nil))
        for r in runs { #expect(ReceiptRun(line: r.line.dropLast()) == r) }
        #expect(runs[1].id(forSeq: 5) == "\(other)-881")
        #expect(runs[1].id(forSeq: 6) == nil)
        // A gap in seqs starts a new run even when the IDs continue.
        #expect(ReceiptRun.runs(seqs: [1, 3], ids: ["\(node)-1", "\(node)-2"], at: 0).count == 2)
    }

    @Test func writtenReceiptsAreFoundAndTheLaterAckWins() throws {
        let dir = try makeTempDirectory("rcpt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rc = ReceiptsConfiguration(
            directory: ReceiptsConfiguration.directory(dataDirectory: dir, destination: "central"))
        #expect(rc.directory == dir + "/receipts/central")
        let w = try ReceiptWriter(configuration: rc, logger: testLogger("receipts"))
        w.record(seqs: Array(1...1000), ids: (1...1000).map { "\(node)-\($0)" }, at: 10_000)
        w.record(seqs: [1001, 1002], ids: ["\(other)-5", "\(other)-6"], at: 10_001)
        w.flush(now: 10_002)
        // A resend of 1001 acknowledged again (same ID in practice; a different one here to see which wins).
        w.record(seqs: [1001], ids: ["\(other)-7"], at: 10_003)
        w.flush(now: 10_004)
        // A torn line from a crash mid-write is ignored.
        let segment = try #require(ReceiptSegments.list(rc.directory).last)
        let handle = try #require(FileHandle(forWritingAtPath: rc.directory + "/" + segment.name))
        handle.seekToEndOfFile()
        handle.write(Data("10005 2000 3 \(node)-20".utf8))
        try handle.close()

        let r = try Receipts(dataDirectory: dir, destination: "central")
        #expect(r.receipt(forSeq: 1) == "\(node)-1")
        #expect(r.receipt(forSeq: 777) == "\(node)-777")
        #expect(r.receipt(forSeq: 1000) == "\(node)-1000")
        #expect(r.receipt(forSeq: 1001) == "\(other)-7")
        #expect(r.receipt(forSeq: 1002) == "\(other)-6")
        #expect(r.receipt(forSeq: 1003) == nil)
        #expect(r.receipt(forSeq: 0) == nil)
        #expect(Receipts.destinations(dataDirectory: dir) == ["central"])
        #expect(try Receipts(dataDirectory: dir, destination: "none").receipt(forSeq: 1) == nil)
    }

    @Test func receiptsAreBoundedByAgeAndCount() throws {
        let dir = try makeTempDirectory("rcpt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rc = ReceiptsConfiguration(directory: dir + "/r", retention: .seconds(60), maxEntries: 32)
        let w = try ReceiptWriter(configuration: rc, logger: testLogger("receipts"))
        // 100 batches with a gap each (one run per batch), one second apart: segments of 32/16 = 2 runs.
        for i in 0..<100 {
            let seq = UInt64(i * 10 + 1)
            w.record(seqs: [seq], ids: ["\(node)-\(seq)"], at: Int64(i) * 1000)
            w.flush(now: Int64(i) * 1000)
        }
        var r = try Receipts(directory: rc.directory)
        #expect(r.runCount <= 32 && r.runCount >= 30, "kept \(r.runCount) runs")
        #expect(r.receipt(forSeq: 991) == "\(node)-991")
        #expect(r.receipt(forSeq: 1) == nil)
        // A writer started later picks up the segments and keeps pruning them: by age this time.
        let again = try ReceiptWriter(configuration: rc, logger: testLogger("receipts"))
        again.flush(now: 99_000 + 61_000)
        r = try Receipts(directory: rc.directory)
        #expect(r.runCount == 0)
    }

    @Test func theSenderKeepsReceiptsOfAcknowledgedBatches() async throws {
        let dir = try makeTempDirectory("rcpt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = InMemorySpool()
        let b = InMemorySpool()
        let nodeA = NodeIdentity.random()
        // Local events, then relayed ones (their own origin) and local again.
        try await fill(a, count: 500)
        let relayed = NodeIdentity.random()
        _ = try await a.append(
            (1...50).map {
                SpooledEvent(
                    origin: EventOrigin(node: relayed, seq: UInt64(7000 + $0)),
                    document: Array(#"{"message":"relayed \#($0)"}"#.utf8)
                ).encoded()
            })
        try await fill(a, count: 100)

        let receiver = makeReceiver(spool: b)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let sender = WebSocketSender(
            configuration: SenderConfiguration(
                url: "ws://127.0.0.1:\(port)\(ProtocolV1.path)", destinationName: "central", maxBatchEvents: 64,
                batchLinger: .milliseconds(5),
                receipts: ReceiptsConfiguration(
                    directory: ReceiptsConfiguration.directory(dataDirectory: dir, destination: "central"))),
            spool: a, node: nodeA, nodeName: "edge", logger: testLogger("sender"))
        let s = Running(sender)
        let done = await eventually(timeout: 20) { sender.statistics.committed == 650 }
        await s.stop()  // flushes the receipts
        await r.stop()
        #expect(done)

        let receipts = try Receipts(dataDirectory: dir, destination: "central")
        #expect(receipts.receipt(forSeq: 1) == "\(nodeA.hex)-1")
        #expect(receipts.receipt(forSeq: 500) == "\(nodeA.hex)-500")
        #expect(receipts.receipt(forSeq: 501) == "\(relayed.hex)-7001")
        #expect(receipts.receipt(forSeq: 550) == "\(relayed.hex)-7050")
        #expect(receipts.receipt(forSeq: 551) == "\(nodeA.hex)-551")
        #expect(receipts.receipt(forSeq: 650) == "\(nodeA.hex)-650")
        #expect(receipts.receipt(forSeq: 651) == nil)
        // Runs, not lines per event: at most a few per batch.
        #expect(receipts.runCount <= 650 / 64 + 6, "\(receipts.runCount) runs")
    }
}
