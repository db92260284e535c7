import Dispatch
import LogferryCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs the file store's blocking file work (open, write, fsync, truncate) on a private serial
/// `DispatchQueue`, one per destination, and resumes the caller with a continuation.
///
/// Why a queue: these calls block for as long as the disk takes (an fsync can take tens of milliseconds)
/// and must not hold a thread of the cooperative pool. LogferryDestinations does not depend on NIO, so
/// `NIOThreadPool` is not at hand; a serial queue is also exactly the ordering the store needs (a batch's
/// writes, then its fsyncs), and keeps the descriptor table single-threaded.
final class FileStoreIO: Sendable {
    private let queue: DispatchQueue
    /// Locked only from `queue`, so never contended; the `Mutex` is what lets the compiler check that the
    /// table is not shared unsafely.
    private let files: Mutex<OpenFiles>
    private let openCount = Atomic<Int>(0)

    init(label: String, files: consuming OpenFiles) {
        self.queue = DispatchQueue(label: label)
        self.files = Mutex(files)
    }

    /// Descriptors open right now.
    var filesOpen: Int { openCount.load(ordering: .relaxed) }

    /// Runs `body` on the I/O queue. Not cancellable: a batch's file work always completes, so a cancelled
    /// destination stops between batches with its cursor in step with its files.
    func run<T: Sendable>(_ body: @escaping @Sendable (inout OpenFiles) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                let result = Result { () throws -> T in
                    try self.files.withLock { (files: inout OpenFiles) throws -> T in
                        defer { self.openCount.store(files.count, ordering: .relaxed) }
                        return try body(&files)
                    }
                }
                continuation.resume(with: result)
            }
        }
    }
}

/// The files a file store writes, as an LRU of descriptors opened for appending, plus the fsync
/// bookkeeping (which files and directories changed since the last sync). Every method blocks.
struct OpenFiles: Sendable {
    private struct Entry: Sendable {
        var fd: Int32
        var device: UInt64
        var inode: UInt64
        var lastUse: UInt64
        var dirty: Bool
    }

    private var entries: [String: Entry] = [:]
    private var tick: UInt64 = 0
    /// Directories that gained an entry (a new file or directory) and need an fsync before the next commit.
    /// Kept across `closeAll()`, so a batch retried after an error still syncs the directories of the files
    /// its first attempt created.
    private var directoriesToSync: Set<String> = []

    let maxOpen: Int
    let fileMode: mode_t
    let dirMode: mode_t
    let fsyncEnabled: Bool

    init(maxOpen: Int, fileMode: UInt32, dirMode: UInt32, fsync: Bool) {
        self.maxOpen = max(1, maxOpen)
        self.fileMode = mode_t(fileMode)
        self.dirMode = mode_t(dirMode)
        self.fsyncEnabled = fsync
    }

    var count: Int { entries.count }

