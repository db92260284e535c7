/// Configuration of a `file` source (`type: file`): tails every file the `include` globs match, following
/// rename rotation and copytruncate, and checkpoints how far each file was delivered.
public struct FileTailConfiguration: Sendable, Equatable {
    /// Where reading starts in a file seen for the first time.
    public enum StartAt: String, Sendable, Equatable {
        /// Read the whole file.
        case beginning
        /// Skip what the file holds when the source first starts.
        ///
        /// Applies only to files found by the first scan of a source that has no checkpoint yet. Files that
        /// appear later, and files missing from an existing checkpoint (created while logferry was stopped), are
        /// read from the beginning, so nothing written while logferry was down is skipped.
        case end
    }

    /// How lines join into multi-line events (Python tracebacks, Java stack traces).
    public struct Multiline: Sendable, Equatable {
        public enum Rule: Sendable, Equatable {
            /// A line starting with a space or a tab continues the previous event.
            case indentedContinuation
            /// A line matching this regular expression (Swift `Regex` syntax, e.g. `^\d{4}-\d\d-\d\d `) starts
            /// a new event; every other line continues the previous one.
            case startPattern(String)
        }
        /// Which lines continue an event.
        public var rule: Rule
        /// A pending event is emitted once no line has joined it for this long (its last line may be the last
        /// line of the event, and no next event comes to end it).
        public var timeout: Duration

        public init(rule: Rule, timeout: Duration = .seconds(1)) {
            self.rule = rule
            self.timeout = timeout
        }
    }

    /// The configured source name (`sources.NAME`).
    public var name: String
    /// Glob patterns (`glob(3)`: `*`, `?`, `[...]`) of the files to tail. Relative patterns are taken relative to
    /// the working directory, so the config loader should make them absolute (relative to the config file).
    public var include: [String]
    /// Glob patterns of files to leave out, even though `include` matches them (e.g. `*.gz`). A pattern with a
    /// `/` is matched against the whole path, one without against the file name.
    public var exclude: [String]
    /// Where a file seen for the first time is read from; see `StartAt.end` for which files it applies to.
    public var startAt: StartAt
    /// File holding the delivered offset of every tailed file (path, device, inode, fingerprint, offset),
    /// rewritten atomically after each batch the journal made durable. Usually `DATA_DIR/sources/NAME.offsets`
    /// (`defaultStatePath(dataDir:name:)`).
    public var statePath: String
    /// How often the files and directories are re-scanned. inotify on the watched directories wakes the
    /// source as soon as a file changes; the scan is the fallback (inotify unavailable, globs with wildcard
    /// directories, files renamed out of a watched directory) and what detects rotation and truncation.
    public var pollInterval: Duration
    /// Longer lines are cut to this many bytes and flagged `truncated`; the rest of the line is skipped. Also
    /// the bound on a partial last line held while it waits for its newline, and on a multi-line event.
    public var maxLineBytes: Int
    /// Optional rule joining lines into multi-line events; nil means one event per line.
    public var multiline: Multiline?
    /// At most this many bytes are read from the files for one batch handed to the journal.
    public var readBatchBytes: Int
    /// A file renamed away (rotated out of the include set) stays open this long after it last grew, for
    /// writers that keep writing to the old file until they reopen (nginx until it gets USR1). It is always
    /// read to its end first; this only bounds how long we wait for more.
    public var rotatedFileLinger: Duration

    public init(
        name: String, include: [String], exclude: [String] = [], startAt: StartAt = .beginning, statePath: String,
        pollInterval: Duration = .milliseconds(250), maxLineBytes: Int = 64 * 1024, multiline: Multiline? = nil,
        readBatchBytes: Int = 1024 * 1024, rotatedFileLinger: Duration = .seconds(5)
    ) {
        self.name = name
        self.include = include
        self.exclude = exclude
        self.startAt = startAt
        self.statePath = statePath
        self.pollInterval = pollInterval
        self.maxLineBytes = maxLineBytes
        self.multiline = multiline
        self.readBatchBytes = readBatchBytes
        self.rotatedFileLinger = rotatedFileLinger
    }

    /// The conventional checkpoint location: `DATA_DIR/sources/NAME.offsets`.
    public static func defaultStatePath(dataDir: String, name: String) -> String {
        "\(dataDir)/sources/\(name).offsets"
    }

    /// What is wrong with this configuration, one sentence each saying how to fix it; empty when it is valid.
    /// The config loader prefixes each with `file:line`.
    public func problems() -> [String] {
        var out: [String] = []
        if include.isEmpty { out.append("include is empty: list at least one glob, e.g. [/var/log/app/*.log]") }
        if maxLineBytes < 1 { out.append("max_line_bytes must be at least 1") }
        if readBatchBytes < 1 { out.append("read_batch_bytes must be at least 1") }
        if pollInterval <= .zero { out.append("poll_interval must be positive, e.g. 250ms") }
        if case .startPattern(let p)? = multiline?.rule {
            do { _ = try Regex(p) } catch {
                out.append("multiline start pattern \"\(p)\" is not a valid regular expression: \(error)")
            }
        }
        return out
    }
}
