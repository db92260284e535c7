import Foundation
import LogferryCore
import LogferryTesting
import Logging
import Synchronization
import Testing

@testable import LogferryTransport

/// `wss` and mutual TLS on loopback, with certificates made by the `openssl` CLI in the test: a CA, a server
/// certificate for 127.0.0.1/localhost, a client certificate, and a second CA nobody should trust.
@Suite struct TLSTests {
    static let opensslPath = findTool("openssl")

    @Test(.enabled(if: opensslPath != nil, "needs the openssl CLI"))
    func wssDeliversExactlyOnce() async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        let (a, b, nodeA) = try await journals(count: 300)
        let receiver = makeTLSReceiver(spool: b, pki: pki)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        // An IP address URL: checked against the certificate's IP SAN (SNI cannot carry an address).
        let sender = makeTLSSender(
            spool: a, node: nodeA, url: "wss://127.0.0.1:\(port)\(ProtocolV1.path)", caFile: pki.caCert)
        let s = Running(sender)
        let done = await eventually(timeout: 20) { sender.statistics.committed == 300 }
        await s.stop()
        await r.stop()
        #expect(done, "committed \(sender.statistics.committed) of 300; \(sender.statistics)")
        try await expectStoredOnce(b, from: nodeA, count: 300)
        #expect(sender.statistics.tlsFailures == 0)
        #expect(receiver.statistics.tlsHandshakesFailed == 0)
    }

    @Test(.enabled(if: opensslPath != nil, "needs the openssl CLI"))
    func aReceiverSignedByAnotherCAIsNotTrusted() async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        let (a, b, nodeA) = try await journals(count: 50)
        let receiver = makeTLSReceiver(spool: b, pki: pki)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let logs = LogCapture()
        let sender = makeTLSSender(
            spool: a, node: nodeA, url: "wss://localhost:\(port)\(ProtocolV1.path)", caFile: pki.otherCACert,
            logger: logs.logger("sender"))
        let s = Running(sender)
        let failed = await eventually(timeout: 20) { sender.statistics.tlsFailures >= 2 }
        await s.stop()
        await r.stop()
        #expect(failed, "no TLS failure counted: \(sender.statistics)")
        #expect(sender.statistics.connections == 0)
        #expect(sender.statistics.committed == 0)
        #expect(await b.lastSequence() == 0, "events were stored through an untrusted link")
        #expect(receiver.statistics.connectionsAccepted == 0)
        #expect(
            logs.messages.contains { $0.contains("disconnected from receiver") && $0.contains("TLS failure") },
            "no TLS failure logged: \(logs.messages.suffix(5))")
    }

    @Test(.enabled(if: opensslPath != nil, "needs the openssl CLI"))
    func mutualTLSRefusesAClientWithoutCertificate() async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        let (a, b, nodeA) = try await journals(count: 50)
        let receiverLogs = LogCapture()
        let receiver = makeTLSReceiver(
            spool: b, pki: pki, clientCA: pki.caCert, logger: receiverLogs.logger("receiver"))
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let sender = makeTLSSender(
            spool: a, node: nodeA, url: "wss://localhost:\(port)\(ProtocolV1.path)", caFile: pki.caCert)
        let s = Running(sender)
        let refused = await eventually(timeout: 20) {
            receiver.statistics.tlsHandshakesFailed >= 2 && sender.statistics.disconnects >= 2
        }
        await s.stop()
        await r.stop()
        #expect(refused, "receiver \(receiver.statistics), sender \(sender.statistics)")
        #expect(sender.statistics.connections == 0)
        #expect(sender.statistics.tlsFailures >= 1)
        #expect(receiver.statistics.connectionsAccepted == 0)
        #expect(await b.lastSequence() == 0)
        // The receiver says who was refused.
        #expect(
            receiverLogs.messages.contains { $0.contains("TLS handshake refused") && $0.contains("127.0.0.1") },
            "\(receiverLogs.messages.suffix(5))")
    }

    @Test(.enabled(if: opensslPath != nil, "needs the openssl CLI"))
    func mutualTLSRefusesACertificateFromAnotherCA() async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        let (a, b, nodeA) = try await journals(count: 50)
        let receiver = makeTLSReceiver(spool: b, pki: pki, clientCA: pki.caCert)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let sender = makeTLSSender(
            spool: a, node: nodeA, url: "wss://localhost:\(port)\(ProtocolV1.path)", caFile: pki.caCert,
            clientCert: (pki.otherClientCert, pki.otherClientKey))
        let s = Running(sender)
        let refused = await eventually(timeout: 20) { receiver.statistics.tlsHandshakesFailed >= 2 }
        await s.stop()
        await r.stop()
        #expect(refused, "receiver \(receiver.statistics), sender \(sender.statistics)")
        #expect(sender.statistics.connections == 0)
        #expect(await b.lastSequence() == 0)
    }

    @Test(.enabled(if: opensslPath != nil, "needs the openssl CLI"))
    func mutualTLSAcceptsAClientCertificateFromTheCA() async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        let (a, b, nodeA) = try await journals(count: 300)
        let receiver = makeTLSReceiver(spool: b, pki: pki, clientCA: pki.caCert)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        // A DNS name URL: sent as SNI, checked against the DNS SAN.
        let sender = makeTLSSender(
            spool: a, node: nodeA, url: "wss://localhost:\(port)\(ProtocolV1.path)", caFile: pki.caCert,
            clientCert: (pki.clientCert, pki.clientKey))
        let s = Running(sender)
        let done = await eventually(timeout: 20) { sender.statistics.committed == 300 }
        await s.stop()
        await r.stop()
        #expect(
            done,
            "committed \(sender.statistics.committed) of 300; sender \(sender.statistics), receiver \(receiver.statistics)"
        )
        try await expectStoredOnce(b, from: nodeA, count: 300)
        #expect(receiver.statistics.tlsHandshakesFailed == 0)
    }

    @Test(.enabled(if: opensslPath != nil, "needs the openssl CLI"))
    func verificationOffIsExplicitAndLoud() async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        let (a, b, nodeA) = try await journals(count: 20)
        let receiver = makeTLSReceiver(spool: b, pki: pki)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let logs = LogCapture()
        // Trusting the wrong CA, but verification is off: delivered, with a warning at start.
        let sender = makeTLSSender(
            spool: a, node: nodeA, url: "wss://127.0.0.1:\(port)\(ProtocolV1.path)", caFile: pki.otherCACert,
            verify: false, logger: logs.logger("sender"))
        let s = Running(sender)
        let done = await eventually(timeout: 20) { sender.statistics.committed == 20 }
        await s.stop()
        await r.stop()
        #expect(done)
        #expect(logs.messages.contains { $0.contains("warning") && $0.contains("VERIFICATION IS DISABLED") })
        try await expectStoredOnce(b, from: nodeA, count: 20)
    }

    @Test(.enabled(if: opensslPath != nil, "needs the openssl CLI"))
    func badTLSSettingsAreReportedUpFront() async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        // Key of another certificate.
        #expect(throws: TLSSetupError.self) {
            try TransportTLS.serverConfiguration(
                for: ReceiverConfiguration(tlsCertificateFile: pki.serverCert, tlsKeyFile: pki.clientKey))
        }
        // A missing file names itself.
        do {
            _ = try TransportTLS.clientConfiguration(
                for: SenderConfiguration(
                    url: "wss://x:1/v1/ingest", destinationName: "d", caFile: pki.dir + "/nope.pem"))
            Issue.record("a missing ca_file was accepted")
        } catch {
            #expect(error.description.contains("ca_file") && error.description.contains("nope.pem"))
        }
        #expect(try TransportTLS.serverConfiguration(for: ReceiverConfiguration()) == nil)
        #expect(
            try TransportTLS.clientConfiguration(for: SenderConfiguration(url: "ws://x:1/", destinationName: "d"))
                == nil)
        #expect(ReceiverConfiguration(tlsClientCAFile: pki.caCert).problems().count == 1)
        #expect(ReceiverConfiguration(tlsCertificateFile: pki.serverCert).problems().count == 1)
        #expect(SenderConfiguration(url: "ws://x:1/", destinationName: "d", caFile: pki.caCert).problems().count == 1)
        #expect(
            SenderConfiguration(url: "wss://x:1/", destinationName: "d", tlsClientCertificateFile: pki.clientCert)
                .problems().count == 1)
        #expect(SenderConfiguration(url: "wss://x:1/", destinationName: "d", caFile: pki.caCert).problems().isEmpty)
    }

    @Test func sniAndURLHosts() {
        #expect(WebSocketSender.urlHost("wss://127.0.0.1:7000/v1/ingest") == "127.0.0.1")
        #expect(WebSocketSender.urlHost("wss://central.example/v1/ingest") == "central.example")
        #expect(WebSocketSender.urlHost("wss://user@central.example:443") == "central.example")
        #expect(WebSocketSender.urlHost("wss://[::1]:7000/") == nil)
        #expect(TransportTLS.sniHostname(forHost: "127.0.0.1", override: nil) == "127.0.0.1.")
        #expect(TransportTLS.sniHostname(forHost: "central.example", override: nil) == nil)
        #expect(TransportTLS.sniHostname(forHost: "10.0.0.1", override: "central.example") == "central.example")
    }

    // MARK: Helpers

    func journals(count: Int) async throws -> (InMemorySpool, InMemorySpool, NodeIdentity) {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")
        try await fill(a, count: count)
        return (a, b, .random())
    }

    func expectStoredOnce(_ b: InMemorySpool, from nodeA: NodeIdentity, count: Int) async throws {
        let stored = try await storedEvents(b)
        #expect(stored.count == count)
        let ids = Set(stored.compactMap { $0.origin?.documentID })
        #expect(ids == Set((1...count).map { "\(nodeA.hex)-\($0)" }))
    }

    func makeTLSReceiver(
        spool: any Spool, pki: TestPKI, clientCA: String? = nil, logger: Logger = testLogger("receiver")
    ) -> WebSocketReceiver {
        WebSocketReceiver(
            configuration: ReceiverConfiguration(
                port: 0, sourceName: "central", checkpointInterval: .milliseconds(50),
                tlsCertificateFile: pki.serverCert, tlsKeyFile: pki.serverKey, tlsClientCAFile: clientCA),
            spool: spool, node: .random(), logger: logger)
    }

    func makeTLSSender(
        spool: any Spool, node: NodeIdentity, url: String, caFile: String?, clientCert: (String, String)? = nil,
        verify: Bool = true, logger: Logger = testLogger("sender")
    ) -> WebSocketSender {
        WebSocketSender(
            configuration: SenderConfiguration(
                url: url, destinationName: "central", batchLinger: .milliseconds(5),
                backoffInitial: .milliseconds(20), backoffMax: .milliseconds(100), caFile: caFile,
                tlsClientCertificateFile: clientCert?.0, tlsClientKeyFile: clientCert?.1, tlsVerify: verify),
            spool: spool, node: node, nodeName: "edge", logger: logger)
    }
}

/// A logger whose lines are kept for the test to read ("level message key=value ...").
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var messages: [String] { lines.withLock { $0 } }

    func logger(_ label: String) -> Logger {
        var l = Logger(label: label) { _ in Handler(capture: self) }
        l.logLevel = .info
        return l
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(
            level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
            file: String, function: String, line: UInt
        ) {
            var all = metadata
            if let extra { all.merge(extra) { $1 } }
            let meta = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(level) \(message) \(meta)")
        }
    }
}
