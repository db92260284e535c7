import LogferryCore
import LogferryTLS

/// Configuration of an `http` source (`type: http`): clients POST JSON events to `path`, MozDef style.
public struct HTTPIngestConfiguration: Sendable, Equatable {
    /// The configured source name (`sources.NAME`).
    public var name: String
    /// Address to bind (`listen: HOST:PORT`), e.g. `0.0.0.0` or `127.0.0.1`.
    public var host: String
    /// TCP port (`listen: HOST:PORT`); 0 picks a free one (see `HTTPIngestSource.boundPort()`).
    public var port: Int
    /// The route events are POSTed to (`path`, default `/events`). `GET /health` answers 200 beside it.
    public var path: String
    /// Accepted keys (`tokens`), sent as `X-Log-Key: KEY` or `Authorization: Bearer KEY`. With neither `tokens`
    /// nor `tokensFile` the source is open: any client may send events (the node logs a warning at start).
    public var tokens: [String]
    /// A file with more keys (`tokens_file`), one per line; blank lines and lines starting with `#` are skipped.
    /// Read when the source starts, so a reload picks up a changed file.
    public var tokensFile: String?
    /// Largest request body (`max_body_bytes`, default 10 MiB); a larger one is refused with 413 before it is
    /// read to its end.
    public var maxBodyBytes: Int
    /// Largest event (`max_message_bytes`): one object's JSON text; a request holding a larger one is refused
    /// with 413 naming the event's index.
    public var maxMessageBytes: Int
    /// Requests handled at once (`max_connections`, default 256); a request beyond it is answered 503 with
    /// `Retry-After` without reading its body, so memory stays bounded by this × `maxBodyBytes`.
    public var maxConnections: Int
    /// TLS: PEM file with the server certificate and any intermediates (`tls_cert`); set with `tlsKeyFile`.
    /// Nil: plain HTTP.
    public var tlsCertificateFile: String?
    /// TLS: PEM file with the certificate's private key (`tls_key`).
    public var tlsKeyFile: String?

    public init(
        name: String, host: String = "127.0.0.1", port: Int = 8080, path: String = "/events", tokens: [String] = [],
        tokensFile: String? = nil, maxBodyBytes: Int = 10 << 20, maxMessageBytes: Int = 64 * 1024,
        maxConnections: Int = 256, tlsCertificateFile: String? = nil, tlsKeyFile: String? = nil
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.path = path
        self.tokens = tokens
        self.tokensFile = tokensFile
        self.maxBodyBytes = maxBodyBytes
        self.maxMessageBytes = maxMessageBytes
        self.maxConnections = maxConnections
        self.tlsCertificateFile = tlsCertificateFile
        self.tlsKeyFile = tlsKeyFile
    }

    /// Whether the listener speaks TLS.
    public var usesTLS: Bool { tlsCertificateFile != nil }

    /// What is wrong with this configuration, one sentence per problem (empty when usable). Checks values and
    /// their combination only; files are read when the source starts (`loadTokens()`, TLS files).
    public func problems() -> [String] {
        var out: [String] = []
        if !path.hasPrefix("/") || path == "/health" {
            out.append("path '\(path)' must start with '/' and not be /health (for example /events)")
        }
        if maxBodyBytes < 1 { out.append("max_body_bytes must be at least 1") }
        if maxMessageBytes < 1 { out.append("max_message_bytes must be at least 1") }
        if maxConnections < 1 { out.append("max_connections must be at least 1") }
        if tokens.contains(where: { $0.isEmpty }) { out.append("tokens must not contain an empty token") }
        if tlsCertificateFile != nil, tlsKeyFile == nil {
            out.append("tls_cert is set but tls_key is not: set both (PEM files) to listen with TLS")
        }
        if tlsKeyFile != nil, tlsCertificateFile == nil {
            out.append("tls_key is set but tls_cert is not: set both (PEM files) to listen with TLS")
        }
        if let cert = tlsCertificateFile, let key = tlsKeyFile {
            // Loaded here too, so `logferry check` reports an unreadable or mismatched pair, not the start.
            do {
                _ = try TLSFiles.serverConfiguration(certificateFile: cert, keyFile: key, clientCAFile: nil)
            } catch {
                out.append("\(error)")
            }
        }
        return out
    }

    /// `tokens` plus the keys in `tokensFile`. Throws when the file cannot be read; never puts a key in an error.
    public func loadTokens() throws -> [String] {
        guard let tokensFile else { return tokens }
        let text = try readSmallFile(tokensFile)
        var out = tokens
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.trimming(" \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            out.append(line)
        }
        return out
    }
}

extension Substring {
    /// Without the leading and trailing characters that are in `set`.
    func trimming(_ set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
