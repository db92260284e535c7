import Foundation

/// Helpers for integration tests that run real programs (nginx, supervisord, Python clients) beside logferry.

/// The text of a file, or "" when it cannot be read.
public func readText(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

/// The JSON documents of a JSON-lines file (a file destination's output), each with its line under `_raw`; a
/// line that is not a JSON object becomes `["_unparseable": line]`.
public func storedDocuments(file path: String) -> [[String: Any]] {
    readText(path).split(separator: "\n").map {
        var d =
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) ?? ["_unparseable": String($0)]
        d["_raw"] = String($0)
        return d
    }
}

/// The documents of every `*.log` file below `directory` (a file destination with `${HOST}/${PROGRAM}` paths).
public func storedDocuments(under directory: String) -> [[String: Any]] {
    guard let e = FileManager.default.enumerator(atPath: directory) else { return [] }
    var docs: [[String: Any]] = []
    for case let rel as String in e where rel.hasSuffix(".log") { docs += storedDocuments(file: directory + "/" + rel) }
    return docs
}

/// Starts a program with stdout and stderr in `output`; the caller stops it.
public func spawnLogged(_ path: String, _ arguments: [String], output: String) throws -> Process {
    _ = FileManager.default.createFile(atPath: output, contents: nil)
    let log = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    p.standardOutput = log
    p.standardError = log
    p.standardInput = FileHandle.nullDevice
    try spawnLock.withLock { try p.run() }
    try? log.close()
    return p
}

/// Runs a program to its exit, polling without blocking a thread; returns its exit code (-1 on timeout, after
/// SIGKILL) and its output.
public func runToExit(_ path: String, _ arguments: [String], output: String, timeout: Double) async throws -> (
    Int32, String
) {
    let p = try spawnLogged(path, arguments, output: output)
    let finished = await eventually(timeout: timeout, interval: 0.05) { !p.isRunning }
    if !finished {
        kill(p.processIdentifier, SIGKILL)
        _ = await eventually(timeout: 5) { !p.isRunning }
    }
    return (
        finished ? p.terminationStatus : -1, readText(output) + (finished ? "" : "\n(timed out after \(timeout) s)")
    )
}

/// SIGTERM to `process` (a master that stops its children: nginx, supervisord), SIGKILL if it lingers past
/// `timeout`, then SIGKILL any child left behind (looked up before the parent went away).
public func stopProcessTree(_ process: Process, timeout: Double) {
    let pid = process.processIdentifier
    let children = childPIDs(of: pid)
    if process.isRunning { kill(pid, SIGTERM) }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning { kill(pid, SIGKILL) }
    process.waitUntilExit()
    for c in children where kill(c, 0) == 0 { kill(c, SIGKILL) }
}

/// Direct children of `pid`, from /proc.
public func childPIDs(of pid: Int32) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    var out: [Int32] = []
    for e in entries {
        guard let child = Int32(e), let stat = try? String(contentsOfFile: "/proc/\(e)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, Int32(fields[1]) == pid { out.append(child) }
    }
    return out
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
public func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    let r = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return r == 0
}

/// Writes `dir/logferry.yaml` for a central node: a websocket receiver on 127.0.0.1:`port` accepting `token`
/// (from `dir/tokens`), storing documents under `dir/store/${HOST}/${PROGRAM}.log`. Returns the config path.
public func writeReceiverConfig(dir: String, port: Int, token: String) throws -> String {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try (token + "\n").write(toFile: dir + "/tokens", atomically: false, encoding: .utf8)
    let config = """
        node:
          name: central
          data_dir: \(dir)/data
        sources:
          ingest:
            type: websocket
            listen: 127.0.0.1:\(port)
            tokens_file: tokens
        destinations:
          archive:
            type: file
            path: \(dir)/store/${HOST}/${PROGRAM}.log
        """
    try config.write(toFile: dir + "/logferry.yaml", atomically: false, encoding: .utf8)
    return dir + "/logferry.yaml"
}
