import LogferryCore
import LogferryFormat
import Logging
import ServiceLifecycle
import Synchronization

/// Makes every loss visible in the log stream itself: each `interval`, for each counted loss that grew since the
/// last report, it journals one internal event (program `logferry`, MSGID `input-dropped`, severity warning,
/// RFC 5424 structured data `[dropped@32473 source=".." reason=".." count=".."]`) and logs a warning.
///
/// Reasons: `journal_full` (a full journal under `when_full: drop-newest` refused the source's batch),
/// `buffer_full` (a datagram source's buffer towards the journal overflowed), `journal_drop_oldest` (the journal
/// deleted undelivered records to make room; counted for the whole journal, source `journal`). While the journal
/// is still full the report itself cannot be journaled; the counts stay pending and are reported, summed, once it
/// can — the metrics count them meanwhile.
struct DropReporter: Service, CustomStringConvertible {
    struct Counted: Sendable {
        var source: String
        var reason: String
        var read: @Sendable () -> Int
    }

    let counted: [Counted]
    let spool: any Spool
    let ingest: Ingest
    let interval: Duration
    let logger: Logger
    var description: String { "drop-reporter" }

    func run() async throws {
        let reported = Mutex([Int](repeating: 0, count: counted.count))
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: interval)
                    let next = await report(since: reported.withLock { $0 })
                    reported.withLock { $0 = next }
                }
            }
        } catch is CancellationError {}
        _ = await report(since: reported.withLock { $0 })
    }

    /// Journals one event per grown counter; returns the counts now covered by a journaled report.
    func report(since reported: [Int]) async -> [Int] {
        var next = reported
        var lines: [RawMessage] = []
        var indices: [Int] = []
        let now = Timestamp.now()
        for (i, c) in counted.enumerated() {
            let value = c.read()
            guard value > reported[i] else { continue }
            let n = value - reported[i]
            logger.warning(
                "messages dropped", metadata: ["source": "\(c.source)", "reason": "\(c.reason)", "count": "\(n)"])
            lines.append(
                RawMessage(
                    bytes: Array(Self.message(source: c.source, reason: c.reason, count: n).utf8), receivedAt: now))
            indices.append(i)
            next[i] = value
        }
        guard !lines.isEmpty else { return reported }
        do {
            _ = try await spool.append(ingest.payloads(lines))
            return next
        } catch {
            // Full (drop-newest) or failing: keep the counts pending, report them summed next time.
            return reported
        }
    }

    static func message(source: String, reason: String, count: Int) -> String {
        let what: String
        switch reason {
        case "journal_full": what = "the journal was full (when_full: drop-newest)"
        case "buffer_full": what = "the buffer towards the journal was full (the journal fell behind)"
        case "too_large": what = "the document was larger than the journal's record limit (raise journal.max_bytes)"
        case "journal_drop_oldest":
            what = "the journal deleted undelivered records to make room (when_full: drop-oldest)"
        default: what = reason
        }
        return "<44>1 - - logferry - input-dropped [dropped@32473 source=\"\(source)\" reason=\"\(reason)\" "
            + "count=\"\(count)\"] \(count) message(s) from source \(source) dropped: \(what)"
    }
}
