import Foundation
import LogferryCore
import LogferryTesting
import Testing
import X509

@testable import LogferryTransport

/// The CA behind `logferry certs`: what its certificates hold (read back with X509 and with `openssl x509`),
/// that chains verify (X509's verifier, `openssl verify`, a real mutual-TLS link through NIOSSL), and how files
/// are written.
@Suite struct CertificateAuthorityTests {
    static let opensslPath = findTool("openssl")

    @Test func theCAIsAPathLengthZeroCAWithKeyIdentifiers() throws {
        let now = Date()
        let ca = try CertificateAuthority.create(name: "test CA", days: 10, now: now)
        let c = ca.certificate
        #expect(c.subject.description == "CN=test CA")
        #expect(c.issuer == c.subject)
        #expect(c.signatureAlgorithm == .ecdsaWithSHA256)
        #expect(c.publicKey.isValidSignature(c.signature, for: c))
        #expect(try c.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(c.extensions[oid: .X509ExtensionID.basicConstraints]?.critical == true)
        let usage = try #require(try c.extensions.keyUsage)
        #expect(usage.keyCertSign && usage.cRLSign && !usage.digitalSignature)
        #expect(c.extensions[oid: .X509ExtensionID.keyUsage]?.critical == true)
        let ski = try #require(try c.extensions.subjectKeyIdentifier)
        #expect(ski == SubjectKeyIdentifier(hash: c.publicKey))
        #expect(try c.extensions.authorityKeyIdentifier?.keyIdentifier == ski.keyIdentifier)
        #expect(try c.extensions.extendedKeyUsage == nil)
        #expect(abs(c.notValidAfter.timeIntervalSince(now) - 10 * 86400) < 2)
        #expect(c.notValidBefore < now)
        expectRandomSerial(c)
    }

    @Test func aServerCertificateNamesItsHostsAndIsForServersOnly() throws {
        let ca = try CertificateAuthority.create()
        let issued = try ca.issue(
            CertificateRequest(
                role: .server, name: "central.example", subjectAlternativeNames: ["10.0.0.5", "::1", "*.logs.example"]))
        let c = issued.certificate
        #expect(c.subject.description == "CN=central.example")
        #expect(c.issuer == ca.certificate.subject)
        #expect(ca.certificate.publicKey.isValidSignature(c.signature, for: c))
        #expect(c.signatureAlgorithm == .ecdsaWithSHA256)
        #expect(issued.privateKey.publicKey == c.publicKey)
        #expect(try c.extensions.basicConstraints == .notCertificateAuthority)
        #expect(c.extensions[oid: .X509ExtensionID.basicConstraints]?.critical == true)
        let usage = try #require(try c.extensions.keyUsage)
        #expect(usage.digitalSignature && !usage.keyCertSign && !usage.keyEncipherment)
        #expect(try c.extensions.extendedKeyUsage == ExtendedKeyUsage([.serverAuth]))
        let sans = try #require(try c.extensions.subjectAlternativeNames)
        #expect(
            Array(sans) == [
                .dnsName("central.example"), .ipAddress(.init(contentBytes: [10, 0, 0, 5])),
                .ipAddress(.init(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
                .dnsName("*.logs.example"),
            ])
        #expect(try c.extensions.subjectKeyIdentifier == SubjectKeyIdentifier(hash: c.publicKey))
        #expect(
            try c.extensions.authorityKeyIdentifier?.keyIdentifier
                == ca.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
        #expect(
            issued.request.resolvedSubjectAlternativeNames.map(\.description) == [
                "DNS:central.example", "IP Address:10.0.0.5", "IP Address:::1", "DNS:*.logs.example",
            ])
        expectRandomSerial(c)
    }

    @Test func aServerNamedByAnAddressGetsAnIPSANAndDuplicatesAreDropped() throws {
        let ca = try CertificateAuthority.create()
        let issued = try ca.issue(
            CertificateRequest(role: .server, name: "127.0.0.1", subjectAlternativeNames: ["localhost", "127.0.0.1"]))
        let sans = try #require(try issued.certificate.extensions.subjectAlternativeNames)
        #expect(Array(sans) == [.ipAddress(.init(contentBytes: [127, 0, 0, 1])), .dnsName("localhost")])
    }

