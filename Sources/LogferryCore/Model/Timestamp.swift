#if canImport(Glibc)
    import Glibc
#endif

/// A point in time as nanoseconds since the Unix epoch (UTC).
///
/// Rendering and civil-date arithmetic are done by hand (Howard Hinnant's days-from-civil algorithm)
/// because Foundation's formatters allocate and lock on every call, and every event renders two stamps.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanos: Int64

    public init(nanos: Int64) { self.nanos = nanos }

    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(nanos: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    public var seconds: Int64 { nanos >= 0 ? nanos / 1_000_000_000 : (nanos - 999_999_999) / 1_000_000_000 }
    public var subsecondNanos: Int64 { nanos - seconds * 1_000_000_000 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanos < b.nanos }

    /// Days since 1970-01-01 for a proleptic Gregorian date.
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// Builds a timestamp from civil UTC fields; `offsetSeconds` is the zone offset the fields were written in
    /// (e.g. +3600 for `+01:00`).
    public init?(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, nanos: Int64 = 0,
        offsetSeconds: Int = 0
    ) {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
            (0...60).contains(second)
        else { return nil }
        // Int64 nanoseconds cover 1677-09-21 to 2262-04-11; a hostile stamp outside that is no timestamp.
        guard (1678...2261).contains(year) else { return nil }
        let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
        let secs = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
        let (scaled, overflow) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (total, overflow2) = scaled.addingReportingOverflow(nanos)
        guard !overflow2 else { return nil }
        self.nanos = total
    }

    /// RFC 3339 in UTC: `2026-11-21T12:00:00.123Z`; six fractional digits when the time has sub-millisecond
    /// precision.
    public func appendISO8601(to out: inout [UInt8]) {
        let secs = seconds
        let frac = subsecondNanos
        var days = Int(secs / 86400)
        var rem = Int(secs % 86400)
        if rem < 0 {
            rem += 86400
            days -= 1
        }
        let (y, m, d) = Timestamp.civilFromDays(days)
        let digits = frac % 1_000_000 == 0 ? 3 : 6
        // Written into stack memory and appended once: this runs twice for every event a source journals.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 27) { b in
            func two(_ i: Int, _ v: Int) {
                b[i] = UInt8(48 + v / 10)
                b[i + 1] = UInt8(48 + v % 10)
            }
            let yy = max(0, min(9999, y))
            two(0, yy / 100)
            two(2, yy % 100)
            b[4] = UInt8(ascii: "-")
            two(5, m)
            b[7] = UInt8(ascii: "-")
            two(8, d)
            b[10] = UInt8(ascii: "T")
            two(11, rem / 3600)
            b[13] = UInt8(ascii: ":")
            two(14, (rem / 60) % 60)
            b[16] = UInt8(ascii: ":")
            two(17, rem % 60)
            b[19] = UInt8(ascii: ".")
            var f = digits == 3 ? Int(frac / 1_000_000) : Int(frac / 1000)
            for i in stride(from: 19 + digits, through: 20, by: -1) {
                b[i] = UInt8(48 + f % 10)
                f /= 10
            }
            b[20 + digits] = UInt8(ascii: "Z")
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[0..<(21 + digits)]))
        }
    }

    public var iso8601: String {
        var out: [UInt8] = []
        out.reserveCapacity(27)
        appendISO8601(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { iso8601 }
}
