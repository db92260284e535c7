import Foundation
import LogferryCore
import LogferryFormat
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A socket a capture test listens on, for real senders (rsyslog, logger, Python) to write to: TCP on 127.0.0.1,
/// a unix stream socket or a unix datagram socket. Its own thread accepts and reads (blocking socket I/O never runs
/// on the cooperative pool); the bytes are kept exactly as they arrived, one buffer per connection or datagram.
final class CaptureSocket: Sendable {
    enum Kind: Sendable {
        case tcp
        case unixStream(String)
        case unixDatagram(String)
    }

    /// The TCP port (0 for unix sockets).
    let port: Int
    private let listener: Int32
    private let datagram: Bool
    private let state = Mutex(State())

    private struct State {
        var streams: [[UInt8]] = []
        var closed: [Bool] = []
        var datagrams: [[UInt8]] = []
        var stop = false
    }

    enum Failure: Error { case socket(String) }

    init(_ kind: Kind) throws {
        let stream = Int32(SOCK_STREAM.rawValue)
        let dgram = Int32(SOCK_DGRAM.rawValue)
        var fd: Int32 = -1
        var port = 0
        switch kind {
        case .tcp:
            fd = socket(AF_INET, stream, 0)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0, listen(fd, 16) == 0 else { throw Failure.socket("tcp bind: errno \(errno)") }
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
            }
            port = Int(UInt16(bigEndian: addr.sin_port))
        case .unixStream(let path), .unixDatagram(let path):
            let isDatagram: Bool
            if case .unixDatagram = kind { isDatagram = true } else { isDatagram = false }
            fd = socket(AF_UNIX, isDatagram ? dgram : stream, 0)
            unlink(path)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                throw Failure.socket("socket path too long: \(path)")
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
            }
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard bound == 0 else { throw Failure.socket("bind \(path): errno \(errno)") }
            if isDatagram {
                // Room for a burst of long datagrams while the reader thread catches up.
                var size: Int32 = 4 << 20
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            } else {
                guard listen(fd, 16) == 0 else { throw Failure.socket("listen \(path): errno \(errno)") }
            }
        }
        guard fd >= 0 else { throw Failure.socket("socket: errno \(errno)") }
        self.listener = fd
        self.port = port
        if case .unixDatagram = kind { self.datagram = true } else { self.datagram = false }
        Thread { [self] in run() }.start()
    }

    /// What each connection sent so far, in the order they were accepted.
    var streams: [[UInt8]] { state.withLock { $0.streams } }
    /// The datagrams received so far, in order.
    var datagrams: [[UInt8]] { state.withLock { $0.datagrams } }
    /// Whether every accepted connection was closed by its sender.
    var allClosed: Bool { state.withLock { !$0.closed.isEmpty && $0.closed.allSatisfy { $0 } } }

    /// Tells the reader thread to close every descriptor and end (within its 50 ms poll); does not wait for it.
    func stop() { state.withLock { $0.stop = true } }

    private func run() {
        var conns: [(fd: Int32, index: Int)] = []
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        defer {
            for c in conns { close(c.fd) }
            close(listener)
        }
        while !state.withLock({ $0.stop }) {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            fds += conns.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 50) > 0 else { continue }
            if fds[0].revents != 0 {
                if datagram {
                    let n = recv(listener, &buffer, buffer.count, 0)
                    if n >= 0 { state.withLock { $0.datagrams.append(Array(buffer[0..<n])) } }
                } else {
                    let c = accept(listener, nil, nil)
                    if c >= 0 {
                        let index = state.withLock {
                            $0.streams.append([])
                            $0.closed.append(false)
                            return $0.streams.count - 1
                        }
                        conns.append((c, index))
                    }
                }
            }
            var open: [(fd: Int32, index: Int)] = []
            for (k, c) in conns.enumerated() {
                guard k + 1 < fds.count, fds[k + 1].revents != 0 else {
                    open.append(c)
                    continue
                }
                let n = recv(c.fd, &buffer, buffer.count, 0)
                if n > 0 {
                    state.withLock { $0.streams[c.index] += buffer[0..<n] }
                    open.append(c)
                } else if n < 0 && (errno == EINTR || errno == EAGAIN) {
                    open.append(c)
                } else {
                    close(c.fd)
                    state.withLock { $0.closed[c.index] = true }
                }
            }
            conns = open
        }
    }
}

/// Cuts a captured stream into frames the way logferry's stream sources do.
func frames(_ bytes: [UInt8], _ framing: Framing) -> [Frame] {
    var splitter = FrameSplitter(framing: framing)
    return splitter.feed(bytes) + splitter.finish()
}

/// What one message must parse to. A nil `timestamp` means "the time logger ran" (checked against a window).
/// What one captured message must parse to. A nil `timestamp` means a live stamp (checked against a window),
/// unless `noTimestamp` says the message carries none.
struct CaptureExpected: Sendable {
    var host: String?
    var program: String?
    var pid: String?
    var facility: Facility
    var severity: Severity
    var timestamp: Timestamp?
    var message: String
    var msgid: String? = nil
    var sd: JSONObject? = nil
    var version: Int? = nil
    var noTimestamp = false
}

/// Checks every property of a parsed event against `x`; `label` names the message in failures.
func checkCapture(
    _ e: Event, _ x: CaptureExpected, _ label: String, window: ClosedRange<Timestamp>, fraction: Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(e.parseError == nil, "\(label): \(e.parseError ?? "")", sourceLocation: sourceLocation)
    #expect(e.host == x.host, "\(label) host", sourceLocation: sourceLocation)
    #expect(e.program == x.program, "\(label) program", sourceLocation: sourceLocation)
    #expect(e.pid == x.pid, "\(label) pid", sourceLocation: sourceLocation)
    #expect(e.facility == x.facility, "\(label) facility", sourceLocation: sourceLocation)
    #expect(e.severity == x.severity, "\(label) severity", sourceLocation: sourceLocation)
    #expect(e.msgid == x.msgid, "\(label) msgid", sourceLocation: sourceLocation)
    #expect(e.sd == x.sd, "\(label) sd", sourceLocation: sourceLocation)
    #expect(e.version == x.version, "\(label) version", sourceLocation: sourceLocation)
    #expect(e.fields.isEmpty, "\(label) fields \(e.fields)", sourceLocation: sourceLocation)
    #expect(
        e.message == x.message, "\(label) message \(e.message.prefix(200).debugDescription)",
        sourceLocation: sourceLocation)
    if x.noTimestamp {
        #expect(
            e.timestamp == nil, "\(label) timestamp \(e.timestamp?.iso8601 ?? "nil")", sourceLocation: sourceLocation)
    } else if let ts = x.timestamp {
        #expect(
            e.timestamp == ts, "\(label) timestamp \(e.timestamp?.iso8601 ?? "nil")", sourceLocation: sourceLocation)
    } else {
        // A live stamp (logger's, or rsyslog's on receipt): within the window, in whole seconds unless `fraction`.
        let ts = e.timestamp ?? Timestamp(nanos: 0)
        let low = Timestamp(nanos: window.lowerBound.nanos - window.lowerBound.subsecondNanos)
        #expect(
            (low...window.upperBound).contains(ts), "\(label) timestamp \(ts) not in \(window)",
            sourceLocation: sourceLocation)
        if !fraction { #expect(ts.subsecondNanos == 0, "\(label) fraction \(ts)", sourceLocation: sourceLocation) }
    }
}