    @Test func aClientCertificateCarriesItsNameAsCNAndNoSANs() throws {
        let ca = try CertificateAuthority.create()
        let issued = try ca.issue(CertificateRequest(role: .client, name: "edge-01"))
        let c = issued.certificate
        #expect(c.subject.description == "CN=edge-01")
        #expect(try c.extensions.extendedKeyUsage == ExtendedKeyUsage([.clientAuth]))
        #expect(try c.extensions.subjectAlternativeNames == nil)
        #expect(try c.extensions.basicConstraints == .notCertificateAuthority)
        #expect(ca.certificate.publicKey.isValidSignature(c.signature, for: c))
    }

    @Test func theVerifierAcceptsTheChainForTheRightHostOnly() async throws {
        let ca = try CertificateAuthority.create()
        let server = try ca.issue(
            CertificateRequest(role: .server, name: "localhost", subjectAlternativeNames: ["127.0.0.1"]))
        func verdict(host: String?, ip: String?, roots: [Certificate]) async -> Bool {
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
                RFC5280Policy()
                ServerIdentityPolicy(serverHostname: host, serverIP: ip)
            }
            if case .validCertificate = await verifier.validate(leaf: server.certificate, intermediates: .init()) {
                return true
            }
            return false
        }
        #expect(await verdict(host: "localhost", ip: nil, roots: [ca.certificate]))
        #expect(await verdict(host: nil, ip: "127.0.0.1", roots: [ca.certificate]))
        #expect(!(await verdict(host: "central.example", ip: nil, roots: [ca.certificate])))
        #expect(!(await verdict(host: "localhost", ip: nil, roots: [try CertificateAuthority.create().certificate])))
    }

    @Test(arguments: [
        (CertificateRequest(role: .server, name: ""), "is empty"),
        (CertificateRequest(role: .server, name: "../etc/passwd"), "may hold only"),
        (CertificateRequest(role: .client, name: "-rf"), "must not start"),
        (CertificateRequest(role: .client, name: ".."), "must not start"),
        (CertificateRequest(role: .client, name: "edge 01"), "may hold only"),
        (CertificateRequest(role: .client, name: String(repeating: "a", count: 65)), "longer than 64"),
        (CertificateRequest(role: .server, name: "under_score"), "neither a DNS name nor an IP address"),
        (CertificateRequest(role: .server, name: "-bad.example"), "may hold only"),
        (CertificateRequest(role: .server, name: "ok.example", subjectAlternativeNames: ["bad..name"]), "--san"),
        (CertificateRequest(role: .server, name: "ok.example", subjectAlternativeNames: ["a.-b"]), "--san"),
        (CertificateRequest(role: .server, name: "ok.example", subjectAlternativeNames: ["300.1.1.1"]), "--san"),
        (CertificateRequest(role: .server, name: "ok.example", subjectAlternativeNames: ["x.*.example"]), "--san"),
        (CertificateRequest(role: .server, name: "ok.example", subjectAlternativeNames: [""]), "--san"),
        (CertificateRequest(role: .client, name: "edge", days: 0), "--days 0"),
        (CertificateRequest(role: .client, name: "edge", days: 36501), "--days 36501"),
    ])
    func badRequestsAreRefusedWithAHint(_ request: CertificateRequest, _ expected: String) throws {
        let problems = request.problems()
        #expect(problems.contains { $0.contains(expected) }, "\(problems)")
        let ca = try CertificateAuthority.create()
        #expect(throws: CertificateAuthorityError.self) { try ca.issue(request) }
    }

    @Test func goodNamesAreAccepted() {
        for san in ["a", "a.b", "xn--bcher-kva.example", "*.example.com", "10.0.0.1", "fe80::1", "A-1.b-2.C"] {
            #expect(SubjectAlternativeName(san) != nil, "\(san)")
        }
        #expect(CertificateRequest(role: .client, name: "edge_01:web").problems().isEmpty)
        #expect(CertificateRequest(role: .server, name: "::1").problems().isEmpty)
    }

    @Test func aLeafNeverOutlivesItsCAAndAnExpiredCAIssuesNothing() throws {
        let now = Date()
        let ca = try CertificateAuthority.create(days: 30, now: now)
        let issued = try ca.issue(CertificateRequest(role: .client, name: "edge", days: 825), now: now)
        #expect(issued.clampedToCAExpiry)
        #expect(issued.certificate.notValidAfter == ca.certificate.notValidAfter)
        #expect(issued.certificate.notValidBefore >= ca.certificate.notValidBefore)
        let short = try ca.issue(CertificateRequest(role: .client, name: "edge", days: 2), now: now)
        #expect(!short.clampedToCAExpiry)
        do {
            _ = try ca.issue(CertificateRequest(role: .client, name: "edge"), now: now + 31 * 86400)
            Issue.record("an expired CA issued a certificate")
        } catch {
            #expect(error.code == .expiredCA && error.isUserError)
        }
        #expect(throws: CertificateAuthorityError.self) { try CertificateAuthority.create(days: 0) }
        #expect(throws: CertificateAuthorityError.self) { try CertificateAuthority.create(name: "") }
    }

    @Test func filesAreWrittenWithTheirModesAndNeverReplacedUnlessForced() throws {
        let dir = try makeTempDirectory("ca")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = dir + "/new/pki"
        let ca = try CertificateAuthority.create()
        let files = try ca.write(to: pki)
        #expect(files == CertificateFiles(certificate: pki + "/ca.pem", privateKey: pki + "/ca.key"))
        #expect(try mode(pki) == 0o700)
        #expect(try mode(files.privateKey) == 0o600)
        #expect(try mode(files.certificate) == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: pki).sorted() == ["ca.key", "ca.pem"])
        let pem = try String(contentsOfFile: files.certificate, encoding: .utf8)
        #expect(pem.hasPrefix("-----BEGIN CERTIFICATE-----\n") && pem.components(separatedBy: "BEGIN").count == 2)
        #expect(try String(contentsOfFile: files.privateKey, encoding: .utf8).hasPrefix("-----BEGIN PRIVATE KEY-----"))

        // Refused without force, and nothing changed.
        do {
            try CertificateAuthority.create().write(to: pki)
            Issue.record("an existing CA was replaced")
        } catch {
            #expect(error.code == .alreadyExists && error.isUserError && error.message.contains("--force"))
        }
        let loaded = try CertificateAuthority.load(directory: pki)
        #expect(loaded.certificate == ca.certificate)
        #expect(loaded.privateKey.publicKey == ca.certificate.publicKey)

        // A half-present CA (key only) is refused too.
        try FileManager.default.removeItem(atPath: files.certificate)
        #expect(throws: CertificateAuthorityError.self) { try CertificateAuthority.create().write(to: pki) }

        // Forced: replaced, modes kept.
        let other = try CertificateAuthority.create(name: "second CA")
        try other.write(to: pki, force: true)
        #expect(try CertificateAuthority.load(directory: pki).certificate == other.certificate)
        #expect(try mode(files.privateKey) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: pki).sorted() == ["ca.key", "ca.pem"])

        // Leaves: same rules.
        let issued = try other.issue(CertificateRequest(role: .server, name: "localhost"))
        let leafFiles = try issued.write(to: pki)
        #expect(leafFiles.certificate == pki + "/localhost.pem")
        #expect(try mode(leafFiles.privateKey) == 0o600)
        #expect(throws: CertificateAuthorityError.self) { try issued.write(to: pki) }
        try issued.write(to: pki, force: true)
    }

    @Test func aBrokenOrMismatchedCAIsAUserError() throws {
        let dir = try makeTempDirectory("ca")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try CertificateAuthority.load(directory: dir)
            Issue.record("loaded a CA from an empty directory")
        } catch {
            #expect(error.code == .noCA && error.isUserError && error.message.contains("logferry certs ca"))
        }
        let a = try CertificateAuthority.create()
        let b = try CertificateAuthority.create()
        try a.write(to: dir)
        // b's key with a's certificate.
        try b.privateKey.serializeAsPEM().pemString.write(toFile: dir + "/ca.key", atomically: false, encoding: .utf8)
        do {
            _ = try CertificateAuthority.load(directory: dir)
            Issue.record("loaded a CA whose key is another's")
        } catch {
            #expect(error.code == .unusableCA && error.message.contains("does not belong"))
        }
        try "garbage".write(toFile: dir + "/ca.pem", atomically: false, encoding: .utf8)
        #expect(throws: CertificateAuthorityError.self) { try CertificateAuthority.load(directory: dir) }
        // A leaf is not a CA.
        let leaf = try a.issue(CertificateRequest(role: .client, name: "edge"))
        #expect(throws: CertificateAuthorityError.self) {
            try CertificateAuthority(certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
        }
    }

    // MARK: openssl

    @Test(.enabled(if: opensslPath != nil || integrationRequired, "needs the openssl CLI"))
    func opensslVerifiesAndShowsWhatWasIssued() throws {
        let openssl = try #require(Self.opensslPath, "openssl is not installed")
        let dir = try makeTempDirectory("ca")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ca = try CertificateAuthority.create()
        try ca.write(to: dir)
        try ca.issue(CertificateRequest(role: .server, name: "localhost", subjectAlternativeNames: ["127.0.0.1"]))
            .write(to: dir)
        try ca.issue(CertificateRequest(role: .client, name: "edge-01")).write(to: dir)
        try CertificateAuthority.create().issue(CertificateRequest(role: .client, name: "stranger")).write(to: dir)

        for (name, purpose) in [("localhost", "sslserver"), ("edge-01", "sslclient")] {
            let r = try runTool(
                openssl, ["verify", "-CAfile", dir + "/ca.pem", "-purpose", purpose, "\(dir)/\(name).pem"])
            #expect(r.code == 0 && r.out.contains(": OK"), "\(name): \(r.out) \(r.err)")
        }
        // Server and client certificates are not interchangeable, and another CA's certificate fails.
        let wrongPurpose = try runTool(
            openssl, ["verify", "-CAfile", dir + "/ca.pem", "-purpose", "sslserver", dir + "/edge-01.pem"])
        #expect(wrongPurpose.code != 0)
        let stranger = try runTool(openssl, ["verify", "-CAfile", dir + "/ca.pem", dir + "/stranger.pem"])
        #expect(stranger.code != 0)

        let server = try runTool(openssl, ["x509", "-noout", "-text", "-in", dir + "/localhost.pem"]).out
        #expect(server.contains("DNS:localhost, IP Address:127.0.0.1"), "\(server)")
        #expect(server.contains("TLS Web Server Authentication"))
        #expect(server.contains("CA:FALSE"))
        #expect(server.contains("Digital Signature"))
        #expect(server.contains("ecdsa-with-SHA256"))
        #expect(server.contains("prime256v1") || server.contains("P-256"))
        #expect(server.contains("X509v3 Subject Key Identifier") && server.contains("X509v3 Authority Key Identifier"))
        let client = try runTool(openssl, ["x509", "-noout", "-text", "-in", dir + "/edge-01.pem"]).out
        #expect(client.contains("Subject: CN=edge-01") || client.contains("Subject: CN = edge-01"), "\(client)")
        #expect(client.contains("TLS Web Client Authentication"))
        #expect(!client.contains("Subject Alternative Name"))
        let caText = try runTool(openssl, ["x509", "-noout", "-text", "-in", dir + "/ca.pem"]).out
        #expect(caText.contains("CA:TRUE, pathlen:0"), "\(caText)")
        #expect(caText.contains("Certificate Sign, CRL Sign"))
        // The keys are what openssl expects of an unencrypted P-256 key.
        let key = try runTool(openssl, ["pkey", "-noout", "-text", "-in", dir + "/edge-01.key"])
        #expect(key.code == 0 && key.out.contains("prime256v1"), "\(key.err)")
    }

    // MARK: Mutual TLS through NIOSSL: a wss receiver with tls_client_ca and a sender, as in TLSTests

    @Test func aReceiverRequiringClientCertificatesAcceptsOneIssuedByItsCA() async throws {
        let pki = try IssuedPKI.make()
        defer { pki.remove() }
        let (a, b, nodeA) = try await journals(count: 100)
        let receiver = makeMutualTLSReceiver(spool: b, pki: pki)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let sender = makeTLSSender(
            spool: a, node: nodeA, url: "wss://127.0.0.1:\(port)\(ProtocolV1.path)", pki: pki,
            clientCert: (pki.clientCert, pki.clientKey))
        let s = Running(sender)
        let done = await eventually(timeout: 20) { sender.statistics.committed == 100 }
        await s.stop()
        await r.stop()
        #expect(done, "sender \(sender.statistics), receiver \(receiver.statistics)")
        let stored = try await storedEvents(b)
        #expect(stored.count == 100)
        #expect(Set(stored.compactMap { $0.origin?.documentID }) == Set((1...100).map { "\(nodeA.hex)-\($0)" }))
        #expect(receiver.statistics.tlsHandshakesFailed == 0)
    }

    @Test func aReceiverRequiringClientCertificatesRefusesOneFromAnotherCA() async throws {
        let pki = try IssuedPKI.make()
        defer { pki.remove() }
        let (a, b, nodeA) = try await journals(count: 20)
        let receiver = makeMutualTLSReceiver(spool: b, pki: pki)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let sender = makeTLSSender(
            spool: a, node: nodeA, url: "wss://localhost:\(port)\(ProtocolV1.path)", pki: pki,
            clientCert: (pki.otherClientCert, pki.otherClientKey))
        let s = Running(sender)
        let refused = await eventually(timeout: 20) { receiver.statistics.tlsHandshakesFailed >= 2 }
        await s.stop()
        await r.stop()
        #expect(refused, "receiver \(receiver.statistics), sender \(sender.statistics)")
        #expect(sender.statistics.connections == 0)
        #expect(receiver.statistics.connectionsAccepted == 0)
        #expect(await b.lastSequence() == 0)
    }

    @Test func aServerCertificateCannotBeUsedAsAClientCertificate() async throws {
        let pki = try IssuedPKI.make()
        defer { pki.remove() }
        let (a, b, nodeA) = try await journals(count: 20)
        let receiver = makeMutualTLSReceiver(spool: b, pki: pki)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        // Signed by the right CA, but its EKU says serverAuth only.
        let sender = makeTLSSender(
            spool: a, node: nodeA, url: "wss://localhost:\(port)\(ProtocolV1.path)", pki: pki,
            clientCert: (pki.serverCert, pki.serverKey))
        let s = Running(sender)
        let refused = await eventually(timeout: 20) { receiver.statistics.tlsHandshakesFailed >= 2 }
        await s.stop()
        await r.stop()
        #expect(refused, "receiver \(receiver.statistics), sender \(sender.statistics)")
        #expect(await b.lastSequence() == 0)
    }

    // MARK: Helpers

    func expectRandomSerial(_ c: Certificate, sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = Array(c.serialNumber.bytes)
        #expect(bytes.count == 16, sourceLocation: sourceLocation)
        #expect((0x40..<0x80).contains(bytes.first ?? 0), sourceLocation: sourceLocation)
    }

    func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
    }
}

