import LogferryCore
import LogferryJournal
import LogferrySources
import LogferryTransport
import Synchronization

/// The collectors a node registers: one per component, each reading that component's own counters at scrape
/// time. Metric names are documented in docs/CONFIG.md ("Metrics").
enum NodeMetrics {
    static func journal(_ journal: Journal) -> MetricsRegistry.Collector {
        let report = journal.recoveryReport
        return {
            let s = journal.stat()
            var out: [MetricSample] = [
                MetricSample(
                    "logferry_journal_bytes", .gauge, "Bytes in retained journal segments.", value: d(s.bytes)),
                MetricSample(
                    "logferry_journal_max_bytes", .gauge, "Configured journal.max_bytes.", value: d(s.maxBytes)),
                MetricSample("logferry_journal_segments", .gauge, "Retained segment files.", value: d(s.segments)),
                MetricSample(
                    "logferry_journal_last_sequence", .gauge, "Highest durable sequence number.",
                    value: d(s.lastSequence)),
                MetricSample(
                    "logferry_journal_appended_records_total", .counter, "Records appended since start.",
                    value: d(s.appendedRecords)),
                MetricSample(
                    "logferry_journal_dropped_oldest_records_total", .counter,
                    "Records deleted undelivered by when_full: drop-oldest.", value: d(s.droppedOldestRecords)),
                MetricSample(
                    "logferry_journal_rejected_newest_records_total", .counter,
                    "Records refused by when_full: drop-newest.", value: d(s.rejectedNewestRecords)),
                MetricSample(
                    "logferry_journal_blocked_appends", .gauge, "Appends waiting for room (when_full: block).",
                    value: d(s.blockedAppends)),
                MetricSample(
                    "logferry_journal_damaged_regions_skipped_total", .counter,
                    "Damaged regions skipped while reading.", value: d(s.damagedRegionsSkipped)),
                MetricSample("logferry_journal_fsyncs_total", .counter, "fsync calls.", value: d(s.fsyncs)),
                MetricSample(
                    "logferry_journal_recovery_bytes_cut", .gauge, "Bytes cut off torn segment tails at start.",
                    value: d(report.bytesCut)),
                MetricSample(
                    "logferry_journal_recovery_damaged_regions", .gauge, "Damaged regions found at start.",
                    value: d(report.damagedRegions.count)),
                MetricSample(
                    "logferry_journal_recovery_corrupt_cursors", .gauge, "Cursor files found corrupt at start.",
                    value: d(report.corruptCursorFiles.count)),
            ]
            for c in s.cursors {
                out.append(
                    MetricSample(
                        "logferry_journal_cursor_lag_records", .gauge,
                        "Records between a destination's cursor and the newest record.", labels: [("cursor", c.name)],
                        value: d(c.lag)))
            }
            return out
        }
    }

    /// Counters every source has: what reached the journal and what was lost on the way.
    static func source(name: String, type: String, drops: SourceDropCounters, extra: @escaping @Sendable () -> [Sample])
        -> MetricsRegistry.Collector
    {
        {
            let labels = [("source", name), ("type", type)]
            var out = [
                MetricSample(
                    "logferry_source_dropped_total", .counter, "Messages lost before the journal, by reason.",
                    labels: labels + [("reason", "journal_full")], value: d(drops.journalFull.load(ordering: .relaxed))),
                MetricSample(
                    "logferry_source_dropped_total", .counter, "Messages lost before the journal, by reason.",
                    labels: labels + [("reason", "too_large")], value: d(drops.tooLarge.load(ordering: .relaxed))),
            ]
            for s in extra() {
                out.append(MetricSample(s.name, s.kind, s.help, labels: labels + s.labels, value: d(s.value)))
            }
            return out
        }
    }

    struct Sample {
        var name: String
        var kind: MetricSample.Kind
        var help: String
        var labels: [(String, String)] = []
        var value: Int
    }

    static let received = "logferry_source_received_total"
    static let receivedHelp = "Messages received."
    static let truncated = "logferry_source_truncated_total"
    static let truncatedHelp = "Messages cut to max_message_bytes."

