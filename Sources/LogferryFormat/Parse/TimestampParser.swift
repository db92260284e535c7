import LogferryCore

/// Parses the timestamp forms syslog senders write, without Foundation (no allocation, no locks).
public enum TimestampParser {
    /// Years a `Timestamp` (Int64 nanoseconds, about 1678–2262) holds with room to spare; a stamp outside them is
    /// treated as no stamp rather than overflowing.
    static let supportedYears = 1700...2200

    /// Parses a whole RFC 3339 string (`2026-11-21T12:00:00.123+01:00`). A stamp without a zone is taken to be
    /// at `defaultOffset` seconds east of UTC; a space instead of `T` is accepted (RFC 3339 §5.6 allows it).
    public static func parseRFC3339(_ text: String, defaultOffset: Int = 0) -> Timestamp? {
        var text = text
        return text.withUTF8 { buf in
            guard let (ts, end) = rfc3339(buf, from: 0, defaultOffset: defaultOffset, allowSpace: true),
                end == buf.count
            else { return nil }
            return ts
        }
    }

    /// Parses an RFC 3339 stamp starting at `start`; returns it and the index just past it. Fractions beyond
    /// nanoseconds are ignored; zones may be `Z`, `+HH:MM` or `+HHMM`.
    static func rfc3339(
        _ b: UnsafeBufferPointer<UInt8>, from start: Int, defaultOffset: Int, allowSpace: Bool
    ) -> (Timestamp, Int)? {
        var i = start
        guard let year = digits(b, &i, count: 4), expect(b, &i, UInt8(ascii: "-")),
            let month = digits(b, &i, count: 2), expect(b, &i, UInt8(ascii: "-")),
            let day = digits(b, &i, count: 2), i < b.count
        else { return nil }
        let sep = b[i]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || (allowSpace && sep == 0x20) else { return nil }
        i += 1
        guard let hour = digits(b, &i, count: 2), expect(b, &i, UInt8(ascii: ":")),
            let minute = digits(b, &i, count: 2), expect(b, &i, UInt8(ascii: ":")),
            let second = digits(b, &i, count: 2)
        else { return nil }
        let nanos = fraction(b, &i)
        var offset = defaultOffset
        if i < b.count {
            switch b[i] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                offset = 0
                i += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let negative = b[i] == UInt8(ascii: "-")
                i += 1
                guard let oh = digits(b, &i, count: 2), oh <= 23 else { return nil }
                _ = expect(b, &i, UInt8(ascii: ":"))
                guard let om = digits(b, &i, count: 2), om <= 59 else { return nil }
                offset = (oh * 3600 + om * 60) * (negative ? -1 : 1)
            default:
                break
            }
        }
        guard supportedYears.contains(year), day <= daysInMonth(year: year, month: month),
            let ts = Timestamp(
                year: year, month: month, day: day, hour: hour, minute: minute, second: second, nanos: nanos,
                offsetSeconds: offset)
        else { return nil }
        return (ts, i)
    }

    /// Parses a BSD stamp at `start`: `Mmm dd hh:mm:ss`, the day space- or zero-padded or a single digit,
    /// optionally with a fraction (`.123`) and with a year between day and time (`Nov 21 2026 12:00:00`, Cisco).
    /// Without a year, the year is the one that puts the stamp closest to `receivedAt` (a December stamp received
    /// in early January belongs to last year).
    static func bsd(
        _ b: UnsafeBufferPointer<UInt8>, from start: Int, receivedAt: Timestamp, offset: Int
    ) -> (Timestamp, Int)? {
        var i = start
        guard i + 3 <= b.count, let month = monthNumber(b[i], b[i + 1], b[i + 2]) else { return nil }
        i += 3
        guard expect(b, &i, 0x20) else { return nil }
        if i < b.count, b[i] == 0x20 { i += 1 }  // "Nov  1"
        guard let day = digits(b, &i, min: 1, max: 2), day >= 1, expect(b, &i, 0x20) else { return nil }
        var year: Int? = nil
        let save = i
        if let y = digits(b, &i, count: 4), expect(b, &i, 0x20) {
            guard supportedYears.contains(y) else { return nil }
            year = y
        } else {
            i = save
        }
        guard let hour = digits(b, &i, count: 2), expect(b, &i, UInt8(ascii: ":")),
            let minute = digits(b, &i, count: 2), expect(b, &i, UInt8(ascii: ":")),
            let second = digits(b, &i, count: 2)
        else { return nil }
        let nanos = fraction(b, &i)
        let years: ClosedRange<Int>
        if let year {
            years = year...year
        } else {
            let localDays = Int((receivedAt.seconds + Int64(offset)) / 86400)
            let y = Timestamp.civilFromDays(localDays).year
            years = (y - 1)...(y + 1)
        }
        var best: Timestamp? = nil
        for y in years where day <= daysInMonth(year: y, month: month) {
            guard
                let ts = Timestamp(
                    year: y, month: month, day: day, hour: hour, minute: minute, second: second, nanos: nanos,
                    offsetSeconds: offset)
            else { continue }
            if let current = best, distance(current, receivedAt) <= distance(ts, receivedAt) { continue }
            best = ts
        }
        guard let best else { return nil }
        return (best, i)
    }

    private static func distance(_ a: Timestamp, _ b: Timestamp) -> UInt64 {
        a.nanos >= b.nanos ? UInt64(a.nanos - b.nanos) : UInt64(b.nanos - a.nanos)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 1, 3, 5, 7, 8, 10, 12: return 31
        case 4, 6, 9, 11: return 30
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        default: return 0
        }
    }

    private static func monthNumber(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int? {
        // Case-insensitive: fold ASCII letters to lower case.
        let key = (UInt32(a | 0x20) << 16) | (UInt32(b | 0x20) << 8) | UInt32(c | 0x20)
        switch key {
        case 0x6A_616E: return 1  // jan
        case 0x66_6562: return 2  // feb
        case 0x6D_6172: return 3  // mar
        case 0x61_7072: return 4  // apr
        case 0x6D_6179: return 5  // may
        case 0x6A_756E: return 6  // jun
        case 0x6A_756C: return 7  // jul
        case 0x61_7567: return 8  // aug
        case 0x73_6570: return 9  // sep
        case 0x6F_6374: return 10  // oct
        case 0x6E_6F76: return 11  // nov
        case 0x64_6563: return 12  // dec
        default: return nil
        }
    }

    private static func expect(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ c: UInt8) -> Bool {
        guard i < b.count, b[i] == c else { return false }
        i += 1
        return true
    }

    private static func digits(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, count: Int) -> Int? {
        digits(b, &i, min: count, max: count)
    }

    private static func digits(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, min: Int, max: Int) -> Int? {
        var v = 0
        var n = 0
        while n < max, i + n < b.count, b[i + n] >= 0x30, b[i + n] <= 0x39 {
            v = v * 10 + Int(b[i + n] - 0x30)
            n += 1
        }
        guard n >= min else { return nil }
        i += n
        return v
    }

    /// `.ddd…` (or `,ddd…`, which some ISO writers use) as nanoseconds; digits past the ninth are skipped.
    private static func fraction(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> Int64 {
        guard i + 1 < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ","),
            b[i + 1] >= 0x30, b[i + 1] <= 0x39
        else { return 0 }
        i += 1
        var nanos: Int64 = 0
        var n = 0
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
            if n < 9 {
                nanos = nanos * 10 + Int64(b[i] - 0x30)
                n += 1
            }
            i += 1
        }
        while n < 9 {
            nanos *= 10
            n += 1
        }
        return nanos
    }
}
