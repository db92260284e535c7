import Testing

@testable import LogferryJournal

struct JournalConfigurationTests {
    @Test func defaults() {
        let c = JournalConfiguration(directory: "/var/lib/logferry/journal")
        #expect(c.segmentBytes == 64 << 20)
        #expect(c.maxBytes == 2 << 30)
        #expect(c.fsync == .interval)
        #expect(c.fsyncInterval == .milliseconds(10))
        #expect(c.whenFull == .block)
        #expect(c.maxRecordBytes == 16 << 20)
        #expect(c.problems().isEmpty)
    }

    @Test func configNamesParse() {
        #expect(FullPolicy(rawValue: "drop-oldest") == .dropOldest)
        #expect(FullPolicy(rawValue: "drop-newest") == .dropNewest)
        #expect(FsyncPolicy(rawValue: "interval") == .interval)
    }

    @Test func problemsSayWhatToFix() async throws {
        let c = JournalConfiguration(directory: "", segmentBytes: 10, maxBytes: 100, fsyncInterval: .zero)
        let problems = c.problems()
        #expect(problems.count == 5)
        await #expect(throws: JournalError.self) { _ = try await Journal.open(c, logger: quietLogger()) }
    }
}
