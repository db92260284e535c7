import ArgumentParser
import Glibc
import LogferryCore
import LogferryJournal
import LogferryTransport
import Logging

/// `logferry journal stat|verify|dump --data-dir DIR` (SPEC.md §1): inspects `DIR/journal` read-only, without
/// the journal's lock, so it works while a node runs (see `JournalInspector`). Format: docs/JOURNAL.md.
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Inspect a node's journal: sizes and lag, CRC check, records as JSON lines.",
        discussion: "Read-only and lock-free: safe while the node runs (what it shows is a snapshot).",
        subcommands: [Stat.self, Verify.self, Dump.self, AppendTest.self]
    )
}

/// `--data-dir DIR`, shared by the journal tools.
struct JournalLocation: ParsableArguments {
    @Option(name: .long, help: "The node's data_dir (the journal is DIR/journal).")
    var dataDir: String

    var journalDirectory: String { dataDir + "/journal" }

    func inspector() -> JournalInspector { JournalInspector(directory: journalDirectory) }
}

extension JournalCommand {
    struct Stat: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stat",
            abstract: "Bytes, segments, first/last sequence, each destination's cursor and lag, damage kept aside.")

        @OptionGroup var location: JournalLocation

        @Flag(name: .long, help: "One JSON object instead of text.")
        var json = false

        func run() throws {
            let s = try inspecting { try location.inspector().inspect() }
            print(json ? JSONWriter.renderString(.object(Self.json(s))) : Self.text(s))
        }

        static func text(_ s: JournalInspection) -> String {
            var out: [String] = []
            out.append("journal \(s.directory)" + (s.lockedByPID.map { "  (in use by pid \($0): a snapshot)" } ?? ""))
            out.append("  bytes      \(humanBytes(s.bytes)) in \(s.segments.count) segment(s)")
            if let first = s.firstSequence, let last = s.lastSequence {
                out.append("  sequence   \(first) … \(last)  (next \(s.nextSequence))")
            } else {
                out.append("  sequence   no records retained  (next \(s.nextSequence))")
            }
            if s.metaDamaged { out.append("  meta       DAMAGED (rewritten at the next open)") }
            if s.cursors.isEmpty {
                out.append("  cursors    none (no destination has registered)")
            } else {
                out.append("  cursors")
                let width = s.cursors.map(\.name.count).max() ?? 0
                for c in s.cursors {
                    let pad = String(repeating: " ", count: width - c.name.count)
                    out.append(
                        "    \(c.name)\(pad)  seq \(c.seq)  lag \(c.lagRecords) record(s), \(humanBytes(c.lagBytes))")
                }
            }
            for name in s.corruptCursorFiles {
                out.append("  cursor file \(name) fails its CRC (its destination restarts at the oldest record)")
            }
            if s.damagedFilesKept.isEmpty {
                out.append("  damaged    nothing kept aside")
            } else {
                out.append("  damaged    \(s.damagedFilesKept.count) file(s) kept in \(s.directory)/damaged")
                for f in s.damagedFilesKept { out.append("    \(f.name)  \(f.bytes) bytes") }
            }
            return out.joined(separator: "\n")
        }

        static func json(_ s: JournalInspection) -> JSONObject {
            func opt(_ v: UInt64?) -> JSONValue { v.map { .int(Int64(clamping: $0)) } ?? .null }
            var o = JSONObject()
            o.appendUnchecked("directory", .string(s.directory))
            o.appendUnchecked("bytes", .int(Int64(s.bytes)))
            o.appendUnchecked(
                "segments",
                .array(
                    s.segments.map {
                        .object([
                            "name": .string($0.name), "first_seq": .int(Int64(clamping: $0.firstSequence)),
                            "bytes": .int(Int64($0.bytes)),
                        ])
                    }))
            o.appendUnchecked("first_seq", opt(s.firstSequence))
            o.appendUnchecked("last_seq", opt(s.lastSequence))
            o.appendUnchecked("next_seq", opt(s.nextSequence))
            o.appendUnchecked("meta_next_seq", opt(s.metaNextSequence))
            o.appendUnchecked("meta_damaged", .bool(s.metaDamaged))
            o.appendUnchecked(
                "cursors",
                .array(
                    s.cursors.map {
                        .object([
                            "name": .string($0.name), "seq": .int(Int64(clamping: $0.seq)),
                            "lag_records": .int(Int64(clamping: $0.lagRecords)), "lag_bytes": .int(Int64($0.lagBytes)),
                        ])
                    }))
            o.appendUnchecked("corrupt_cursor_files", .array(s.corruptCursorFiles.map { .string($0) }))
            o.appendUnchecked(
                "damaged_kept",
                .array(s.damagedFilesKept.map { .object(["name": .string($0.name), "bytes": .int(Int64($0.bytes))]) }))
            o.appendUnchecked("locked_by_pid", s.lockedByPID.map { .int(Int64($0)) } ?? .null)
            return o
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check every record's CRC and that sequence numbers grow by one.",
            discussion: "Exit 0 when intact; 1 with one line per damaged region (segment, offset, length) or gap.")

        @OptionGroup var location: JournalLocation

        @Flag(name: .long, help: "Print the report as one JSON object (same exit codes).")
        var json = false

        func run() throws {
            let r = try inspecting { try location.inspector().verify() }
            let ok = r.isIntact && r.gaps.isEmpty
            if json {
                print(JSONWriter.renderString(.object(Self.json(r, ok: ok))))
                fflush(nil)
                if ok { return }
                throw UserError(description: "journal \(location.journalDirectory) is damaged (see the JSON report)")
            }
            for d in r.damagedRegions {
                print(
                    "damaged: \(d.segment) offset \(d.offset) length \(d.length)"
                        + (d.truncated ? " (torn tail: the next open cuts it off)" : " (skipped by readers)"))
            }
            for g in r.gaps { print("gap: seq \(g.after) is followed by \(g.next)") }
            if r.outOfOrder > 0 { print("out of order: \(r.outOfOrder) record(s) not above the one before") }
            let range = r.firstSequence.map { f in " (seq \(f) … \(r.lastSequence ?? f))" } ?? ""
            let summary =
                "\(r.segments) segment(s), \(r.records) intact record(s)\(range), \(humanBytes(r.bytes))"
                + (r.segmentsGone > 0 ? ", \(r.segmentsGone) segment(s) deleted by the node while reading" : "")
            if ok {
                print("ok: " + summary)
                return
            }
            print("DAMAGED: " + summary)
            fflush(nil)
            throw UserError(
                description: "journal \(location.journalDirectory) is damaged: \(r.damagedRegions.count) damaged "
                    + "region(s), \(r.gaps.count) gap(s), \(r.outOfOrder) out of order. A node opening it keeps every "
                    + "intact record (see docs/JOURNAL.md, Recovery).")
        }

        static func json(_ r: VerifyReport, ok: Bool) -> JSONObject {
            [
                "ok": .bool(ok),
                "segments": .int(Int64(r.segments)),
                "records": .int(Int64(r.records)),
                "bytes": .int(Int64(r.bytes)),
                "first_seq": r.firstSequence.map { .int(Int64($0)) } ?? .null,
                "last_seq": r.lastSequence.map { .int(Int64($0)) } ?? .null,
                "damaged": .array(
                    r.damagedRegions.map {
                        .object([
                            "segment": .string($0.segment), "offset": .int(Int64($0.offset)),
                            "length": .int(Int64($0.length)), "torn_tail": .bool($0.truncated),
                        ])
                    }),
                "gaps": .array(r.gaps.map { .object(["after": .int(Int64($0.after)), "next": .int(Int64($0.next))]) }),
                "out_of_order": .int(Int64(r.outOfOrder)),
                "segments_gone": .int(Int64(r.segmentsGone)),
            ]
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dump",
            abstract: "Print records as JSON lines: seq, time, origin, origin seq, document id, document.",
            discussion: """
                {"seq":..,"time":"RFC 3339","origin":"<node hex>","oseq":..,"id":"<document id>","doc":{...}} per
                record; a payload that is not a logferry event: {"seq":..,"time":..,"raw_base64":"..."}.
                Events that entered at this node get its identity from DIR/node-id.
                """)

        @OptionGroup var location: JournalLocation

        @Option(name: .long, help: "First sequence number to print.")
        var from: UInt64 = 0

        @Option(name: .long, help: "Print at most this many records.")
        var limit: Int?

        func run() throws {
            if let limit, limit < 0 { throw UserError(description: "--limit must be 0 or more") }
            let local = try localIdentity()
            // What each websocket destination's receiver acknowledged, and under which document ID.
            let receipts = Receipts.destinations(dataDirectory: location.dataDir).compactMap { name in
                (try? Receipts(dataDirectory: location.dataDir, destination: name)).map { (name, $0) }
            }
            var out: [UInt8] = []
            out.reserveCapacity(1 << 17)
            var printed = 0
            if limit == 0 { return }
            try inspecting {
                try location.inspector().forEachRecord(
                    from: from,
                    onDamage: { d in
                        FileHandleStderr.write(
                            "logferry: skipped damaged bytes: \(d.segment) offset \(d.offset) length \(d.length)\n")
                    }
                ) { record in
                    Self.line(record, local: local, receipts: receipts, into: &out)
                    printed += 1
                    if out.count >= 1 << 16 {
                        try writeAll(1, out)
                        out.removeAll(keepingCapacity: true)
                    }
                    return limit.map { printed < $0 } ?? true
                }
            }
            try writeAll(1, out)
        }

        /// The node's identity, read (never created) from DIR/node-id; nil when missing.
        func localIdentity() throws -> NodeIdentity? {
            let path = location.dataDir + "/node-id"
            guard let text = try? readSmallFile(path) else {
                FileHandleStderr.write(
                    "logferry: \(path) not found: events that entered at this node are printed without origin and id\n")
                return nil
            }
            let hex = text.filter { !$0.isWhitespace }
            guard let id = NodeIdentity(hex: hex) else {
                throw UserError(description: "\(path) does not hold 32 hex digits; it is not a logferry node identity")
            }
            return id
        }

        static func line(
            _ record: SpoolRecord, local: NodeIdentity?, receipts: [(String, Receipts)] = [], into out: inout [UInt8]
        ) {
            var w = JSONWriter()
            w.bytes = out
            w.bytes.append(contentsOf: "{\"seq\":".utf8)
            w.writeInt(record.seq)
            w.bytes.append(contentsOf: ",\"time\":".utf8)
            w.writeString(Timestamp(nanos: record.timeNanos).iso8601)
            if let event = try? SpooledEvent.decode(record.payload) {
                let origin = local.map { event.resolvedOrigin(localNode: $0, seq: record.seq) } ?? event.origin
                w.bytes.append(contentsOf: ",\"origin\":".utf8)
                if let origin { w.writeString(origin.node.hex) } else { w.bytes.append(contentsOf: "null".utf8) }
                w.bytes.append(contentsOf: ",\"oseq\":".utf8)
                w.writeInt(origin?.seq ?? record.seq)
                w.bytes.append(contentsOf: ",\"id\":".utf8)
                if let origin { w.writeString(origin.documentID) } else { w.bytes.append(contentsOf: "null".utf8) }
                // "acked": {"<destination>": "<document ID the receiver stored it under>"} for each receipt.
                let acked = receipts.compactMap { name, r in r.receipt(forSeq: record.seq).map { (name, $0) } }
                if !acked.isEmpty {
                    w.bytes.append(contentsOf: ",\"acked\":".utf8)
                    w.write(.object(JSONObject(acked.map { (key: $0.0, value: JSONValue.string($0.1)) })))
                }
                // The document is embedded as stored (key order and all) once it parses as a JSON object;
                // re-rendered (compact, same key order) only if line breaks between its tokens would split the line.
                if case .object(let object)? = try? JSONParser.parse(event.document) {
                    w.bytes.append(contentsOf: ",\"doc\":".utf8)
                    if event.document.contains(0x0A) || event.document.contains(0x0D) {
                        w.write(object)
                    } else {
                        w.bytes.append(contentsOf: event.document)
                    }
                } else {
                    w.bytes.append(contentsOf: ",\"doc_raw_base64\":\"".utf8)
                    base64(event.document, into: &w.bytes)
                    w.bytes.append(UInt8(ascii: "\""))
                }
            } else {
                w.bytes.append(contentsOf: ",\"raw_base64\":\"".utf8)
                base64(record.payload, into: &w.bytes)
                w.bytes.append(UInt8(ascii: "\""))
            }
            w.bytes.append(contentsOf: "}\n".utf8)
            out = w.bytes
        }
    }

    /// A crash-test and bench driver (hidden): appends numbered records to DIR/journal and prints
    /// `durable <seq>` for each record once `append` returned (flushed per line). Record `seq` carries the payload
    /// `payload(seq)`, so after a crash a restarted run first checks every retained record (`check ...` line).
    struct AppendTest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "append-test", abstract: "Append numbered test records (for crash tests and benches).",
            shouldDisplay: false)

        @OptionGroup var location: JournalLocation

        @Option(name: .long, help: "Records to append.")
        var count: Int

        @Option(name: .long, help: "always, interval or never.")
        var fsync: String = "always"

        @Option(name: .long, help: "Records per append (batch sizes cycle 1...N).")
        var batch: Int = 1

        @Option(name: .long, help: "Appending tasks running at once.")
        var concurrency: Int = 1

        @Option(name: .long, help: "Payload bytes per record.")
        var payloadBytes: Int = 200

        @Option(name: .long, help: "Segment size in bytes.")
        var segmentBytes: Int = 64 << 10

        @Flag(name: .long, help: "Print only the summary, not one line per durable record.")
        var quiet = false

        @Flag(name: .long, help: "Skip reading every record back after opening (benches of recovery time).")
        var noCheck = false

        static func payload(_ seq: UInt64, size: Int) -> [UInt8] {
            var bytes = Array("lf-append-test seq=\(seq) ".utf8)
            var x = seq &* 0x9E37_79B9_7F4A_7C15
            while bytes.count < size {
                x ^= x << 13
                x ^= x >> 7
                x ^= x << 17
                bytes.append(UInt8(truncatingIfNeeded: x))
            }
            return Array(bytes.prefix(max(size, 1)))
        }

        func run() async throws {
            guard let policy = FsyncPolicy(rawValue: fsync) else {
                throw UserError(description: "--fsync '\(fsync)' is unknown; use always, interval or never")
            }
            guard count >= 0, batch >= 1, concurrency >= 1, payloadBytes >= 1 else {
                throw UserError(description: "--count, --batch, --concurrency and --payload-bytes must be positive")
            }
            let logger = Logger(label: "append-test") { label in
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = .warning
                return h
            }
            let journal: Journal
            do {
                journal = try await Journal.open(
                    JournalConfiguration(
                        directory: location.journalDirectory, segmentBytes: segmentBytes, fsync: policy,
                        maxRecordBytes: max(payloadBytes, 1 << 20)),
                    logger: logger)
            } catch {
                throw RuntimeFailure(description: "cannot open the journal: \(error)")
            }
            if !noCheck { try await check(journal) }
            let size = payloadBytes
            let quiet = self.quiet
            let start = ContinuousClock.now
            // Each record carries the payload of the number it should get. With one appender that number is
            // exact (and checked); with several (benches, `--quiet`) their batches interleave, the numbers do not
            // match, and the next run's check reports them as bad: use a fresh directory per bench run.
            let total = count
            let batchLimit = batch
            let workers = concurrency
            let expectedNext = await journal.lastSequence() + 1
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<workers {
                    group.addTask {
                        var done = w * total / workers
                        let end = (w + 1) * total / workers
                        var n = 0
                        var next = expectedNext + UInt64(done)
                        while done < end {
                            let k = min(1 + n % batchLimit, end - done)
                            n += 1
                            let payloads = (0..<k).map { Self.payload(next + UInt64($0), size: size) }
                            let range = try await journal.append(payloads)
                            if workers == 1 && range.lowerBound != next {
                                throw RuntimeFailure(
                                    description: "append got seq \(range.lowerBound), expected \(next)")
                            }
                            if !quiet {
                                var line = ""
                                for seq in range { line += "durable \(seq)\n" }
                                try writeAll(1, Array(line.utf8))
                            }
                            next += UInt64(k)
                            done += k
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = (ContinuousClock.now - start).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            let stat = journal.stat()
            await journal.close()
            print(
                "appended \(total) records of \(size) bytes in \(format3(seconds)) s: "
                    + "\(Int(Double(total) / max(seconds, 1e-9))) records/s, fsyncs \(stat.fsyncs)")
        }

        /// Reads every retained record back through the journal (CRC-verified) and checks it carries the payload
        /// of its number and that numbers are contiguous. Prints `check records=N first=F last=L bad=B`.
        private func check(_ journal: Journal) async throws {
            var after: UInt64 = 0
            var records = 0
            var bad = 0
            var first: UInt64?
            var last: UInt64 = 0
            while true {
                let batch = try await journal.read(after: after, maxRecords: 4096, maxBytes: 8 << 20)
                guard let tail = batch.last else { break }
                for r in batch {
                    if first == nil { first = r.seq }
                    let expected = Self.payload(r.seq, size: r.payload.count)
                    if r.payload != expected || (last != 0 && r.seq != last + 1) {
                        bad += 1
                        if bad <= 10 { FileHandleStderr.write("check: bad record seq \(r.seq) after \(last)\n") }
                    }
                    last = r.seq
                    records += 1
                }
                after = tail.seq
            }
            let r = journal.recoveryReport
            try writeAll(
                1,
                Array(
                    ("check records=\(records) first=\(first ?? 0) last=\(last) bad=\(bad) "
                        + "cut=\(r.bytesCut) damaged=\(r.damagedRegions.count)\n").utf8))
        }
    }
}

/// Runs an inspection, turning "there is no journal there" into a user error (exit 1) and I/O failures into
/// runtime failures (exit 2).
private func inspecting<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as JournalInspector.Error {
        throw UserError(description: e.description + " (is --data-dir the node's data_dir?)")
    } catch let e as UserError {
        throw e
    } catch let e as RuntimeFailure {
        throw e
    } catch {
        throw RuntimeFailure(description: "reading the journal: \(error)")
    }
}

private func humanBytes(_ n: Int) -> String {
    if n < 1024 { return "\(n) B" }
    let units = ["KiB", "MiB", "GiB", "TiB"]
    var v = Double(n) / 1024
    var i = 0
    while v >= 1024 && i < units.count - 1 {
        v /= 1024
        i += 1
    }
    return format1(v) + " " + units[i]
}

private func format1(_ v: Double) -> String {
    let tenths = Int((v * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

private func format3(_ v: Double) -> String {
    let thousandths = Int((v * 1000).rounded())
    let frac = String(thousandths % 1000)
    return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
}

private func base64(_ bytes: [UInt8], into out: inout [UInt8]) {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var i = 0
    while i + 3 <= bytes.count {
        let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
        out += [table[Int(v >> 18)], table[Int(v >> 12 & 63)], table[Int(v >> 6 & 63)], table[Int(v & 63)]]
        i += 3
    }
    switch bytes.count - i {
    case 1:
        let v = UInt32(bytes[i]) << 16
        out += [table[Int(v >> 18)], table[Int(v >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
    case 2:
        let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
        out += [table[Int(v >> 18)], table[Int(v >> 12 & 63)], table[Int(v >> 6 & 63)], UInt8(ascii: "=")]
    default:
        break
    }
}
