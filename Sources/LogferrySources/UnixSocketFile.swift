import Glibc

/// Why a unix socket source could not set up its socket file.
public enum UnixSocketError: Error, CustomStringConvertible, Sendable {
    case notASocket(String)
    case system(String, String, Int32)

    public var description: String {
        switch self {
        case .notASocket(let p):
            return "\(p) exists and is not a socket; refusing to replace it. Remove it or choose another path"
        case .system(let op, let p, let e): return "\(op) \(p): \(String(cString: strerror(e)))"
        }
    }
}

/// The socket-file handling shared by the unix-dgram and unix-stream sources.
///
/// Before bind: a socket left at the path (a previous run that crashed) is stale and removed; any other kind of
/// file is refused, so a typo in `path` can never delete a log file. After bind: the mode is set with chmod,
/// because the umask in effect at bind could make the socket less accessible than configured.
enum UnixSocketFile {
    /// Makes `path` free for bind: removes a stale socket, throws `notASocket` for anything else.
    static func prepareForBind(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw UnixSocketError.notASocket(path) }
        guard unlink(path) == 0 || errno == ENOENT else { throw UnixSocketError.system("unlink", path, errno) }
    }

    /// Sets the socket file's permission bits exactly (ignoring the umask).
    static func applyMode(_ path: String, _ mode: mode_t) throws {
        guard chmod(path, mode) == 0 else { throw UnixSocketError.system("chmod", path, errno) }
    }
}
