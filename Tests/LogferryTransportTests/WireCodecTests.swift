import Foundation
import LogferryCore
import Testing

@testable import LogferryTransport

@Suite struct WireCodecTests {
    static let node = NodeIdentity(hex: "00112233445566778899aabbccddeeff")!

    static let messages: [WireMessage] = [
        .hello(Hello(stream: "00112233445566778899aabbccddeeff/central", node: "web-01")),
        .hello(Hello(stream: "s", node: "with \"quotes\" and ünïcode")),
        .welcome(Welcome(committed: 0)),
        .welcome(Welcome(committed: 9_007_199_254_740_993, maxMessageBytes: 4 << 20, maxBatchEvents: 10_000)),
        .batch(
            Batch(
                batch: 1,
                events: [
                    WireEvent(
                        seq: 1, origin: EventOrigin(node: node, seq: 1), doc: ["message": .string("hi"), "n": .int(1)]),
                    WireEvent(
                        seq: 7, origin: EventOrigin(node: node, seq: 70),
                        doc: ["nested": .object(["a": .array([.null, .bool(true), .double(1.5)])])]),
                ])),
        .ack(Ack(batch: 3, through: 7, ids: ["00112233445566778899aabbccddeeff-1", "x-70"])),
        .ack(Ack(batch: 4, through: 9, ids: [])),
        .error(ErrorMessage(.malformed, "not JSON: invalid JSON at byte 0: unexpected character")),
    ]

    @Test(arguments: messages)
    func roundTrip(_ message: WireMessage) throws {
        let bytes = WireCodec.encode(message)
        #expect(try WireCodec.decode(bytes) == message)
    }