    static func datagram(_ c: DatagramSourceCounters) -> @Sendable () -> [Sample] {
        {
            [
                Sample(name: received, kind: .counter, help: receivedHelp, value: c.received.load(ordering: .relaxed)),
                Sample(
                    name: truncated, kind: .counter, help: truncatedHelp, value: c.truncated.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_dropped_total", kind: .counter,
                    help: "Messages lost before the journal, by reason.", labels: [("reason", "buffer_full")],
                    value: c.dropped.load(ordering: .relaxed)),
            ]
        }
    }

    static func stream(_ c: StreamSourceCounters) -> @Sendable () -> [Sample] {
        {
            [
                Sample(name: received, kind: .counter, help: receivedHelp, value: c.received.load(ordering: .relaxed)),
                Sample(
                    name: truncated, kind: .counter, help: truncatedHelp, value: c.truncated.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_connections_total", kind: .counter, help: "Connections accepted.",
                    value: c.connections.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_connections_active", kind: .gauge, help: "Connections open now.",
                    value: c.active.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_connections_refused_total", kind: .counter,
                    help: "Connections closed at once because max_connections were open.",
                    value: c.refused.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_connection_errors_total", kind: .counter,
                    help: "Connections that ended with an error.", value: c.connectionErrors.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_framing_errors_total", kind: .counter,
                    help: "Frames with broken framing, delivered as they were.",
                    value: c.framingErrors.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_idle_closed_total", kind: .counter,
                    help: "Connections closed after idle_timeout without data.",
                    value: c.idleClosed.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_tls_failures_total", kind: .counter,
                    help: "Connections refused in the TLS handshake.", value: c.tlsFailures.load(ordering: .relaxed)),
            ]
        }
    }

    static func file(_ c: FileTailCounters) -> @Sendable () -> [Sample] {
        {
            [
                Sample(name: received, kind: .counter, help: receivedHelp, value: c.lines.load(ordering: .relaxed)),
                Sample(
                    name: truncated, kind: .counter, help: truncatedHelp,
                    value: c.truncatedLines.load(ordering: .relaxed)
                ),
                Sample(
                    name: "logferry_source_bytes_total", kind: .counter, help: "Bytes read.",
                    value: c.bytes.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_file_truncations_total", kind: .counter,
                    help: "Files found truncated (copytruncate, truncate in place).",
                    value: c.truncations.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_file_rotations_total", kind: .counter,
                    help: "Files found rotated away or deleted.", value: c.rotations.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_files_open", kind: .gauge, help: "Files open now.",
                    value: c.filesOpened.load(ordering: .relaxed) - c.filesClosed.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_read_errors_total", kind: .counter, help: "Failed reads.",
                    value: c.readErrors.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_checkpoint_errors_total", kind: .counter,
                    help: "Failed offset checkpoint writes.", value: c.checkpointErrors.load(ordering: .relaxed)),
            ]
        }
    }

    static func http(_ c: HTTPIngestCounters) -> @Sendable () -> [Sample] {
        {
            let rejected = "logferry_source_http_rejected_total"
            let rejectedHelp = "Requests refused, by reason; nothing of them was journaled."
            return [
                Sample(name: received, kind: .counter, help: receivedHelp, value: c.events.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_http_requests_total", kind: .counter, help: "Requests received.",
                    value: c.requests.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_http_accepted_total", kind: .counter,
                    help: "Requests answered 200 once durable.", value: c.accepted.load(ordering: .relaxed)),
                Sample(
                    name: "logferry_source_connections_active", kind: .gauge, help: "Connections open now.",
                    value: c.active.load(ordering: .relaxed)),
            ]
                + [
                    ("unauthorized", c.rejectedUnauthorized.load(ordering: .relaxed)),
                    ("malformed", c.rejectedMalformed.load(ordering: .relaxed)),
                    ("too_large", c.rejectedTooLarge.load(ordering: .relaxed)),
                    ("media_type", c.rejectedMediaType.load(ordering: .relaxed)),
                    ("method", c.rejectedMethod.load(ordering: .relaxed)),
                    ("busy", c.rejectedBusy.load(ordering: .relaxed)),
                    ("journal_full", c.rejectedJournalFull.load(ordering: .relaxed)),
                ].map {
                    Sample(name: rejected, kind: .counter, help: rejectedHelp, labels: [("reason", $0.0)], value: $0.1)
                }
        }
    }