/// A CA, a server certificate for localhost/127.0.0.1, a client certificate, and a client certificate from
/// another CA, all made by `CertificateAuthority` (what `TestPKI` makes with the openssl CLI).
struct IssuedPKI {
    let dir: String
    var caCert: String { dir + "/ca.pem" }
    var serverCert: String { dir + "/localhost.pem" }
    var serverKey: String { dir + "/localhost.key" }
    var clientCert: String { dir + "/edge-01.pem" }
    var clientKey: String { dir + "/edge-01.key" }
    var otherClientCert: String { dir + "/other/edge-02.pem" }
    var otherClientKey: String { dir + "/other/edge-02.key" }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    static func make() throws -> IssuedPKI {
        let pki = IssuedPKI(dir: try makeTempDirectory("tls"))
        let ca = try CertificateAuthority.create(name: "logferry test CA", days: 2)
        try ca.write(to: pki.dir)
        try ca.issue(
            CertificateRequest(role: .server, name: "localhost", subjectAlternativeNames: ["127.0.0.1"], days: 2)
        ).write(to: pki.dir)
        try ca.issue(CertificateRequest(role: .client, name: "edge-01", days: 2)).write(to: pki.dir)
        let other = try CertificateAuthority.create(name: "some other CA", days: 2)
        try other.write(to: pki.dir + "/other")
        try other.issue(CertificateRequest(role: .client, name: "edge-02", days: 2)).write(to: pki.dir + "/other")
        return pki
    }
}

