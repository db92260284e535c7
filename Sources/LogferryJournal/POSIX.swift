import LogferryCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Thin wrappers over the system calls the journal uses. Each one retries on EINTR and turns a failure into
/// `SpoolError.io(operation:path:message:)` with errno's text, so callers never inspect errno themselves.
///
/// They block: call them only from the journal's own dispatch queues, never from the cooperative pool.
enum POSIX {
    static func error(_ operation: String, _ path: String, _ code: Int32 = errno) -> SpoolError {
        .io(operation: operation, path: path, message: String(cString: strerror(code)))
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o640) throws -> Int32 {
        while true {
            let fd = sys_open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw error("open", path) }
        }
    }

    /// Like `open`, but returns nil when the file does not exist.
    static func openIfExists(_ path: String, _ flags: Int32) throws -> Int32? {
        while true {
            let fd = sys_open(path, flags | O_CLOEXEC, 0)
            if fd >= 0 { return fd }
            if errno == ENOENT { return nil }
            if errno != EINTR { throw error("open", path) }
        }
    }

    static func close(_ fd: Int32) {
        _ = sys_close(fd)
    }

    /// Writes all of `bytes` at `offset`.
    static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            done += n
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (fewer only at end of file).
    static func preadFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String)
        throws -> Int
    {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("read", path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Flushes file data (and the metadata needed to read it back, such as the size) to stable storage.
    static func dataSync(_ fd: Int32, path: String) throws {
        #if canImport(Glibc)
            let rc = fdatasync(fd)
        #else
            let rc = fsync(fd)
        #endif
        if rc != 0 { throw error("fsync", path) }
    }

    /// fsyncs a directory so creates, renames and unlinks in it survive a power cut.
    static func syncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        if fsync(fd) != 0 { throw error("fsync", path) }
    }

    static func fileSize(_ fd: Int32, path: String) throws -> Int {
        var st = stat()
        if fstat(fd, &st) != 0 { throw error("stat", path) }
        return Int(st.st_size)
    }

    /// Size of the file at `path`.
    static func fileSize(path: String) throws -> Int {
        var st = stat()
        if stat(path, &st) != 0 { throw error("stat", path) }
        return Int(st.st_size)
    }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws {
        while ftruncate(fd, off_t(size)) != 0 {
            if errno != EINTR { throw error("truncate", path) }
        }
    }

    static func unlink(_ path: String) throws {
        if sys_unlink(path) != 0 && errno != ENOENT { throw error("unlink", path) }
    }

    static func rename(_ from: String, _ to: String) throws {
        if sys_rename(from, to) != 0 { throw error("rename", to) }
    }

    /// Creates `path` and its missing parents (like `mkdir -p`).
    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o750) != 0 && errno != EEXIST { throw error("mkdir", prefix) }
            prefix += "/"
        }
        var st = stat()
        if stat(path, &st) != 0 { throw error("stat", path) }
        if (st.st_mode & S_IFMT) != S_IFDIR { throw error("mkdir", path, ENOTDIR) }
    }

    /// Names in a directory, without "." and "..".
    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw error("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Takes an exclusive advisory lock on `path` (created if missing), so two processes never write one
    /// journal. Returns the descriptor that holds the lock; closing it releases the lock.
    ///
    /// A lock found taken is tried again for up to `patienceMillis` before giving up. A flock belongs to the open
    /// file description, and a child that any thread of this process is spawning holds a copy of every
    /// descriptor from its fork until its exec (O_CLOEXEC acts only at exec): a journal closed and reopened
    /// in that window would otherwise be refused. The same patience covers a node restarted while its
    /// predecessor is still exiting.
    static func lockFile(_ path: String, patienceMillis: Int = 1000) throws -> Int32 {
        let fd = try open(path, O_RDWR | O_CREAT)
        var waited = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let code = errno
            if code == EWOULDBLOCK && waited < patienceMillis {
                usleep(10_000)
                waited += 10
                continue
            }
            close(fd)
            if code == EWOULDBLOCK {
                throw SpoolError.io(
                    operation: "lock", path: path,
                    message: "the journal is in use by another logferry process (or another Journal in this one)")
            }
            throw error("lock", path, code)
        }
        return fd
    }

    /// Writes `bytes` so that after a crash `path` holds either the old or the new content: temporary file,
    /// fsync, rename over, fsync the directory.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], directory: String) throws {
        let tmp = path + ".tmp"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try bytes.withUnsafeBytes { try pwriteAll(fd, $0, at: 0, path: tmp) }
            try dataSync(fd, path: tmp)
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try rename(tmp, path)
        try syncDirectory(directory)
    }

    /// Reads a whole (small) file; nil when it does not exist.
    static func readFile(_ path: String) throws -> [UInt8]? {
        guard let fd = try openIfExists(path, O_RDONLY) else { return nil }
        defer { close(fd) }
        let size = try fileSize(fd, path: path)
        var bytes = [UInt8](repeating: 0, count: size)
        let n = try bytes.withUnsafeMutableBytes { try preadFully(fd, into: $0, at: 0, path: path) }
        bytes.removeLast(size - n)
        return bytes
    }
}

// The C functions share names with the wrappers above; inside `POSIX` these aliases reach the C ones.
@inline(__always) private func sys_open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}
@inline(__always) private func sys_close(_ fd: Int32) -> Int32 { close(fd) }
@inline(__always) private func sys_unlink(_ path: String) -> Int32 { unlink(path) }
@inline(__always) private func sys_rename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
