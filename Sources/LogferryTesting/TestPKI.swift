import Foundation

/// Certificates for one test, made with the openssl CLI in a fresh directory: a CA, a server certificate for
/// 127.0.0.1/localhost, a client certificate, and a second CA (with its own client) nobody should trust.
public struct TestPKI: Sendable {
    public let dir: String
    public var caCert: String { dir + "/ca.pem" }
    public var serverCert: String { dir + "/server.pem" }
    public var serverKey: String { dir + "/server.key" }
    public var clientCert: String { dir + "/client.pem" }
    public var clientKey: String { dir + "/client.key" }
    public var otherCACert: String { dir + "/other-ca.pem" }
    public var otherClientCert: String { dir + "/other-client.pem" }
    public var otherClientKey: String { dir + "/other-client.key" }

    public func remove() { try? FileManager.default.removeItem(atPath: dir) }

    public static func make() async throws -> TestPKI {
        let pki = TestPKI(dir: try makeTempDirectory("tls"))
        let d = pki.dir
        try await makeCA(d, "ca", "logferry test CA")
        try await makeCA(d, "other-ca", "some other CA")
        try await issue(
            d, "server", ca: "ca", cn: "localhost",
            ext: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try await issue(d, "client", ca: "ca", cn: "edge-01", ext: "extendedKeyUsage=clientAuth\n")
        try await issue(d, "other-client", ca: "other-ca", cn: "edge-02", ext: "extendedKeyUsage=clientAuth\n")
        return pki
    }

    private static let keyArgs = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    private static func makeCA(_ d: String, _ name: String, _ cn: String) async throws {
        try await openssl(
            ["req", "-x509"] + keyArgs + [
                "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).pem", "-days", "2", "-subj", "/CN=\(cn)",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
    }

    private static func issue(_ d: String, _ name: String, ca: String, cn: String, ext: String) async throws {
        try await openssl(
            ["req", "-new"] + keyArgs + [
                "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr", "-subj", "/CN=\(cn)",
            ])
        try ext.write(toFile: "\(d)/\(name).ext", atomically: false, encoding: .utf8)
        try await openssl([
            "x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/\(ca).pem", "-CAkey", "\(d)/\(ca).key",
            "-CAcreateserial", "-out", "\(d)/\(name).pem", "-days", "2", "-extfile", "\(d)/\(name).ext",
        ])
    }

    public struct OpenSSLFailed: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs openssl without blocking a thread: the exit is awaited through the termination handler.
    private static func openssl(_ arguments: [String]) async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: findTool("openssl") ?? "/usr/bin/openssl")
        p.arguments = arguments
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { c in
            p.terminationHandler = { c.resume(returning: $0.terminationStatus) }
            spawnLock.withLock {
                let err = Pipe()
                closeOnExec(err)
                p.standardError = err
                do { try p.run() } catch { c.resume(throwing: error) }
            }
        }
        let err = p.standardError as! Pipe
        if status != 0 {
            let text = String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
            throw OpenSSLFailed(description: "openssl \(arguments.joined(separator: " ")) failed (\(status)): \(text)")
        }
    }
}
