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

    static let autoSuffixes: [(suffix: [UInt8], stream: String)] = [
        (Array("-stdout".utf8), "stdout"), (Array("-stderr".utf8), "stderr"),
    ]
    /// `-stdout _stdout .stdout -stderr ... .err`, longest first so `x.stdout` is not read as `x.std` + `out`.
    static let configuredSuffixes: [(suffix: [UInt8], stream: String)] = [
        ("stdout", "stdout"), ("stderr", "stderr"), ("out", "stdout"), ("err", "stderr"),
    ].flatMap { name, stream in ["-", "_", "."].map { (Array(($0 + name).utf8), stream) } }
    static let autoMarker = Array("---supervisor-".utf8)

    /// The program and stream named by a supervisor log file's path; nil for an empty name. On the path's bytes:
    /// it runs for every line of a file source.
    static func programAndStream(file: String) -> (program: String, stream: String?)? {
        var file = file
        return file.withUTF8 { b -> (program: String, stream: String?)? in
            var start = 0
            for i in 0..<b.count where b[i] == UInt8(ascii: "/") { start = i + 1 }
            var end = b.count
            // A rotation suffix: NAME.log.1 ... NAME.log.99
            var j = end
            while j > start, PresetScan.isDigit(b[j - 1]) { j -= 1 }
            if j < end, j - 1 > start, b[j - 1] == UInt8(ascii: ".") { end = j - 1 }
            if PresetScan.has(b, end - 4, ".log"), end - 4 >= start { end -= 4 }
            func endsWith(_ upper: Int, _ suffix: [UInt8]) -> Bool {
                guard upper - start >= suffix.count else { return false }
                for (k, c) in suffix.enumerated() where b[upper - suffix.count + k] != c { return false }
                return true
            }
            // supervisor's AUTO names: NAME-stdout---supervisor-RANDOM
            var m = start
            while m + autoMarker.count <= end {
                if b[m] == autoMarker[0], endsWith(m + autoMarker.count, autoMarker) {
                    for (suffix, stream) in autoSuffixes where endsWith(m, suffix) {
                        let program = start..<(m - suffix.count)
                        return program.isEmpty ? nil : (PresetScan.string(b, program), stream)
                    }
                    break
                }
                m += 1
            }
            for (suffix, stream) in configuredSuffixes where endsWith(end, suffix) && end - suffix.count > start {
                return (PresetScan.string(b, start..<(end - suffix.count)), stream)
            }
            return end > start ? (PresetScan.string(b, start..<end), nil) : nil
        }
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
