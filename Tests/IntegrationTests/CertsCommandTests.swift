import Foundation
import LogferryTesting
import Testing

/// `logferry certs ca|issue` through the real binary: the files and their modes, the refusal to replace a CA,
/// exit codes, and `openssl verify` on what it issued.
struct CertsCommandTests {
    static let binaryPresent = FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)
    static let opensslPath = findTool("openssl")

    func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        try LogferryProcess.runToCompletion(args)
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1) & 0o777
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func caThenServerAndClientCertificates() throws {
        let dir = try makeTempDirectory("certs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = dir + "/pki"

        let ca = try run(["certs", "ca", "--dir", pki, "--name", "test CA", "--days", "30"])
        #expect(ca.code == 0, "\(ca.err)")
        #expect(ca.out.contains("CN=test CA"), "\(ca.out)")
        #expect(try mode(pki) == 0o700)
        #expect(try mode(pki + "/ca.key") == 0o600)
        #expect(try mode(pki + "/ca.pem") == 0o644)
        let firstCA = try String(contentsOfFile: pki + "/ca.pem", encoding: .utf8)

        // A second `ca` is refused, says how to go on, and changes nothing.
        let again = try run(["certs", "ca", "--dir", pki])
        #expect(again.code == 1)
        #expect(again.err.contains("already exists") && again.err.contains("--force"), "\(again.err)")
        #expect(try String(contentsOfFile: pki + "/ca.pem", encoding: .utf8) == firstCA)

        let server = try run(["certs", "issue", "--dir", pki, "--server", "localhost", "--san", "127.0.0.1"])
        #expect(server.code == 0, "\(server.err)")
        #expect(server.out.contains("DNS:localhost, IP Address:127.0.0.1"), "\(server.out)")
        let client = try run(["certs", "issue", "--dir", pki, "--client", "edge-01", "--out", dir + "/edge"])
        #expect(client.code == 0, "\(client.err)")
        for path in [pki + "/localhost.key", dir + "/edge/edge-01.key"] { #expect(try mode(path) == 0o600, "\(path)") }
        #expect(FileManager.default.fileExists(atPath: pki + "/localhost.pem"))
        #expect(FileManager.default.fileExists(atPath: dir + "/edge/edge-01.pem"))

        // Issuing the same name again is refused unless forced (renewal).
        let reissue = try run(["certs", "issue", "--dir", pki, "--server", "localhost"])
        #expect(reissue.code == 1 && reissue.err.contains("--force"), "\(reissue.err)")
        let renewed = try run([
            "certs", "issue", "--dir", pki, "--server", "localhost", "--san", "127.0.0.1", "--force",
        ])
        #expect(renewed.code == 0, "\(renewed.err)")

        if let openssl = Self.opensslPath {
            for (path, purpose) in [(pki + "/localhost.pem", "sslserver"), (dir + "/edge/edge-01.pem", "sslclient")] {
                let v = try runTool(openssl, ["verify", "-CAfile", pki + "/ca.pem", "-purpose", purpose, path])
                #expect(v.code == 0, "\(path): \(v.out) \(v.err)")
            }
            let text = try runTool(openssl, ["x509", "-noout", "-text", "-in", pki + "/localhost.pem"]).out
            #expect(
                text.contains("DNS:localhost, IP Address:127.0.0.1") && text.contains("TLS Web Server Authentication"))
        } else if integrationRequired {
            Issue.record("openssl is not installed")
        }

        // --force replaces the CA; what the old one issued no longer verifies.
        let forced = try run(["certs", "ca", "--dir", pki, "--force"])
        #expect(forced.code == 0, "\(forced.err)")
        #expect(try String(contentsOfFile: pki + "/ca.pem", encoding: .utf8) != firstCA)
        #expect(try mode(pki + "/ca.key") == 0o600)
        if let openssl = Self.opensslPath {
            let v = try runTool(openssl, ["verify", "-CAfile", pki + "/ca.pem", pki + "/localhost.pem"])
            #expect(v.code != 0)
        }
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func userErrorsExitOneAndSayWhatToFix() throws {
        let dir = try makeTempDirectory("certs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let noCA = try run(["certs", "issue", "--dir", dir, "--client", "edge"])
        #expect(noCA.code == 1 && noCA.err.contains("logferry certs ca"), "\(noCA.err)")
        #expect(try run(["certs", "ca", "--dir", dir]).code == 0)
        let cases: [([String], String)] = [
            (["certs", "issue", "--dir", dir], "--server NAME or --client NAME"),
            (["certs", "issue", "--dir", dir, "--server", "a", "--client", "b"], "not both"),
            (["certs", "issue", "--dir", dir, "--server", "bad name"], "may hold only"),
            (["certs", "issue", "--dir", dir, "--server", "ok", "--san", "no_underscores"], "--san 'no_underscores'"),
            (["certs", "issue", "--dir", dir, "--client", "edge", "--days", "0"], "--days 0"),
            (["certs", "issue", "--dir", dir, "--client", "edge", "--days", "soon"], "days"),
            (["certs", "ca", "--dir", dir + "/other", "--days=-1"], "--days -1"),
        ]
        for (args, expected) in cases {
            let r = try run(args)
            #expect(r.code == 1, "\(args): exit \(r.code), \(r.err)")
            #expect(r.err.contains(expected), "\(args): \(r.err)")
        }
        // A directory that is a file.
        try "x".write(toFile: dir + "/file", atomically: false, encoding: .utf8)
        let notDir = try run(["certs", "ca", "--dir", dir + "/file"])
        #expect(notDir.code == 1 && notDir.err.contains("not a directory"), "\(notDir.err)")
    }
}
