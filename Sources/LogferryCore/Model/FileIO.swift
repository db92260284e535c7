#if canImport(Glibc)
    import Glibc
#endif

/// Small synchronous file helpers for state files (identity, cursors, offsets). They are called at start-up
/// or from I/O threads, never from an event loop.
public struct CoreIOError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var message: String
    public init(operation: String, path: String, message: String) {
        self.operation = operation
        self.path = path
        self.message = message
    }
    public init(operation: String, path: String, errno code: Int32) {
        self.init(operation: operation, path: path, message: String(cString: strerror(code)))
    }
    public var description: String { "\(operation) \(path): \(message)" }
}

public func readSmallFile(_ path: String) throws -> String {
    String(decoding: try readFileBytes(path), as: UTF8.self)
}

public func readFileBytes(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CoreIOError(operation: "open", path: path, errno: errno) }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CoreIOError(operation: "read", path: path, errno: errno)
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

/// Writes `bytes` to `path` so that after a crash the file holds either the old or the new content: write a
/// temporary file, fsync it, rename over, fsync the directory.
/// Replaces `path` with `bytes` through a temp file and a rename. `durable: false` skips both fsyncs: the
/// replacement is still all-or-nothing for a process crash, but a power cut may bring back the old contents.
public func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true) throws {
    let tmp = path + ".tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw CoreIOError(operation: "create", path: tmp, errno: errno) }
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
        if n < 0 {
            if errno == EINTR { continue }
            let e = errno
            close(fd)
            throw CoreIOError(operation: "write", path: tmp, errno: e)
        }
        off += n
    }
    if durable, fsync(fd) != 0 {
        let e = errno
        close(fd)
        throw CoreIOError(operation: "fsync", path: tmp, errno: e)
    }
    close(fd)
    guard rename(tmp, path) == 0 else { throw CoreIOError(operation: "rename", path: path, errno: errno) }
    if durable { fsyncDirectory(of: path) }
}

/// fsyncs the directory holding `path`, so a rename or create in it survives a power cut.
public func fsyncDirectory(of path: String) {
    var dir = path
    if let slash = dir.lastIndex(of: "/") { dir = String(dir[..<slash]) } else { dir = "." }
    if dir.isEmpty { dir = "/" }
    let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
        fsync(fd)
        close(fd)
    }
}

/// `mkdir -p`.
public func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        current += "/" + part
        if mkdir(current, mode) != 0 && errno != EEXIST {
            throw CoreIOError(operation: "mkdir", path: current, errno: errno)
        }
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
public func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String = "stdout") throws {
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CoreIOError(operation: "write", path: path, errno: errno)
        }
        off += n
    }
}
