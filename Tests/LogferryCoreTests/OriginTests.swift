import LogferryCore
import Testing

struct OriginTests {
    let node = NodeIdentity(hex: "00112233445566778899aabbccddeeff")!

    @Test func documentIDIsAPureFunctionOfTheOrigin() {
        let a = EventOrigin(node: node, seq: 42)
        #expect(a.documentID == "00112233445566778899aabbccddeeff-42")
        #expect(EventOrigin(node: NodeIdentity(hex: node.hex)!, seq: 42).documentID == a.documentID)
        #expect(EventOrigin(node: node, seq: 43).documentID != a.documentID)
    }

    @Test func nodeIdentityRejectsBadHex() {
        #expect(NodeIdentity(hex: "xyz") == nil)
        #expect(NodeIdentity(hex: String(repeating: "g", count: 32)) == nil)
        #expect(NodeIdentity.random() != NodeIdentity.random())
    }

    @Test func spooledEventRoundTrips() throws {
        let doc = Array(#"{"message":"hi"}"#.utf8)
        let local = SpooledEvent(origin: nil, document: doc)
        let remote = SpooledEvent(origin: EventOrigin(node: node, seq: 1 << 40), document: doc)
        #expect(try SpooledEvent.decode(local.encoded()) == local)
        #expect(try SpooledEvent.decode(remote.encoded()) == remote)
        #expect(local.resolvedOrigin(localNode: node, seq: 7) == EventOrigin(node: node, seq: 7))
        #expect(remote.resolvedOrigin(localNode: NodeIdentity.random(), seq: 7) == remote.origin)
    }

    @Test func spooledEventRejectsForeignPayloads() {
        #expect(throws: SpooledEventError.self) { try SpooledEvent.decode([]) }
        #expect(throws: SpooledEventError.self) { try SpooledEvent.decode([9, 0]) }
        #expect(throws: SpooledEventError.self) { try SpooledEvent.decode([1, 1, 0, 0]) }
    }

    @Test(arguments: [
        (#"{"a":1}"#, #"{"_id":"X","a":1}"#), ("{}", #"{"_id":"X"}"#), (#"{ }"#, #"{"_id":"X" }"#),
    ])
    func idIsSplicedFirst(_ doc: String, _ expected: String) {
        #expect(String(decoding: documentWithID(Array(doc.utf8), id: "X"), as: UTF8.self) == expected)
    }

    @Test func identityPersistsInTheDataDirectory() throws {
        let dir = "/tmp/lf-origin-\(UInt64.random(in: 0...UInt64.max))"
        try makeDirectories(dir)
        let a = try NodeIdentity.loadOrCreate(dataDirectory: dir)
        let b = try NodeIdentity.loadOrCreate(dataDirectory: dir)
        #expect(a == b)
        try writeFileAtomically(dir + "/node-id", Array("garbage\n".utf8))
        #expect(throws: CoreIOError.self) { try NodeIdentity.loadOrCreate(dataDirectory: dir) }
    }
}

struct LocalHeaderTests {
    @Test func aDocumentWrittenAfterTheLocalHeaderDecodesLikeEncoded() throws {
        let doc = Array(#"{"message":"hi"}"#.utf8)
        var buffer: [UInt8] = []
        SpooledEvent.appendLocalHeader(to: &buffer)
        buffer += doc
        #expect(buffer == SpooledEvent(origin: nil, document: doc).encoded())
        #expect(try SpooledEvent.decode(buffer) == SpooledEvent(origin: nil, document: doc))
    }
}
