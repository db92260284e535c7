import LogferryCore

/// Configuration of a `file` destination (`destinations.NAME.type: file`): one JSON document per line, in
/// files whose paths are expanded from each event.
///
/// Not `Equatable`: it holds a selector, and selectors (compiled filters) have no meaningful equality.
public struct FileStoreConfiguration: Sendable {
    /// The destination's name in the config. Its journal cursor is named `file-NAME`, so renaming a
    /// destination starts it over from the oldest record the journal still holds.
    public var name: String

    /// Where each event goes, e.g. `/var/log/central/${HOST}/${PROGRAM}.log` (config key `path`).
    ///
    /// Macros (LogferryFormat's `MacroString`): `${HOST} ${PROGRAM} ${SOURCE} ${FACILITY} ${SEVERITY} ${PID}
    /// ${FILE}` (the document's keys), `${fields.NAME}`, and `${YEAR} ${MONTH} ${DAY} ${HOUR}` (UTC, of
    /// `@timestamp`). A value is made safe for a path: `/` and control characters become `_`, `..` becomes
    /// `__`, `.` becomes `_`, a missing or empty value becomes `unknown`; a path component longer than 255
    /// bytes is cut. Two destinations must not write the same files: each cuts what it wrote after its last
    /// commit. A relative template is resolved against the working directory when the destination is
    /// created.
    public var pathTemplate: String

    /// Most files kept open at once; the least recently written is closed first. Default 256.
    public var maxOpenFiles: Int

    /// Most journal records written per batch (one write and one fsync per file per batch). Default 2000.
    public var batchRecords: Int

    /// About the most journal payload bytes read per batch (at least one record). Default 4 MiB.
    public var batchBytes: Int

    /// fsync every file written in a batch (and the directories of new files) before the cursor moves.
    /// Default true. With false, a process crash still neither loses nor repeats a line, but a power cut
    /// can lose lines the cursor already passed.
    public var fsync: Bool

    /// Permissions of directories the destination creates (exact: the umask is not applied). Default 0o750.
    public var dirMode: UInt32

    /// Permissions of files the destination creates (exact: the umask is not applied). Default 0o640: logs
    /// often hold what only administrators should read.
    public var fileMode: UInt32

    /// First wait after a failed write (disk full, permissions); doubles after each failure up to
    /// `ioRetryMaxDelay`. The batch is retried, never skipped. Default 1 s.
    public var ioRetryDelay: Duration

    /// Longest wait between retries of a failed write. Default 30 s.
    public var ioRetryMaxDelay: Duration

    /// Which events to write (config keys `inputs` and `filter`; LogferryFormat's `DocumentSelector`); nil
    /// writes every event. A rejected event is not written, and the cursor moves past it as past a written one.
    /// Records that are not events are written as `parse_error` lines whatever the selector says.
    public var selector: (any EventSelector)?

    public init(
        name: String,
        pathTemplate: String,
        maxOpenFiles: Int = 256,
        batchRecords: Int = 2000,
        batchBytes: Int = 4 << 20,
        fsync: Bool = true,
        dirMode: UInt32 = 0o750,
        fileMode: UInt32 = 0o640,
        ioRetryDelay: Duration = .seconds(1),
        ioRetryMaxDelay: Duration = .seconds(30),
        selector: (any EventSelector)? = nil
    ) {
        self.name = name
        self.pathTemplate = pathTemplate
        self.maxOpenFiles = maxOpenFiles
        self.batchRecords = batchRecords
        self.batchBytes = batchBytes
        self.fsync = fsync
        self.dirMode = dirMode
        self.fileMode = fileMode
        self.ioRetryDelay = ioRetryDelay
        self.ioRetryMaxDelay = ioRetryMaxDelay
        self.selector = selector
    }

    /// The journal cursor this destination reads through.
    public var cursorName: String { "file-" + name }

    /// What is wrong with this configuration, one message per problem, each starting with the config key
    /// (`path: ...`) so the config loader can prefix `file:line`. Empty when valid. Pure.
    public func problems() -> [String] {
        var out: [String] = []
        if name.isEmpty { out.append("name: must not be empty") }
        do {
            _ = try PathTemplate(pathTemplate)
        } catch {
            out.append("path: \(error.message)")
        }
        if maxOpenFiles < 1 { out.append("max_open_files: must be at least 1, got \(maxOpenFiles)") }
        if batchRecords < 1 { out.append("batch_records: must be at least 1, got \(batchRecords)") }
        if batchBytes < 1 { out.append("batch_bytes: must be at least 1, got \(batchBytes)") }
        if dirMode > 0o7777 { out.append("dir_mode: not a file mode (octal, at most 7777)") }
        if fileMode > 0o7777 { out.append("file_mode: not a file mode (octal, at most 7777)") }
        if ioRetryDelay <= .zero { out.append("io_retry_delay: must be positive") }
        if ioRetryMaxDelay < ioRetryDelay { out.append("io_retry_max_delay: must be at least io_retry_delay") }
        return out
    }
}

/// Why a file destination could not be created or could not run.
public struct FileStoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The configuration is invalid (see `FileStoreConfiguration.problems()`).
        case invalidConfiguration = "invalid_configuration"
        /// The path template does not compile (unknown macro, unterminated `${`).
        case pathTemplate = "path_template"
        /// The cursor state committed in the journal does not decode.
        case cursorState = "cursor_state"
        /// `run()` was called while it was already running.
        case alreadyRunning = "already_running"
    }

    public var code: Code
    /// What went wrong and how to fix it.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(code.rawValue): \(message) (\(cause))" }
        return "\(code.rawValue): \(message)"
    }
}
