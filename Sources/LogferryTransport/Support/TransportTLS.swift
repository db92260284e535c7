import LogferryTLS
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
/// Both functions load and parse every file and build an `NIOSSLContext` (through `LogferryTLS.TLSFiles`), so a
/// config check can call them to report a missing file, a PEM that is not a certificate, or a key that does not
/// match its certificate.
public enum TransportTLS {
    /// The server side of a `wss` receiver; nil when the configuration has no `tlsCertificateFile`.
    public static func serverConfiguration(for c: ReceiverConfiguration) throws(TLSSetupError) -> TLSConfiguration? {
        guard let certFile = c.tlsCertificateFile else { return nil }
        return try TLSFiles.serverConfiguration(
            certificateFile: certFile, keyFile: c.tlsKeyFile, clientCAFile: c.tlsClientCAFile)
    }

    /// The client side of a `wss` sender; nil for a `ws://` URL.
    public static func clientConfiguration(for c: SenderConfiguration) throws(TLSSetupError) -> TLSConfiguration? {
        guard c.usesTLS else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile = c.caFile {
            tls.trustRoots = .certificates(try TLSFiles.certificates(caFile, what: "ca_file"))
        }
        switch (c.tlsClientCertificateFile, c.tlsClientKeyFile) {
        case (let certFile?, let keyFile?):
            tls.certificateChain = try TLSFiles.certificates(certFile, what: "tls_client_cert").map { .certificate($0) }
            tls.privateKey = .privateKey(try TLSFiles.privateKey(keyFile, what: "tls_client_key"))
        case (nil, nil):
            break
        default:
            throw TLSSetupError("tls_client_cert and tls_client_key must be set together")
        }
        // How long a closing connection waits for the peer's TLS close_notify (default 5 s): every close of a
        // wss link paid it in full on loopback, delaying reconnects and shutdown. Acks are all in by then.
        tls.shutdownTimeout = .seconds(1)
        if !c.tlsVerify { tls.certificateVerification = .none }
        try TLSFiles.validate(tls, what: "TLS client settings")
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
    public static func isTLSError(_ error: any Error) -> Bool { TLSFiles.isTLSError(error) }
}

/// The error type moved to `LogferryTLS` (shared with the tcp syslog source); the name stays for callers here.
public typealias TLSSetupError = LogferryTLS.TLSSetupError
