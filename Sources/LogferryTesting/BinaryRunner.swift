import Foundation

/// Runs the built `logferry` binary as a child process, for integration tests that treat it as a user would:
/// config files in, signals and SIGKILL, files and sockets out.
public final class LogferryProcess: @unchecked Sendable {
    // @unchecked: `process` is created in init and only read afterwards; Foundation's Process is thread-safe
    // for the calls used here (terminate, processIdentifier, isRunning).
    public let process: Process
    public let logPath: String

    /// Path of the binary: `$LOGFERRY_BIN`, else `.build/debug/logferry` under the package root.
    public static var binaryPath: String {
        if let p = ProcessInfo.processInfo.environment["LOGFERRY_BIN"] { return p }
        return packageRoot + "/.build/debug/logferry"
    }

    /// The package root, found from this source file's location (tests may run from any directory).
    public static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    public init(arguments: [String], logPath: String, environment: [String: String] = [:]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binaryPath)
        p.arguments = arguments
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        p.standardError = log
        p.standardOutput = log
        p.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        try spawnLock.withLock { try p.run() }
        self.process = p
        self.logPath = logPath
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func kill9() {
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then wait up to `timeout` for the exit code; SIGKILL if it does not exit.
    @discardableResult
    public func terminate(timeout: Double = 20) -> Int32 {
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill9() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs the binary to completion with optional stdin; returns exit code, stdout and stderr.
    public static func runToCompletion(_ arguments: [String], stdin: Data? = nil) throws -> (
        code: Int32, out: String, err: String
    ) {
        try runTool(binaryPath, arguments, stdin: stdin)
    }
}

/// Runs a blocking call (a child process to completion, a blocking connect) on its own thread, so it never holds a
/// thread of the cooperative pool: with 2 cores the pool has 2 threads, and an in-process server under test (NIO
/// accept loops, sources) needs them to make the blocking call return.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Serializes creating a child's pipes and spawning it. The pipes' descriptors are made close-on-exec first, so a
/// child spawned at the same moment by another test cannot inherit them; an inherited write end would keep the
/// pipe open and the reader (`logger` waiting for EOF on stdin, us waiting for the child's stdout) waiting forever.
public let spawnLock = NSLock()

/// Marks descriptors close-on-exec (the child gets its own copies through dup2, which clears the flag).
func closeOnExec(_ pipes: Pipe...) {
    for p in pipes {
        for fd in [p.fileHandleForReading.fileDescriptor, p.fileHandleForWriting.fileDescriptor] {
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        }
    }
}

/// Runs any program to completion.
public func runTool(_ path: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil)
    throws
    -> (code: Int32, out: String, err: String)
{
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    if let environment { p.environment = environment }
    spawnLock.lock()
    let out = Pipe()
    let err = Pipe()
    let inp = Pipe()
    closeOnExec(out, err, inp)
    p.standardOutput = out
    p.standardError = err
    p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
    do {
        try p.run()
        spawnLock.unlock()
    } catch {
        spawnLock.unlock()
        throw error
    }
    // Read both pipes concurrently so a chatty child cannot fill one and block.
    nonisolated(unsafe) var errData = Data()
    let errThread = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    errThread.start()
    if let stdin {
        inp.fileHandleForWriting.write(stdin)
        try? inp.fileHandleForWriting.close()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !errThread.isFinished { usleep(1000) }
    return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// Finds a program on PATH (or common sbin dirs); nil when it is not installed.
public func findTool(_ name: String) -> String? {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/local/sbin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// True when CI demands that every real-component test runs (a missing tool is then a failure, not a skip).
public var integrationRequired: Bool { ProcessInfo.processInfo.environment["LOGFERRY_REQUIRE_INTEGRATION"] == "1" }

/// A fresh temporary directory, unique per call.
public func makeTempDirectory(_ label: String) throws -> String {
    // Short base path: unix socket paths are limited to 107 bytes.
    let path = "/tmp/lf-\(label)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func waitUntil(timeout: Double, interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(useconds_t(interval * 1_000_000))
    }
    return try condition()
}

/// A TCP port that is free right now on 127.0.0.1 (bind to 0, read it back, close).
public func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    _ = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// The async form of `waitUntil`, for async tests: sleeps with `Task.sleep` so it never blocks a thread of the
/// cooperative pool (which the code under test needs to make progress).
public func eventually(timeout: Double, interval: Double = 0.02, _ condition: () throws -> Bool) async rethrows -> Bool
{
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
    }
    return try condition()
}