    /// The current size of each path (0 when it does not exist). Drops a cached descriptor whose file is no
    /// longer the one at its path (renamed or deleted by someone else), so the next write reopens the path.
    mutating func sizes(of paths: [String]) throws(CoreIOError) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(paths.count)
        for path in paths {
            var st = stat()
            if stat(path, &st) != 0 {
                let e = errno
                // ENOTDIR: a directory on the way is a file; the write will say so, and is retried.
                guard e == ENOENT || e == ENOTDIR else { throw CoreIOError(operation: "stat", path: path, errno: e) }
                drop(path)
                out.append(0)
                continue
            }
            if let entry = entries[path], entry.device != UInt64(st.st_dev) || entry.inode != UInt64(st.st_ino) {
                drop(path)
            }
            out.append(UInt64(st.st_size))
        }
        return out
    }

    /// Appends `bytes` to `path` (creating it and its directories as needed) and returns the file's length
    /// after the write.
    mutating func append(_ bytes: [UInt8], to path: String) throws(CoreIOError) -> UInt64 {
        let fd = try descriptor(for: path)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw CoreIOError(operation: "write", path: path, errno: e)
            }
            written += n
        }
        entries[path]?.dirty = true
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CoreIOError(operation: "fstat", path: path, errno: errno) }
        return UInt64(st.st_size)
    }

    /// Makes everything written since the last call durable: fsyncs written files and changed directories
    /// (only marks them clean when fsync is off).
    mutating func sync() throws(CoreIOError) {
        for path in Array(entries.keys) where entries[path]!.dirty {
            if fsyncEnabled, fsync(entries[path]!.fd) != 0 {
                throw CoreIOError(operation: "fsync", path: path, errno: errno)
            }
            entries[path]!.dirty = false
        }
        if fsyncEnabled {
            for dir in directoriesToSync.sorted(by: >) {  // deepest first: a parent's entry is synced last
                try syncDirectory(dir)
            }
        }
        directoriesToSync.removeAll()
    }

    /// Cuts `path` back to `length` if it is longer. Returns its size before (nil when it does not exist).
    mutating func truncate(_ path: String, to length: UInt64) throws(CoreIOError) -> UInt64? {
        drop(path)
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR { return nil }
            throw CoreIOError(operation: "open", path: path, errno: e)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CoreIOError(operation: "fstat", path: path, errno: errno) }
        let size = UInt64(st.st_size)
        if size > length {
            guard ftruncate(fd, off_t(length)) == 0 else {
                throw CoreIOError(operation: "truncate", path: path, errno: errno)
            }
            // Durable before anything else happens: if this file is not written in the next batch, the next
            // commit drops it from the cursor state, and a cut undone by a power cut could not be redone.
            if fsyncEnabled, fsync(fd) != 0 { throw CoreIOError(operation: "fsync", path: path, errno: errno) }
        }
        return size
    }

    /// Closes every descriptor (nothing is synced: what was not committed is cut on the next start).
    mutating func closeAll() {
        for entry in entries.values { close(entry.fd) }
        entries.removeAll()
    }

    private mutating func drop(_ path: String) {
        if let entry = entries.removeValue(forKey: path) {
            // Its data must still reach the disk before the commit that counts it.
            if entry.dirty, fsyncEnabled { fsync(entry.fd) }
            close(entry.fd)
        }
    }

    private mutating func descriptor(for path: String) throws(CoreIOError) -> Int32 {
        tick += 1
        if entries[path] != nil {
            entries[path]!.lastUse = tick
            return entries[path]!.fd
        }
        if entries.count >= maxOpen { try evictLeastRecentlyUsed() }
        var fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            guard e == ENOENT else { throw CoreIOError(operation: "open", path: path, errno: e) }
            fd = try create(path)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw CoreIOError(operation: "fstat", path: path, errno: e)
        }
        entries[path] = Entry(fd: fd, device: UInt64(st.st_dev), inode: UInt64(st.st_ino), lastUse: tick, dirty: false)
        return fd
    }

    /// Creates `path` (and missing directories) with the configured modes and opens it for appending.
    private mutating func create(_ path: String) throws(CoreIOError) -> Int32 {
        let flags = O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC
        var fd = open(path, flags, fileMode)
        var e = errno
        if fd < 0, e == ENOENT {
            try makeDirectories(containing: path)
            fd = open(path, flags, fileMode)
            e = errno
        }
        if fd < 0, e == EEXIST {  // created by someone else meanwhile
            fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            e = errno
        } else if fd >= 0 {
            fchmod(fd, fileMode)  // exact mode, whatever the umask
            directoriesToSync.insert(Self.parent(of: path))
        }
        guard fd >= 0 else { throw CoreIOError(operation: "create", path: path, errno: e) }
        return fd
    }

    /// `mkdir -p` of the directory holding `path`, with the configured mode; remembers which directories
    /// gained an entry.
    private mutating func makeDirectories(containing path: String) throws(CoreIOError) {
        let dir = Self.parent(of: path)
        var current = dir.hasPrefix("/") ? "" : "."
        for part in dir.split(separator: "/") {
            let parent = current.isEmpty ? "/" : current
            current += "/" + part
            if mkdir(current, dirMode) == 0 {
                chmod(current, dirMode)
                directoriesToSync.insert(parent)
                directoriesToSync.insert(current)
            } else {
                let e = errno
                if e != EEXIST { throw CoreIOError(operation: "mkdir", path: current, errno: e) }
            }
        }
    }

    private mutating func evictLeastRecentlyUsed() throws(CoreIOError) {
        guard let (path, entry) = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { return }
        if entry.dirty, fsyncEnabled, fsync(entry.fd) != 0 {
            throw CoreIOError(operation: "fsync", path: path, errno: errno)
        }
        entries[path] = nil
        close(entry.fd)
        // A closed file's data still counts for this batch; `sync()` only needs its directory if it was new.
    }

    private func syncDirectory(_ dir: String) throws(CoreIOError) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT { return }  // removed since; nothing of ours to make durable in it
            throw CoreIOError(operation: "open directory", path: dir, errno: e)
        }
        defer { close(fd) }
        if fsync(fd) != 0 { throw CoreIOError(operation: "fsync", path: dir, errno: errno) }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
