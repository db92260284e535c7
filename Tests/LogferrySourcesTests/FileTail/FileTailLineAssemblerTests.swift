import Testing

@testable import LogferrySources

/// Line splitting, partial lines, long lines and multi-line events, fed byte by byte and in chunks.
struct FileTailLineAssemblerTests {
    typealias Line = FileTailLineAssembler.Line

    func text(_ lines: [Line]) -> [String] { lines.map { String(decoding: $0.bytes, as: UTF8.self) } }

    /// Feeds `input` in chunks of `chunk` bytes and collects every line.
    func feed(_ a: inout FileTailLineAssembler, _ input: String, chunk: Int, now: Int64 = 0) -> [Line] {
        let bytes = Array(input.utf8)
        var out: [Line] = []
        var i = 0
        while i < bytes.count {
            out += a.feed(Array(bytes[i..<min(i + chunk, bytes.count)]), now: now)
            i += chunk
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func splitsLinesWithOffsets(chunk: Int) throws {
        var a = try FileTailLineAssembler(offset: 100, maxLineBytes: 1024)
        let lines = feed(&a, "one\ntwo\n\nthree\npart", chunk: chunk)
        #expect(text(lines) == ["one", "two", "", "three"])
        #expect(lines.map(\.offset) == [100, 104, 108, 109])
        // The partial last line waits; the checkpoint position stays at its start.
        #expect(a.committedOffset == 115)
        #expect(a.readOffset == 119)
        #expect(a.pendingBytes == 4)
        let rest = a.feed(Array("ial\n".utf8), now: 0)
        #expect(rest == [Line(bytes: Array("partial".utf8), offset: 115)])
        #expect(a.committedOffset == 123)
    }

    @Test func flushHandsOutThePartialLine() throws {
        var a = try FileTailLineAssembler(offset: 0, maxLineBytes: 1024)
        #expect(a.feed(Array("a\nb".utf8), now: 0).count == 1)
        #expect(a.flush() == [Line(bytes: Array("b".utf8), offset: 2)])
        #expect(a.committedOffset == 3)
        #expect(a.flush() == [])
        a.reset(to: 0)
        #expect(a.feed(Array("c\n".utf8), now: 0) == [Line(bytes: Array("c".utf8), offset: 0)])
    }

    @Test(arguments: [1, 5, 64])
    func longLinesAreCutAndFlaggedAndTheRestSkipped(chunk: Int) throws {
        var a = try FileTailLineAssembler(offset: 0, maxLineBytes: 8)
        let lines = feed(&a, "0123456789abcdef\nshort\n12345678\n", chunk: chunk)
        #expect(
            lines == [
                Line(bytes: Array("01234567".utf8), offset: 0, truncated: true),
                Line(bytes: Array("short".utf8), offset: 17),
                Line(bytes: Array("12345678".utf8), offset: 23),
            ])
        #expect(a.committedOffset == 32)
    }

    @Test func indentedContinuationJoinsTracebacks() throws {
        var a = try FileTailLineAssembler(
            offset: 0, maxLineBytes: 1024, multiline: .init(rule: .indentedContinuation, timeout: .seconds(1)))
        let input = "Traceback (most recent call last):\n  File \"x.py\", line 1\n\tboom()\nValueError: x\nnext\n"
        let lines = feed(&a, input, chunk: 5)
        #expect(
            text(lines) == ["Traceback (most recent call last):\n  File \"x.py\", line 1\n\tboom()", "ValueError: x"])
        #expect(lines.map(\.offset) == [0, 65])
        // "next" is pending until a new event starts or the timeout passes; the checkpoint stays before it.
        #expect(a.hasPendingEvent)
        #expect(a.committedOffset == 79)
        #expect(a.flushIdle(now: 500_000_000) == [])
        #expect(text(a.flushIdle(now: 1_000_000_000)) == ["next"])
        #expect(a.committedOffset == 84)
        #expect(!a.hasPendingEvent)
    }

    @Test func startPatternStartsEvents() throws {
        var a = try FileTailLineAssembler(
            offset: 0, maxLineBytes: 1024, multiline: .init(rule: .startPattern(#"^\d{4}-\d\d-\d\d "#)))
        let input = "2026-11-21 a\nat x\nat y\n2026-11-21 b\n2026-11-21 c\ntail"
        var lines = feed(&a, input, chunk: 3)
        #expect(text(lines) == ["2026-11-21 a\nat x\nat y", "2026-11-21 b"])
        // flush: the pending event and the partial line, which continues it.
        lines = a.flush()
        #expect(text(lines) == ["2026-11-21 c\ntail"])
        #expect(a.committedOffset == Int64(input.utf8.count))
    }

    @Test func multilineEventsAreBounded() throws {
        var a = try FileTailLineAssembler(
            offset: 0, maxLineBytes: 10, multiline: .init(rule: .indentedContinuation))
        let lines = feed(&a, "abc\n  def\n  ghi\n  jkl\nx\n", chunk: 4)
        #expect(lines.count == 1)
        #expect(lines[0].bytes.count <= 10)
        #expect(lines[0].truncated)
        #expect(text(lines) == ["abc\n  def"])
    }

    @Test func invalidStartPatternIsAnError() {
        #expect(throws: (any Error).self) {
            _ = try FileTailLineAssembler(offset: 0, maxLineBytes: 10, multiline: .init(rule: .startPattern("(")))
        }
    }
}