    @Test func batchEncoderSplicesDocumentsVerbatim() throws {
        var e = BatchEncoder(batch: 12)
        let doc = Array(#"{"message":"a \"quoted\" line","status":200}"#.utf8)
        e.append(seq: 5, origin: EventOrigin(node: Self.node, seq: 3), document: doc)
        e.append(seq: 6, origin: EventOrigin(node: Self.node, seq: 4), document: Array("{}".utf8))
        #expect(e.count == 2)
        #expect(e.lastSeq == 6)
        let size = e.byteCount
        let bytes = e.finish()
        #expect(bytes.count == size)
        guard case .batch(let b) = try WireCodec.decode(bytes) else {
            Issue.record("not a batch")
            return
        }
        #expect(b.batch == 12)
        #expect(b.events.map(\.seq) == [5, 6])
        #expect(b.events[0].origin == EventOrigin(node: Self.node, seq: 3))
        #expect(b.events[0].doc["status"] == .int(200))
        #expect(JSONWriter.render(.object(b.events[0].doc)) == doc)
        // The bound the sender sizes batches with holds for the largest numbers.
        var big = BatchEncoder(batch: .max)
        let before = big.byteCount
        big.append(seq: UInt64(Int64.max), origin: EventOrigin(node: Self.node, seq: UInt64(Int64.max)), document: [])
        #expect(big.byteCount - before <= BatchEncoder.eventOverhead)
    }

    static let rejections: [(String, WireErrorCode)] = [
        ("", .malformed),
        ("not json", .malformed),
        ("[1,2]", .malformed),
        (#"{"version":1}"#, .malformed),
        (#"{"type":7}"#, .malformed),
        (#"{"type":"subscribe"}"#, .unknownType),
        (#"{"type":"hello","version":"1","stream":"s"}"#, .malformed),
        (#"{"type":"hello","version":1}"#, .malformed),
        (#"{"type":"batch","batch":1}"#, .malformed),
        (#"{"type":"batch","batch":-1,"events":[]}"#, .malformed),
        (#"{"type":"batch","batch":1,"events":[]}"#, .malformed),
        (#"{"type":"batch","batch":1,"events":{}}"#, .malformed),
        (#"{"type":"batch","batch":1.5,"events":[]}"#, .malformed),
        (#"{"type":"batch","batch":1,"events":[7]}"#, .malformed),
        (#"{"type":"batch","batch":1,"events":[{"seq":1,"origin":"zz","oseq":1,"doc":{}}]}"#, .malformed),
        (
            #"{"type":"batch","batch":1,"events":[{"seq":1,"origin":"00112233445566778899aabbccddeeff","oseq":1}]}"#,
            .malformed
        ),
        (
            #"{"type":"batch","batch":1,"events":[{"seq":1,"origin":"00112233445566778899aabbccddeeff","oseq":1,"doc":"text"}]}"#,
            .malformed
        ),
        (
            #"{"type":"batch","batch":1,"events":[{"seq":0,"origin":"00112233445566778899aabbccddeeff","oseq":1,"doc":{}}]}"#,
            .malformed
        ),
        (#"{"type":"ack","batch":1,"through":1,"ids":[1]}"#, .malformed),
        (#"{"type":"error","message":"no code"}"#, .malformed),
    ]

    @Test(arguments: rejections)
    func rejects(_ input: String, _ code: WireErrorCode) {
        #expect(throws: WireError.self) { try WireCodec.decode(input) }
        do {
            _ = try WireCodec.decode(input)
        } catch {
            #expect(error.code == code, "\(input): \(error)")
        }
    }

    @Test func rejectsTooManyEvents() {
        let events = (1...5).map {
            WireEvent(seq: UInt64($0), origin: EventOrigin(node: Self.node, seq: UInt64($0)), doc: [:])
        }
        let bytes = WireCodec.encode(.batch(Batch(batch: 1, events: events)))
        #expect(throws: WireError(.tooManyEvents, "batch of 5 events; this receiver takes at most 4")) {
            try WireCodec.decode(bytes, limits: WireLimits(maxBatchEvents: 4))
        }
        #expect((try? WireCodec.decode(bytes, limits: WireLimits(maxBatchEvents: 5))) != nil)
    }

    /// Documents are kept as the sender's bytes; one that may carry `_id` (also spelled with escapes) or holds
    /// bytes that are not UTF-8 is rebuilt without `_id` and repaired.
    @Test(arguments: [
        (#"{"a":1,  "b":[1, 2]}"#, #"{"a":1,  "b":[1, 2]}"#),
        (#"{"_id":"forged","a":1}"#, #"{"a":1}"#),
        (#"{"a":1,"_id":"forged"}"#, #"{"a":1}"#),
        (#"{"\u005fid":"forged","a":1}"#, #"{"a":1}"#),
        (#"{"message":"an \"_id\" in text","x":{"_id":1}}"#, #"{"message":"an \"_id\" in text","x":{"_id":1}}"#),
    ])
    func keepsDocumentBytesWithoutID(doc: String, stored: String) throws {
        let message =
            #"{"type":"batch","batch":1,"events":[{"seq":1,"origin":"\#(Self.node.hex)","oseq":1,"doc":\#(doc)}]}"#
        guard case .batch(let b) = try WireCodec.decode(message) else {
            Issue.record("not a batch")
            return
        }
        #expect(String(decoding: b.events[0].document, as: UTF8.self) == stored)
    }

    @Test func repairsDocumentsThatAreNotUTF8() throws {
        var message = Array(#"{"type":"batch","batch":1,"events":[{"doc":{"m":"a"#.utf8)
        message += [0xFF]
        message += Array(#"b"},"seq":1,"origin":"\#(Self.node.hex)","oseq":1}]}"#.utf8)
        guard case .batch(let b) = try WireCodec.decode(message) else {
            Issue.record("not a batch")
            return
        }
        #expect(String(decoding: b.events[0].document, as: UTF8.self) == "{\"m\":\"a\u{FFFD}b\"}")
    }

    @Test(arguments: [
        #"{"type":"batch","batch":1,"events":[{"seq":1,"origin":"ORIGIN","oseq":1,"doc":{"a":[1,}}]}"#,
        #"{"type":"batch","batch":1,"events":[{"seq":1,"origin":"ORIGIN","oseq":1,"doc":{"a":"\q"}}]}"#,
        #"{"type":"batch","batch":1,"events":[{"seq":1,"origin":"ORIGIN","oseq":1,"doc":{"a":1}} "#,
    ])
    func rejectsBrokenDocuments(message: String) {
        #expect(throws: WireError.self) {
            try WireCodec.decode(message.replacingOccurrences(of: "ORIGIN", with: Self.node.hex))
        }
    }

    @Test func ignoresUnknownFields() throws {
        let m = try WireCodec.decode(#"{"type":"welcome","version":1,"committed":5,"future":{"x":1}}"#)
        #expect(m == .welcome(Welcome(committed: 5)))
    }

    @Test func errorCodesMapToCloseCodes() {
        #expect(WireErrorCode.malformed.closeCode == .protocolError)
        #expect(WireErrorCode.unknownType.closeCode == .protocolError)
        #expect(WireErrorCode.unexpected.closeCode == .protocolError)
        #expect(WireErrorCode.tooBig.closeCode == .messageTooBig)
        #expect(WireErrorCode.tooManyEvents.closeCode == .policyViolation)
        #expect(WireErrorCode.storage.closeCode == .internalError)
        #expect(WireErrorCode.helloTimeout.closeCode == .policyViolation)
        #expect(CloseCode.messageTooBig.rawValue == 1009)
    }
}
