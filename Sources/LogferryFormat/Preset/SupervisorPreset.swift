import LogferryCore

/// `preset: supervisor`, for a file source reading supervisor's logs.
///
/// - **Program from the file name** (when the event has a `file` and no program). The names supervisor gives child
///   logs (`childlogdir`, `AUTO`): `NAME-stdout---supervisor-XXXXXX.log` → program `NAME`, `fields.stream`
///   `stdout` (or `stderr`). The names people configure: `NAME.out.log`, `NAME.err.log`, `NAME-stdout.log`,
///   `NAME_stderr.log`, `NAME.stdout.log` (separator `-`, `_` or `.`; `out`/`stdout`, `err`/`stderr`) → program and
///   stream; any other `NAME.log` → program `NAME`. A rotation suffix (`NAME.log.1`) is ignored, and supervisord's
///   own `supervisord.log` gives program `supervisord`.
/// - **supervisord's own lines** `2026-11-21 12:00:00,123 INFO spawned: 'web' with pid 123`: `@timestamp` (local
///   time, like every stamp without a zone), severity from the level (CRIT crit, ERRO err, WARN warning, INFO info,
///   DEBG/TRAC/BLAT debug), `fields.level` as written, and the message is the text after the level. Only when the
///   event has no timestamp or severity of its own (a file line has neither).
enum SupervisorPreset {
    static func apply(to event: inout Event, assumeTimeZoneOffset: Int?) {
        if event.program == nil, let file = event.file, let (program, stream) = programAndStream(file: file) {
            event.program = program
            if let stream { event.fields["stream"] = .string(stream) }
        }
        guard event.timestamp == nil, event.severity == nil else { return }
        var message = event.message
        message.withUTF8 { b in parseOwnLine(b, into: &event, assumeTimeZoneOffset: assumeTimeZoneOffset) }
    }

    static let autoSuffixes = [("-stdout", "stdout"), ("-stderr", "stderr")]
    /// `-stdout _stdout .stdout -stderr ... .err`, longest first so `x.stdout` is not read as `x.std` + `out`.
    static let configuredSuffixes: [(suffix: String, stream: String)] = [
        ("stdout", "stdout"), ("stderr", "stderr"), ("out", "stdout"), ("err", "stderr"),
    ].flatMap { name, stream in ["-", "_", "."].map { ($0 + name, stream) } }

    /// The program and stream named by a supervisor log file's path; nil for an empty name.
    static func programAndStream(file: String) -> (program: String, stream: String?)? {
        var name = Substring(file)
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        // A rotation suffix: NAME.log.1 ... NAME.log.99
        if let dot = name.lastIndex(of: "."), name[name.index(after: dot)...].allSatisfy(\.isNumber),
            dot != name.index(before: name.endIndex)
        {
            name = name[..<dot]
        }
        if name.hasSuffix(".log") { name = name.dropLast(4) }
        // supervisor's AUTO names: NAME-stdout---supervisor-RANDOM
        if let marker = name.firstRange(of: "---supervisor-") {
            let head = name[..<marker.lowerBound]
            for (suffix, stream) in autoSuffixes where head.hasSuffix(suffix) {
                let program = head.dropLast(suffix.count)
                return program.isEmpty ? nil : (String(program), stream)
            }
        }
        for (suffix, stream) in configuredSuffixes where name.hasSuffix(suffix) {
            let program = name.dropLast(suffix.count)
            if !program.isEmpty { return (String(program), stream) }
        }
        return name.isEmpty ? nil : (String(name), nil)
    }

    /// `YYYY-MM-DD HH:MM:SS,mmm LEVL text`.
    static func parseOwnLine(_ b: UnsafeBufferPointer<UInt8>, into event: inout Event, assumeTimeZoneOffset: Int?) {
        guard let dt = PresetScan.dateTime(b, 0, dateSeparator: UInt8(ascii: "-")), b.count >= 28,
            b[19] == UInt8(ascii: ","), let millis = PresetScan.digits(b, 20, 3), b[23] == 0x20,
            b.count == 28 || b[28] == 0x20
        else { return }
        let severity: Severity
        switch PresetScan.string(b, 24..<28) {
        case "CRIT": severity = .crit
        case "ERRO": severity = .err
        case "WARN": severity = .warning
        case "INFO": severity = .info
        case "DEBG", "TRAC", "BLAT": severity = .debug
        default: return
        }
        guard
            let ts = Timestamp(
                year: dt.y, month: dt.mo, day: dt.d, hour: dt.h, minute: dt.mi, second: dt.s,
                nanos: Int64(millis) * 1_000_000, offsetSeconds: PresetScan.offset(assumeTimeZoneOffset, event))
        else { return }
        event.timestamp = ts
        event.severity = severity
        event.fields["level"] = .string(PresetScan.string(b, 24..<28))
        event.message = b.count > 29 ? PresetScan.string(b, 29..<b.count) : ""
    }
}
