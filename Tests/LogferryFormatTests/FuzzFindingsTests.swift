import LogferryCore
import Testing

@testable import LogferryFormat

/// One test per defect bench/fuzz.sh found, in plain terms; the raw reproducers are in Tests/Fuzz/corpus/crash-*.
@Suite struct FuzzFindingsTests {
    /// Octet counting with a frame limit under 10 bytes: the digits of a count that turned out to be no count
    /// (`12x`, or a stream ending inside the count) were returned whole, over the limit.
    @Test(arguments: [0, 1, 2])
    func countDigitsThatAreNoCountRespectTheFrameLimit(chunk: Int) {
        for stream in ["123x rest\n", "1234567890123 x\n", "123"] {
            let (frames, truncated) = FrameSplitterTests.split(Array(stream.utf8), .octetCounted, chunk: chunk, max: 2)
            #expect(frames.count == 1, "\(stream.debugDescription)")
            #expect(frames.allSatisfy { $0.bytes.count <= 2 && $0.error != nil }, "\(stream.debugDescription)")
            #expect(frames.first?.bytes == Array("12".utf8), "\(stream.debugDescription)")
            #expect(truncated == 1, "\(stream.debugDescription)")
        }
    }
}
