import ArgumentParser
import Glibc

/// `logferry`: one executable for edge, relay and central nodes (SPEC.md §1).
/// Exit codes: 0 ok, 1 user or config error (the message says what to fix), 2 runtime failure.
struct Logferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logferry",
        abstract: "Collects logs, journals them on disk, and forwards them over acknowledged websockets.",
        version: LogferryVersion.string,
        subcommands: [
            RunCommand.self, CheckCommand.self, ParseCommand.self, JournalCommand.self, CertsCommand.self,
            VersionCommand.self,
        ]
    )
}

/// A failure while running (not the user's input): exit code 2.
struct RuntimeFailure: Error, CustomStringConvertible {
    var description: String
}

/// A user or config error: exit code 1, message printed as is.
struct UserError: Error, CustomStringConvertible {
    var description: String
}

extension Logferry {
    /// ArgumentParser's own `main()` logic, kept here so exit codes follow SPEC.md §1. It must live in a
    /// function, not top-level code: there `asyncCommand.run()` resolved to the synchronous `run()` (which
    /// prints help) instead of the async one.
    static func parseAndRun() async throws {
        var command = try await asyncParseAsRoot()
        if var asyncCommand = command as? AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    }
}

enum LogferryVersion {
    static let number = "0.1.0"
    static var string: String { "logferry \(number) (swift 6, linux)" }
}

do {
    try await Logferry.parseAndRun()
    fflush(nil)
    exit(0)
} catch let e as UserError {
    fflush(nil)
    FileHandleStderr.write("logferry: \(e.description)\n")
    exit(1)
} catch let e as RuntimeFailure {
    fflush(nil)
    FileHandleStderr.write("logferry: \(e.description)\n")
    exit(2)
} catch {
    fflush(nil)
    let code = Logferry.exitCode(for: error)
    if code == .success {
        print(Logferry.fullMessage(for: error))
        fflush(nil)
        exit(0)
    }
    FileHandleStderr.write(Logferry.fullMessage(for: error) + "\n")
    // Usage errors (bad flags) are user errors: exit 1 as SPEC.md §1 says, not ArgumentParser's 64.
    exit(code == .validationFailure || code.rawValue == 64 ? 1 : 2)
}

enum FileHandleStderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}