    static func sender(_ name: String, _ sender: WebSocketSender) -> MetricsRegistry.Collector {
        {
            let s = sender.statistics
            let l = [("destination", name)]
            return [
                MetricSample(
                    "logferry_destination_connected", .gauge, "1 while the websocket link is up.", labels: l,
                    value: s.connected ? 1 : 0),
                MetricSample(
                    "logferry_destination_reconnects_total", .counter, "Links that failed or ended (then backoff).",
                    labels: l, value: d(s.disconnects)),
                MetricSample(
                    "logferry_destination_tls_failures_total", .counter, "Connection attempts that failed in TLS.",
                    labels: l, value: d(s.tlsFailures)),
                MetricSample(
                    "logferry_destination_batches_sent_total", .counter, "Batches sent.", labels: l,
                    value: d(s.batchesSent)),
                MetricSample(
                    "logferry_destination_events_acked_total", .counter, "Events the receiver acknowledged.",
                    labels: l, value: d(s.eventsAcked)),
                MetricSample(
                    "logferry_destination_last_ack_timestamp_seconds", .gauge, "Unix time of the last ack.",
                    labels: l, value: Double(s.lastAckUnixNanos) / 1e9),
                MetricSample(
                    "logferry_destination_committed_sequence", .gauge, "Journal position acknowledged and committed.",
                    labels: l, value: d(s.committed)),
                MetricSample(
                    "logferry_destination_skipped_total", .counter, "Records not sent, by reason.",
                    labels: l + [("reason", "filtered")], value: d(s.recordsFiltered)),
                MetricSample(
                    "logferry_destination_skipped_total", .counter, "Records not sent, by reason.",
                    labels: l + [("reason", "oversized")], value: d(s.recordsOversized)),
                MetricSample(
                    "logferry_destination_skipped_total", .counter, "Records not sent, by reason.",
                    labels: l + [("reason", "undecodable")], value: d(s.recordsUndecodable)),
            ]
        }
    }

    static func receiver(_ name: String, _ receiver: WebSocketReceiver) -> MetricsRegistry.Collector {
        {
            let s = receiver.statistics
            let l = [("source", name)]
            return [
                MetricSample(
                    "logferry_receiver_connections_total", .counter, "Websocket connections accepted.", labels: l,
                    value: d(s.connectionsAccepted)),
                MetricSample(
                    "logferry_receiver_refused_total", .counter, "Upgrades refused, by reason.",
                    labels: l + [("reason", "handshake")], value: d(s.connectionsRefused)),
                MetricSample(
                    "logferry_receiver_refused_total", .counter, "Upgrades refused, by reason.",
                    labels: l + [("reason", "tls")], value: d(s.tlsHandshakesFailed)),
                MetricSample(
                    "logferry_receiver_protocol_errors_total", .counter, "Peers closed for breaking the protocol.",
                    labels: l, value: d(s.protocolErrors)),
                MetricSample(
                    "logferry_receiver_events_stored_total", .counter, "Events appended to the journal.", labels: l,
                    value: d(s.eventsStored)),
                MetricSample(
                    "logferry_receiver_events_duplicate_total", .counter,
                    "Events acknowledged without storing them again.", labels: l, value: d(s.eventsDuplicate)),
                MetricSample(
                    "logferry_receiver_storage_failures_total", .counter, "Appends the journal refused.", labels: l,
                    value: d(s.storageFailures)),
            ]
        }
    }

    private static func d<I: BinaryInteger>(_ v: I) -> Double { Double(v) }
}

/// Losses of one source that happen outside the source itself (the journal refused the batch).
final class SourceDropCounters: Sendable {
    /// Messages refused by a full journal under `when_full: drop-newest`.
    let journalFull = Atomic<Int>(0)
    /// Messages whose document alone is larger than the journal's record limit (a quarter of `max_bytes`, at most
    /// 16MiB).
    let tooLarge = Atomic<Int>(0)
    init() {}
}
