import NIOCore
import NIOSSL

/// TLS settings built from PEM files, shared by every TLS listener and client (the websocket transport, the tcp
/// syslog source): load and parse each file, and build an `NIOSSLContext` once so that a key that does not match
/// its certificate fails at startup (or in a config check) with a message naming the setting, not per connection.
public enum TLSFiles {
    /// A server configuration: certificate chain and key; with a client CA, mutual TLS: the handshake fails for a
    /// client that presents no certificate or one the CA did not sign (BoringSSL's
    /// `SSL_VERIFY_FAIL_IF_NO_PEER_CERT`).
    ///
    /// - Parameters:
    ///   - certificateFile: `tls_cert`, PEM, the server certificate first, then intermediates.
    ///   - keyFile: `tls_key`, an unencrypted PEM private key; nil is reported as a missing setting.
    ///   - clientCAFile: `tls_client_ca`, PEM; when set, client certificates are required and verified.
    public static func serverConfiguration(
        certificateFile: String, keyFile: String?, clientCAFile: String?
    ) throws(TLSSetupError) -> TLSConfiguration {
        guard let keyFile else {
            throw TLSSetupError("tls_cert is set but tls_key is not: set both (PEM files)")
        }
        let chain = try certificates(certificateFile, what: "tls_cert")
        let key = try privateKey(keyFile, what: "tls_key")
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        // How long a closing connection waits for the peer's TLS close_notify (default 5 s), which delayed every
        // close and shutdown on loopback.
        tls.shutdownTimeout = .seconds(1)
        if let clientCAFile {
            tls.trustRoots = .certificates(try certificates(clientCAFile, what: "tls_client_ca"))
            // The server cannot check a client "hostname"; the chain to the client CA is the identity check.
            tls.certificateVerification = .noHostnameVerification
            tls.sendCANameList = true
        }
        try validate(tls, what: "tls_cert/tls_key")
        return tls
    }

    /// Whether an error from a connection is a TLS failure (handshake, certificate, alert from the peer).
    /// (A connection that loses its peer without a TLS close — `uncleanShutdown` — is not one: that is a dead link.)
    public static func isTLSError(_ error: any Error) -> Bool {
        if error is NIOSSLExtraError || error is BoringSSLError { return true }
        guard let e = error as? NIOSSLError else { return false }
        switch e {
        case .handshakeFailed, .noCertificateToValidate, .unableToValidateCertificate, .cannotMatchULabel,
            .cannotFindPeerIP:
            return true
        default:
            return false
        }
    }

    /// The certificates in a PEM file; `what` names the setting in the error.
    public static func certificates(_ path: String, what: String) throws(TLSSetupError) -> [NIOSSLCertificate] {
        let certs: [NIOSSLCertificate]
        do {
            certs = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw TLSSetupError("\(what) \(path): cannot read a PEM certificate (\(describe(error)))")
        }
        guard !certs.isEmpty else { throw TLSSetupError("\(what) \(path): no PEM certificate in the file") }
        return certs
    }

    /// The unencrypted private key in a PEM file; `what` names the setting in the error.
    public static func privateKey(_ path: String, what: String) throws(TLSSetupError) -> NIOSSLPrivateKey {
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw TLSSetupError(
                "\(what) \(path): cannot read an unencrypted PEM private key (\(describe(error)))")
        }
    }

    /// Builds the context once, so a key that does not match the certificate fails here and not per connection.
    public static func validate(_ tls: TLSConfiguration, what: String) throws(TLSSetupError) {
        do {
            _ = try NIOSSLContext(configuration: tls)
        } catch {
            throw TLSSetupError("\(what): \(describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let e = error as? NIOSSLError, case .failedToLoadCertificate = e {
            return "not a certificate, or unreadable"
        }
        if let e = error as? NIOSSLError, case .failedToLoadPrivateKey = e { return "not a private key, or unreadable" }
        if let e = error as? IOError { return e.description }
        return "\(error)"
    }
}

/// A TLS setting that cannot be used: a missing or unreadable file, a PEM that is not what it should be, a key
/// that does not match its certificate.
public struct TLSSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
