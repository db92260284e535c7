import Logging
import NIOCore
import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// TLS settings of both ends, built from PEM files (NIOSSL, its own BoringSSL).
///
/// - Receiver: server certificate and key; with a client CA, mutual TLS: the handshake fails for a client that
///   presents no certificate or one the CA did not sign (BoringSSL's `SSL_VERIFY_FAIL_IF_NO_PEER_CERT`).
/// - Sender: CA file or the system roots; optional client certificate; SNI from the URL host and name check of
///   the receiver certificate; `tlsVerify: false` turns every check off.
///
/// Both functions load and parse every file and build an `NIOSSLContext`, so a config check can call them to
/// report a missing file, a PEM that is not a certificate, or a key that does not match its certificate.
public enum TransportTLS {
    /// The server side of a `wss` receiver; nil when the configuration has no `tlsCertificateFile`.
    public static func serverConfiguration(for c: ReceiverConfiguration) throws(TLSSetupError) -> TLSConfiguration? {
        guard let certFile = c.tlsCertificateFile else { return nil }
        guard let keyFile = c.tlsKeyFile else {
            throw TLSSetupError("tls_cert is set but tls_key is not: set both (PEM files)")
        }
        let chain = try certificates(certFile, what: "tls_cert")
        let key = try privateKey(keyFile, what: "tls_key")
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.shutdownTimeout = .seconds(1)  // see clientConfiguration
        if let caFile = c.tlsClientCAFile {
            tls.trustRoots = .certificates(try certificates(caFile, what: "tls_client_ca"))
            // The server cannot check a client "hostname"; the chain to the client CA is the identity check.
            tls.certificateVerification = .noHostnameVerification
            tls.sendCANameList = true
        }
        try validate(tls, what: "tls_cert/tls_key")
        return tls
    }

    /// The client side of a `wss` sender; nil for a `ws://` URL.
    public static func clientConfiguration(for c: SenderConfiguration) throws(TLSSetupError) -> TLSConfiguration? {
        guard c.usesTLS else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile = c.caFile {
            tls.trustRoots = .certificates(try certificates(caFile, what: "ca_file"))
        }
        switch (c.tlsClientCertificateFile, c.tlsClientKeyFile) {
        case (let certFile?, let keyFile?):
            tls.certificateChain = try certificates(certFile, what: "tls_client_cert").map { .certificate($0) }
            tls.privateKey = .privateKey(try privateKey(keyFile, what: "tls_client_key"))
        case (nil, nil):
            break
        default:
            throw TLSSetupError("tls_client_cert and tls_client_key must be set together")
        }
        // How long a closing connection waits for the peer's TLS close_notify (default 5 s): every close of a
        // wss link paid it in full on loopback, delaying reconnects and shutdown. Acks are all in by then.
        tls.shutdownTimeout = .seconds(1)
        if !c.tlsVerify { tls.certificateVerification = .none }
        try validate(tls, what: "TLS client settings")
        return tls
    }

    /// The SNI name to use for `host` (the URL's host), or nil to let the websocket client send the host itself.
    ///
    /// TLS forbids IP addresses in SNI and NIOSSL refuses them, but the websocket client passes the URL host as
    /// SNI unless told otherwise. For an IPv4 literal this returns the address with a trailing dot: not an IP
    /// address to NIOSSL, so it is accepted, and the certificate check still matches only that address (its IP
    /// SANs against the connected peer address, and a DNS SAN equal to the address text).
    public static func sniHostname(forHost host: String, override: String?) -> String? {
        if let override { return override }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return host + "." }
        return nil
    }

    /// Whether an error from a connection attempt is a TLS failure (handshake, certificate, alert from the peer).
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

    private static func certificates(_ path: String, what: String) throws(TLSSetupError) -> [NIOSSLCertificate] {
        let certs: [NIOSSLCertificate]
        do {
            certs = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw TLSSetupError("\(what) \(path): cannot read a PEM certificate (\(describe(error)))")
        }
        guard !certs.isEmpty else { throw TLSSetupError("\(what) \(path): no PEM certificate in the file") }
        return certs
    }

    private static func privateKey(_ path: String, what: String) throws(TLSSetupError) -> NIOSSLPrivateKey {
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw TLSSetupError(
                "\(what) \(path): cannot read an unencrypted PEM private key (\(describe(error)))")
        }
    }

    /// Builds the context once, so a key that does not match the certificate fails here and not per connection.
    private static func validate(_ tls: TLSConfiguration, what: String) throws(TLSSetupError) {
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
