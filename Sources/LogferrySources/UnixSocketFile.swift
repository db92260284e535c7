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
public enum UnixSocketFile {
    /// Makes `path` free for bind: removes a stale socket, throws `notASocket` for anything else.
    static func prepareForBind(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw UnixSocketError.notASocket(path) }
        guard unlink(path) == 0 || errno == ENOENT else { throw UnixSocketError.system("unlink", path, errno) }
    }

    /// Sets the socket file's owner and group (when configured; needs root or CAP_CHOWN), then its permission bits
    /// exactly (ignoring the umask).
    static func applyMode(_ path: String, _ mode: mode_t, owner: uid_t? = nil, group: gid_t? = nil) throws {
        if owner != nil || group != nil {
            // -1 (as the unsigned id type) leaves that id unchanged.
            guard chown(path, owner ?? uid_t.max, group ?? gid_t.max) == 0 else {
                throw UnixSocketError.system("chown", path, errno)
            }
        }
        guard chmod(path, mode) == 0 else { throw UnixSocketError.system("chmod", path, errno) }
    }

    /// A user given by name or number (`owner: www-data`), nil when unknown.
    public static func userID(_ text: String) -> uid_t? {
        if let n = uid_t(text) { return n }
        guard let pw = getpwnam(text) else { return nil }
        return pw.pointee.pw_uid
    }

    /// A group given by name or number (`group: adm`), nil when unknown.
    public static func groupID(_ text: String) -> gid_t? {
        if let n = gid_t(text) { return n }
        guard let gr = getgrnam(text) else { return nil }
        return gr.pointee.gr_gid
    }
}
