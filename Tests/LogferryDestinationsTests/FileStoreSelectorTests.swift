import LogferryCore
import LogferryFormat
import LogferryTesting
import Testing

@testable import LogferryDestinations

/// `inputs` / `filter` on the file store: rejected events are not written, and the cursor still passes them.
@Suite struct FileStoreSelectorTests {
    let localNode = NodeIdentity(hex: "0123456789abcdef0123456789abcdef")!

    @Test(
        "a filter: only matching events are written, the cursor reaches the end past a rejected tail",
        arguments: [1, 7, 2000])
    func onlyMatchingEventsWritten(batchRecords: Int) async throws {
        let dir = try TemporaryDirectory()
        let spool = InMemorySpool()
        let selector = try DocumentSelector(inputs: nil, filter: #"program == "nginx" and n >= 10"#)
        let config = FileStoreConfiguration(
            name: "x", pathTemplate: dir.path + "/${HOST}/${PROGRAM}.log", batchRecords: batchRecords, fsync: false,
            selector: selector)
        // 0..<100 alternate nginx/php, then 20 php events: the journal ends with a run the filter rejects.
        let events =
            (0..<100).map { TestEvent(host: "h\($0 % 2)", program: $0 % 2 == 0 ? "nginx" : "php", n: $0) }
            + (100..<120).map { TestEvent(host: "h", program: "php", n: $0) }
        let ids = try await append(events, to: spool, localNode: localNode)
        let destination = try FileStoreDestination(
            configuration: config, spool: CrashingSpool(spool), localNode: localNode, logger: quietLogger)
        await #expect(throws: CrashingSpool.Drained.self) { try await destination.run() }

        let expected = zip(events, ids).filter { $0.0.program == "nginx" && $0.0.n >= 10 }.map(\.1)
        let lines = try readLines(under: dir.path)
        expectExactlyOnce(lines, expected: expected)
        expectJournalOrder(lines)
        #expect(Set(lines.map(\.path)) == ["h0/nginx.log"])
        #expect(try await spool.openCursor("file-x").seq == 120)
        #expect(spool.retainedCount == 0)  // the only cursor passed every record, rejected ones included
        #expect(destination.recordsWritten == expected.count)
        #expect(destination.recordsFiltered == 120 - expected.count)
    }

    @Test("inputs: events from other sources are skipped; none selected writes nothing and still commits")
    func inputsPickSources() async throws {
        let dir = try TemporaryDirectory()
        let spool = InMemorySpool()
        func event(_ source: String, _ n: Int) -> [UInt8] {
            var o = JSONObject()
            o["host"] = .string("h")
            o["program"] = .string("p")
            o["source"] = .string(source)
            o["n"] = .int(Int64(n))
            return SpooledEvent(origin: nil, document: JSONWriter.render(.object(o))).encoded()
        }
        _ = try await spool.openCursor("file-none")  // keeps the records for the second destination
        _ = try await spool.append((1...30).map { event($0 % 3 == 0 ? "nginx" : "apps", $0) })
        let config = FileStoreConfiguration(
            name: "x", pathTemplate: dir.path + "/${SOURCE}.log", batchRecords: 4, fsync: false,
            selector: try DocumentSelector(inputs: ["nginx"], filter: nil))
        let destination = try FileStoreDestination(
            configuration: config, spool: CrashingSpool(spool), localNode: localNode, logger: quietLogger)
        await #expect(throws: CrashingSpool.Drained.self) { try await destination.run() }
        let lines = try readLines(under: dir.path)
        #expect(lines.compactMap { $0.object["n"]?.int64Value } == (1...10).map { Int64($0 * 3) })
        #expect(Set(lines.map(\.path)) == ["nginx.log"])
        #expect(try await spool.openCursor("file-x").seq == 30)

        // A destination that selects nothing writes nothing, and its cursor still reaches the end.
        let none = FileStoreConfiguration(
            name: "none", pathTemplate: dir.path + "/none/${SOURCE}.log", batchRecords: 4, fsync: false,
            selector: try DocumentSelector(inputs: ["kernel"], filter: nil))
        let idle = try FileStoreDestination(
            configuration: none, spool: CrashingSpool(spool), localNode: localNode, logger: quietLogger)
        await #expect(throws: CrashingSpool.Drained.self) { try await idle.run() }
        #expect(try allFiles(under: dir.path + "/none").isEmpty)
        #expect(try await spool.openCursor("file-none").seq == 30)
        #expect(idle.recordsWritten == 0)
        #expect(idle.recordsFiltered == 30)
    }
}
