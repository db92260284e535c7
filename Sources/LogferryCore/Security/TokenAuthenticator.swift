import Synchronization

/// Compares two byte strings in time that depends only on their lengths, never on where they differ.
///
/// Both are walked to the longer one's length, the shorter one padded with zeros, and a length difference is
/// folded into the result instead of returning early, so a wrong guess of the right length and one of the wrong
/// length take the same path.
public func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    let x = Array(a)
    let y = Array(b)
    let n = max(x.count, y.count)
    var diff = UInt64(truncatingIfNeeded: x.count ^ y.count)
    x.withUnsafeBufferPointer { xb in
        y.withUnsafeBufferPointer { yb in
            for i in 0..<n {
                let p = i < xb.count ? xb[i] : 0
                let q = i < yb.count ? yb[i] : 0
                diff |= UInt64(p ^ q)
            }
        }
    }
    return diff == 0
}

/// Checks a presented token (an `Authorization: Bearer <token>` header, or a bare token such as the HTTP ingest
/// source's `X-Log-Key`) against the configured tokens. Shared by the websocket receiver and the HTTP ingest source.
///
/// Every configured token is compared (no early exit on a match), each in constant time, so the response time
/// does not tell which token nearly matched. An empty token list means the listener is open. Tokens are never
/// logged: callers log only that a token was missing or wrong.
public struct TokenAuthenticator: Sendable {
    private let tokens: [[UInt8]]

    public init(tokens: [String]) {
        self.tokens = tokens.map { Array($0.utf8) }
    }

    /// True when no token is configured: every client is accepted.
    public var isOpen: Bool { tokens.isEmpty }

    /// Whether an `Authorization` header value carries one of the tokens.
    public func authorize(authorizationHeader: String?) -> Bool {
        if tokens.isEmpty { return true }
        guard let header = authorizationHeader, let presented = Self.bearerToken(header) else { return false }
        return matches(presented)
    }

    /// Whether a bare token (an `X-Log-Key` header value, surrounding spaces and tabs ignored) is one of the tokens.
    public func authorize(token: String?) -> Bool {
        if tokens.isEmpty { return true }
        guard let token else { return false }
        var bytes = Array(token.utf8)[...]
        while let f = bytes.first, f == 0x20 || f == 0x09 { bytes = bytes.dropFirst() }
        while let l = bytes.last, l == 0x20 || l == 0x09 { bytes = bytes.dropLast() }
        return !bytes.isEmpty && matches(Array(bytes))
    }

    private func matches(_ presented: [UInt8]) -> Bool {
        var ok = false
        for t in tokens {
            // Non-short-circuiting: every token is compared whatever the earlier results were.
            ok = constantTimeEquals(presented, t) || ok
        }
        return ok
    }

    /// The token of a `Bearer` credential (scheme case-insensitive, RFC 6750), nil for any other scheme.
    static func bearerToken(_ header: String) -> [UInt8]? {
        var bytes = Array(header.utf8)[...]
        while let f = bytes.first, f == 0x20 || f == 0x09 { bytes = bytes.dropFirst() }
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count else { return nil }
        for (i, c) in scheme.enumerated() {
            let h = bytes[bytes.startIndex + i]
            guard h | 0x20 == c else { return nil }  // ASCII lowercase; `c` holds only letters
        }
        var rest = bytes.dropFirst(scheme.count)
        guard let sep = rest.first, sep == 0x20 || sep == 0x09 else { return nil }
        while let f = rest.first, f == 0x20 || f == 0x09 { rest = rest.dropFirst() }
        while let l = rest.last, l == 0x20 || l == 0x09 { rest = rest.dropLast() }
        return rest.isEmpty ? nil : Array(rest)
    }
}

/// The tokens a listener accepts, replaceable while it runs (SIGHUP re-reads `tokens` and `tokens_file`). Each
/// request reads the current set once; a replacement affects only requests that start after it.
public final class TokenStore: Sendable {
    private let value: Mutex<TokenAuthenticator>

    public init(tokens: [String]) { value = Mutex(TokenAuthenticator(tokens: tokens)) }

    public var current: TokenAuthenticator { value.withLock { $0 } }

    public func replace(_ tokens: [String]) { value.withLock { $0 = TokenAuthenticator(tokens: tokens) } }
}