extension CertificateAuthorityTests {
    func journals(count: Int) async throws -> (InMemorySpool, InMemorySpool, NodeIdentity) {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")
        try await fill(a, count: count)
        return (a, b, .random())
    }

    func makeMutualTLSReceiver(spool: any Spool, pki: IssuedPKI) -> WebSocketReceiver {
        WebSocketReceiver(
            configuration: ReceiverConfiguration(
                port: 0, sourceName: "central", checkpointInterval: .milliseconds(50),
                tlsCertificateFile: pki.serverCert, tlsKeyFile: pki.serverKey, tlsClientCAFile: pki.caCert),
            spool: spool, node: .random(), logger: testLogger("receiver"))
    }

    func makeTLSSender(
        spool: any Spool, node: NodeIdentity, url: String, pki: IssuedPKI, clientCert: (String, String)
    ) -> WebSocketSender {
        WebSocketSender(
            configuration: SenderConfiguration(
                url: url, destinationName: "central", batchLinger: .milliseconds(5),
                backoffInitial: .milliseconds(20), backoffMax: .milliseconds(100), caFile: pki.caCert,
                tlsClientCertificateFile: clientCert.0, tlsClientKeyFile: clientCert.1),
            spool: spool, node: node, nodeName: "edge", logger: testLogger("sender"))
    }
}
