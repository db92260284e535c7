import ArgumentParser
import Foundation
import LogferryTransport

/// `logferry certs ca|issue` (SPEC.md §1): a private CA and the server/client certificates for mutual TLS,
/// without the openssl CLI. What the certificates hold, and why: `CertificateAuthority`; how to use them:
/// docs/PROTOCOL.md, "Certificates".
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make a CA and issue server and client certificates for mutual TLS (wss).",
        discussion: """
            logferry certs ca --dir /etc/logferry/pki
            logferry certs issue --dir /etc/logferry/pki --server central.example --san 10.0.0.5
            logferry certs issue --dir /etc/logferry/pki --client web-01

            Receiver: tls_cert/tls_key = the server pair, tls_client_ca = ca.pem. Sender: ca_file = ca.pem, \
            tls_client_cert/tls_client_key = the client pair. More: docs/PROTOCOL.md, "Certificates".
            """,
        subcommands: [CA.self, Issue.self]
    )
}

extension CertsCommand {
    struct CA: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ca",
            abstract: "Make a CA: DIR/ca.pem (give it to every node) and DIR/ca.key (mode 0600, keep it secret).",
            discussion: "Refuses to replace an existing CA (every certificate it issued would stop verifying) "
                + "unless --force.")

        @Option(name: .long, help: "Directory for ca.pem and ca.key (created, mode 0700, if missing).")
        var dir: String

        @Option(name: .long, help: "The CA's subject CN.")
        var name: String = CertificateAuthority.defaultName

        @Option(name: .long, help: "Lifetime in days.")
        var days: Int = CertificateAuthority.defaultDays

        @Flag(name: .long, help: "Replace an existing CA in DIR.")
        var force = false

        func run() throws {
            try mappingErrors {
                let ca = try CertificateAuthority.create(name: name, days: days)
                let files = try ca.write(to: dir, force: force)
                print(
                    "CA certificate  \(files.certificate)  (trust it: tls_client_ca on receivers, ca_file on senders)")
                print("CA key          \(files.privateKey)  (mode 0600; it signs every certificate: keep it offline)")
                print("subject         \(ca.certificate.subject)")
                print("valid until     \(timestamp(ca.certificate.notValidAfter))")
                print("sha256          \(CertificateAuthority.fingerprint(ca.certificate))")
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue",
            abstract: "Issue a server or client certificate: NAME.pem (the certificate alone) and NAME.key (0600).",
            discussion: """
                Server: EKU serverAuth; SANs are NAME and every --san (IP addresses as IP SANs), nothing else: \
                add --san localhost --san 127.0.0.1 if clients connect that way. Client: EKU clientAuth, CN = NAME \
                (the client's identity). P-256 keys. The CA is read from --dir; existing files are kept unless \
                --force.
                """)

        @Option(name: .long, help: "Directory holding ca.pem and ca.key.")
        var dir: String

        @Option(
            name: .long,
            help: ArgumentHelp("Issue a server certificate for NAME (a DNS name or IP address).", valueName: "NAME"))
        var server: String?

        @Option(name: .long, help: ArgumentHelp("Issue a client certificate with CN NAME.", valueName: "NAME"))
        var client: String?

        @Option(
            name: .customLong("san"),
            help: ArgumentHelp("A further DNS name or IP address (repeatable).", valueName: "DNS-or-IP"))
        var subjectAlternativeNames: [String] = []

        @Option(name: .long, help: "Lifetime in days (never past the CA's end).")
        var days: Int = CertificateAuthority.defaultLeafDays

        @Option(name: .long, help: "Directory for NAME.pem and NAME.key (default: --dir).")
        var out: String?

        @Flag(name: .long, help: "Replace existing NAME.pem/NAME.key (to renew a certificate).")
        var force = false

        func run() throws {
            let request: CertificateRequest
            switch (server, client) {
            case (let name?, nil):
                request = CertificateRequest(
                    role: .server, name: name, subjectAlternativeNames: subjectAlternativeNames, days: days)
            case (nil, let name?):
                request = CertificateRequest(
                    role: .client, name: name, subjectAlternativeNames: subjectAlternativeNames, days: days)
            case (nil, nil):
                throw UserError(description: "certs issue: give --server NAME or --client NAME")
            case (.some, .some):
                throw UserError(description: "certs issue: give either --server NAME or --client NAME, not both")
            }
            let problems = request.problems()
            if !problems.isEmpty {
                throw UserError(description: "certs issue: " + problems.joined(separator: "\ncerts issue: "))
            }
            try mappingErrors {
                let ca = try CertificateAuthority.load(directory: dir)
                let issued = try ca.issue(request)
                let files = try issued.write(to: out ?? dir, force: force)
                let role = request.role == .server ? "server" : "client"
                print("\(role) certificate  \(files.certificate)")
                print("\(role) key          \(files.privateKey)  (mode 0600)")
                print("subject             \(issued.certificate.subject)")
                let sans = request.resolvedSubjectAlternativeNames.map(\.description)
                print("SANs                \(sans.isEmpty ? "none" : sans.joined(separator: ", "))")
                let usage = request.role == .server ? "TLS Web Server Authentication" : "TLS Web Client Authentication"
                print("usage               \(usage)")
                print(
                    "valid until         \(timestamp(issued.certificate.notValidAfter))"
                        + (issued.clampedToCAExpiry ? "  (cut to the CA's end: --days ran past it)" : ""))
                print("sha256              \(issued.sha256Fingerprint)")
            }
        }
    }
}

/// Maps the CA's errors onto the exit codes of SPEC.md §1: 1 for what the user can fix, 2 for the rest.
private func mappingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as CertificateAuthorityError {
        if e.isUserError { throw UserError(description: e.message) }
        throw RuntimeFailure(description: e.message)
    }
}

private func timestamp(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: date)
}
