import LogferryCore

/// Knowledge of one well-known program's log formats, applied to a parsed event before the template's steps
/// (`preset:` on a source). A preset only adds what it recognises: a line it does not recognise passes unchanged
/// and gets no error, so a preset can be put on a source that also carries other lines.
///
/// - `nginx`: JSON access logs (`log_format ... escape=json`) get their well-known numeric variables typed,
///   combined-format access lines and error-log lines are split into fields (see `NginxPreset`).
/// - `supervisor`: child log files name the program and stream; supervisord's own log lines give time,
///   severity and message (see `SupervisorPreset`).
///
/// docs/PARSING.md lists exactly what each preset sets.
public enum Preset: String, Sendable, CaseIterable {
    case nginx
    case supervisor

    /// The names accepted by `init?(rawValue:)`, for error messages: `nginx, supervisor`.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Applies the preset in place.
    ///
    /// - Parameter assumeTimeZoneOffset: seconds east of UTC for stamps written without a zone (nginx's error log,
    ///   supervisord's log); `nil` computes this machine's offset at the event's receive time, only when needed.
    public func apply(to event: inout Event, assumeTimeZoneOffset: Int? = nil) {
        switch self {
        case .nginx: NginxPreset.apply(to: &event, assumeTimeZoneOffset: assumeTimeZoneOffset)
        case .supervisor: SupervisorPreset.apply(to: &event, assumeTimeZoneOffset: assumeTimeZoneOffset)
        }
    }
}

/// Small byte-level helpers shared by the presets: they read the message's UTF-8 directly, without Foundation
/// or intermediate strings.
enum PresetScan {
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// The value of `count` ASCII digits at `i`, or nil.
    static func digits(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ count: Int) -> Int? {
        guard i >= 0, i + count <= b.count else { return nil }
        var v = 0
        for k in i..<(i + count) {
            guard isDigit(b[k]) else { return nil }
            v = v * 10 + Int(b[k] - 0x30)
        }
        return v
    }

    /// Reads a run of 1...18 digits at `i`: its value and the index after it.
    static func number(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (value: Int64, end: Int)? {
        var j = i
        var v: Int64 = 0
        while j < b.count, isDigit(b[j]), j - i < 18 {
            v = v * 10 + Int64(b[j] - 0x30)
            j += 1
        }
        return j > i ? (v, j) : nil
    }

    static func string(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[range]), as: UTF8.self)
    }

    /// Whether `b[i...]` starts with `literal`.
    static func has(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard i >= 0, i + n <= b.count else { return false }
        let p = literal.utf8Start
        for k in 0..<n where b[i + k] != p[k] { return false }
        return true
    }

    /// `YYYY?MM?DD?HH:MM:SS` at `i` with `dateSeparator` between the date parts and one space before the time;
    /// the civil fields, or nil.
    static func dateTime(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, dateSeparator: UInt8) -> (
        y: Int, mo: Int, d: Int, h: Int, mi: Int, s: Int
    )? {
        guard i + 19 <= b.count, b[i + 4] == dateSeparator, b[i + 7] == dateSeparator, b[i + 10] == 0x20,
            b[i + 13] == UInt8(ascii: ":"), b[i + 16] == UInt8(ascii: ":"),
            let y = digits(b, i, 4), let mo = digits(b, i + 5, 2), let d = digits(b, i + 8, 2),
            let h = digits(b, i + 11, 2), let mi = digits(b, i + 14, 2), let s = digits(b, i + 17, 2)
        else { return nil }
        return (y, mo, d, h, mi, s)
    }

    static func offset(_ given: Int?, _ event: Event) -> Int {
        given ?? ParseContext.localTimeZoneOffset(at: event.receivedAt)
    }
}
