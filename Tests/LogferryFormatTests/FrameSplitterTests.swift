import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct FrameSplitterTests {
    static func counted(_ message: String) -> [UInt8] { Array("\(message.utf8.count) \(message)".utf8) }

    /// Feeds `stream` in chunks of `chunk` bytes (0 = all at once) and finishes.
    static func split(_ stream: [UInt8], _ framing: Framing, chunk: Int = 0, max: Int = 65536) -> ([Frame], Int) {
        var splitter = FrameSplitter(framing: framing, maxFrameBytes: max)
        var frames: [Frame] = []
        if chunk == 0 {
            frames += splitter.feed(stream)
        } else {
            var i = 0
            while i < stream.count {
                frames += splitter.feed(stream[i..<Swift.min(i + chunk, stream.count)])
                i += chunk
            }
        }
        frames += splitter.finish()
        return (frames, splitter.truncatedFrames)
    }

    static let messages = ["<13>Nov 21 12:00:00 app: one", "<13>1 - h app - - - two\nwith newline", "x", "é ünïcode"]

    @Test(arguments: [0, 1, 2, 3, 7, 64])
    func octetCountedAcrossFeeds(chunk: Int) {
        let stream = Self.messages.flatMap(Self.counted)
        let (frames, truncated) = Self.split(stream, .octetCounted, chunk: chunk)
        #expect(frames.map { text($0.bytes) } == Self.messages)
        #expect(frames.allSatisfy { $0.error == nil })
        #expect(truncated == 0)
    }

    @Test func severalFramesInOneFeedAndPartialKept() {
        var s = FrameSplitter(framing: .octetCounted)
        let first = s.feed(Self.counted("ab") + Self.counted("cde") + Array("10 abc".utf8))
        #expect(first == [Frame(Array("ab".utf8)), Frame(Array("cde".utf8))])
        #expect(s.feed(Array("defg".utf8)).isEmpty)
        let rest = s.feed(Array("hij".utf8))
        #expect(rest == [Frame(Array("abcdefghij".utf8))])
        #expect(s.finish().isEmpty)
    }

    @Test func streamEndingInsideAFrame() {
        var s = FrameSplitter(framing: .octetCounted)
        #expect(s.feed(Array("10 abc".utf8)).isEmpty)
        #expect(s.finish() == [Frame(Array("abc".utf8), error: "octet counting: stream ended after 3 of 10 bytes")])
        var t = FrameSplitter(framing: .octetCounted)
        #expect(t.feed(Array("12".utf8)).isEmpty)
        #expect(t.finish() == [Frame(Array("12".utf8), error: "octet counting: stream ended inside a frame length")])
    }

    @Test func badLengthBecomesErrorFrameAndResyncsAtNewline() {
        let stream = Array("12x3 foo\n".utf8) + Self.counted("ok") + Array("12345678901 z\n".utf8) + Self.counted("ok2")
        let (frames, _) = Self.split(stream, .octetCounted, chunk: 1)
        #expect(frames.count == 4)
        #expect(
            frames[0]
                == Frame(
                    Array("12x3 foo".utf8), error: "octet counting: invalid frame length (expected digits and a space)")
        )
        #expect(frames[1] == Frame(Array("ok".utf8)))
        #expect(frames[2].bytes == Array("12345678901 z".utf8))
        #expect(frames[2].error != nil)
        #expect(frames[3] == Frame(Array("ok2".utf8)))
    }

    @Test func nonTransparentFramesMixWithCountedOnes() {
        let stream = Self.counted("a b") + Array("<13>app: line\r\n\n".utf8) + Self.counted("c")
        let (frames, _) = Self.split(stream, .octetCounted, chunk: 2)
        #expect(frames == [Frame(Array("a b".utf8)), Frame(Array("<13>app: line".utf8)), Frame(Array("c".utf8))])
    }

    @Test func oversizedCountedFrameIsTruncatedAndStreamStaysInSync() {
        let stream = Self.counted("123456789012345") + Self.counted("next")
        for chunk in [0, 1, 4] {
            let (frames, truncated) = Self.split(stream, .octetCounted, chunk: chunk, max: 10)
            #expect(frames == [Frame(Array("1234567890".utf8)), Frame(Array("next".utf8))])
            #expect(truncated == 1)
        }
    }

    @Test(arguments: [0, 1, 3])
    func lines(chunk: Int) {
        let (frames, _) = Self.split(Array("a\r\nb\n\n\nc".utf8), .lines, chunk: chunk)
        #expect(frames == [Frame(Array("a".utf8)), Frame(Array("b".utf8)), Frame(Array("c".utf8))])
    }

    @Test func longLineIsTruncated() {
        let (frames, truncated) = Self.split(Array("abcdefghijkl\nxy\n".utf8), .lines, chunk: 5, max: 4)
        #expect(frames == [Frame(Array("abcd".utf8)), Frame(Array("xy".utf8))])
        #expect(truncated == 1)
    }

    @Test func noneIsOneMessage() {
        let (frames, _) = Self.split(Array("a\nb\n".utf8), .none, chunk: 1)
        #expect(frames == [Frame(Array("a\nb\n".utf8))])
        #expect(Self.split([], .none).0.isEmpty)
        let (cut, truncated) = Self.split(Array("abcdef".utf8), .none, chunk: 2, max: 3)
        #expect(cut == [Frame(Array("abc".utf8))])
        #expect(truncated == 1)
    }

    @Test func framingNamesMatchTheCommandLine() {
        #expect(Framing.allCases.map(\.rawValue) == ["none", "lines", "octet-counted"])
    }
}
