/// Constants of the logferry websocket protocol, version 1 (docs/PROTOCOL.md).
public enum ProtocolV1 {
    /// The protocol version carried in `hello` and `welcome`.
    public static let version = 1
    /// The websocket subprotocol a client offers and the receiver echoes (`Sec-WebSocket-Protocol`).
    public static let subprotocol = "logferry.v1"
    /// The default ingest path.
    public static let path = "/v1/ingest"
    /// Longest `stream` and `node` value in a `hello`, in UTF-8 bytes.
    public static let maxNameBytes = 256
}
