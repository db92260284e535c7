import LogferryCore
import LogferryJournal
import LogferrySources
import LogferryTransport
import Synchronization

/// The collectors a node registers: one per component, each reading that component's own counters at scrape
/// time. Metric names are documented in docs/CONFIG.md ("Metrics").
enum NodeMetrics {
    typealias Labels = [(String, String)]

    static func counter(_ name: String, _ help: String, _ value: some BinaryInteger, _ labels: Labels = [])
        -> MetricSample
    {
        MetricSample(name, .counter, help, labels: labels, value: Double(value))
    }

    static func gauge(_ name: String, _ help: String, _ value: some BinaryInteger, _ labels: Labels = [])
        -> MetricSample
    {
        MetricSample(name, .gauge, help, labels: labels, value: Double(value))
    }

    static func journal(_ journal: Journal) -> MetricsRegistry.Collector {
        let report = journal.recoveryReport
        return {
            let s = journal.stat()
            return [
                gauge("logferry_journal_bytes", "Bytes in retained journal segments.", s.bytes),
                gauge("logferry_journal_max_bytes", "Configured journal.max_bytes.", s.maxBytes),
                gauge("logferry_journal_segments", "Retained segment files.", s.segments),
                gauge("logferry_journal_last_sequence", "Highest durable sequence number.", s.lastSequence),
                counter("logferry_journal_appended_records_total", "Records appended since start.", s.appendedRecords),
                counter(
                    "logferry_journal_dropped_oldest_records_total",
                    "Records deleted undelivered by when_full: drop-oldest.", s.droppedOldestRecords),
                counter(
                    "logferry_journal_rejected_newest_records_total", "Records refused by when_full: drop-newest.",
                    s.rejectedNewestRecords),
                gauge(
                    "logferry_journal_blocked_appends", "Appends waiting for room (when_full: block).", s.blockedAppends
                ),
                counter(
                    "logferry_journal_damaged_regions_skipped_total", "Damaged regions skipped while reading.",
                    s.damagedRegionsSkipped),
                counter("logferry_journal_fsyncs_total", "fsync calls.", s.fsyncs),
                gauge(
                    "logferry_journal_recovery_bytes_cut", "Bytes cut off torn segment tails at start.",
                    report.bytesCut),
                gauge(
                    "logferry_journal_recovery_damaged_regions", "Damaged regions found at start.",
                    report.damagedRegions.count),
                gauge(
                    "logferry_journal_recovery_corrupt_cursors", "Cursor files found corrupt at start.",
                    report.corruptCursorFiles.count),
            ]
                + s.cursors.map {
                    gauge(
                        "logferry_journal_cursor_lag_records",
                        "Records between a destination's cursor and the newest record.", $0.lag, [("cursor", $0.name)])
                }
        }
    }

    /// Counters every source has (what was lost on the way to the journal), plus the source kind's own `extra`
    /// samples; every sample is labelled with the source's name and type.
    static func source(
        name: String, type: String, drops: SourceDropCounters, extra: @escaping @Sendable () -> [MetricSample]
    ) -> MetricsRegistry.Collector {
        {
            let labels = [("source", name), ("type", type)]
            return
                ([
                    dropped("journal_full", drops.journalFull.load(ordering: .relaxed)),
                    dropped("too_large", drops.tooLarge.load(ordering: .relaxed)),
                ] + extra()).map { s in
                    var s = s
                    s.labels = labels + s.labels
                    return s
                }
        }
    }

    static func dropped(_ reason: String, _ value: Int) -> MetricSample {
        counter(
            "logferry_source_dropped_total", "Messages lost before the journal, by reason.", value, [("reason", reason)]
        )
    }

    static func received(_ value: Int) -> MetricSample {
        counter("logferry_source_received_total", "Messages received.", value)
    }

    static func truncated(_ value: Int) -> MetricSample {
        counter("logferry_source_truncated_total", "Messages cut to max_message_bytes.", value)
    }

    static func datagram(_ c: DatagramSourceCounters) -> @Sendable () -> [MetricSample] {
        {
            [
                received(c.received.load(ordering: .relaxed)), truncated(c.truncated.load(ordering: .relaxed)),
                dropped("buffer_full", c.dropped.load(ordering: .relaxed)),
            ]
        }
    }

    static func stream(_ c: StreamSourceCounters) -> @Sendable () -> [MetricSample] {
        {
            [
                received(c.received.load(ordering: .relaxed)), truncated(c.truncated.load(ordering: .relaxed)),
                counter(
                    "logferry_source_connections_total", "Connections accepted.", c.connections.load(ordering: .relaxed)
                ),
                gauge("logferry_source_connections_active", "Connections open now.", c.active.load(ordering: .relaxed)),
                counter(
                    "logferry_source_connections_refused_total",
                    "Connections closed at once because max_connections were open.", c.refused.load(ordering: .relaxed)),
                counter(
                    "logferry_source_connection_errors_total", "Connections that ended with an error.",
                    c.connectionErrors.load(ordering: .relaxed)),
                counter(
                    "logferry_source_framing_errors_total", "Frames with broken framing, delivered as they were.",
                    c.framingErrors.load(ordering: .relaxed)),
                counter(
                    "logferry_source_idle_closed_total", "Connections closed after idle_timeout without data.",
                    c.idleClosed.load(ordering: .relaxed)),
                counter(
                    "logferry_source_tls_failures_total", "Connections refused in the TLS handshake.",
                    c.tlsFailures.load(ordering: .relaxed)),
            ]
        }
    }

    static func file(_ c: FileTailCounters) -> @Sendable () -> [MetricSample] {
        {
            [
                received(c.lines.load(ordering: .relaxed)), truncated(c.truncatedLines.load(ordering: .relaxed)),
                counter("logferry_source_bytes_total", "Bytes read.", c.bytes.load(ordering: .relaxed)),
                counter(
                    "logferry_source_file_truncations_total",
                    "Files found truncated (copytruncate, truncate in place).",
                    c.truncations.load(ordering: .relaxed)),
                counter(
                    "logferry_source_file_rotations_total", "Files found rotated away or deleted.",
                    c.rotations.load(ordering: .relaxed)),
                gauge(
                    "logferry_source_files_open", "Files open now.",
                    c.filesOpened.load(ordering: .relaxed) - c.filesClosed.load(ordering: .relaxed)),
                counter("logferry_source_read_errors_total", "Failed reads.", c.readErrors.load(ordering: .relaxed)),
                counter(
                    "logferry_source_checkpoint_errors_total", "Failed offset checkpoint writes.",
                    c.checkpointErrors.load(ordering: .relaxed)),
            ]
        }
    }

    static func http(_ c: HTTPIngestCounters) -> @Sendable () -> [MetricSample] {
        {
            let rejections = [
                ("unauthorized", c.rejectedUnauthorized.load(ordering: .relaxed)),
                ("malformed", c.rejectedMalformed.load(ordering: .relaxed)),
                ("too_large", c.rejectedTooLarge.load(ordering: .relaxed)),
                ("media_type", c.rejectedMediaType.load(ordering: .relaxed)),
                ("method", c.rejectedMethod.load(ordering: .relaxed)),
                ("busy", c.rejectedBusy.load(ordering: .relaxed)),
                ("journal_full", c.rejectedJournalFull.load(ordering: .relaxed)),
            ].map { reason, value in
                counter(
                    "logferry_source_http_rejected_total",
                    "Requests refused, by reason; nothing of them was journaled.",
                    value, [("reason", reason)])
            }
            return [
                received(c.events.load(ordering: .relaxed)),
                counter(
                    "logferry_source_http_requests_total", "Requests received.", c.requests.load(ordering: .relaxed)),
                counter(
                    "logferry_source_http_accepted_total", "Requests answered 200 once durable.",
                    c.accepted.load(ordering: .relaxed)),
                gauge("logferry_source_connections_active", "Connections open now.", c.active.load(ordering: .relaxed)),
            ] + rejections
        }
    }

    static func sender(_ name: String, _ sender: WebSocketSender) -> MetricsRegistry.Collector {
        {
            let s = sender.statistics
            let l = [("destination", name)]
            let skipped = "Records not sent, by reason."
            return [
                gauge("logferry_destination_connected", "1 while the websocket link is up.", s.connected ? 1 : 0, l),
                counter(
                    "logferry_destination_reconnects_total", "Links that failed or ended (then backoff).",
                    s.disconnects, l),
                counter(
                    "logferry_destination_tls_failures_total", "Connection attempts that failed in TLS.", s.tlsFailures,
                    l),
                counter("logferry_destination_batches_sent_total", "Batches sent.", s.batchesSent, l),
                counter(
                    "logferry_destination_events_acked_total", "Events the receiver acknowledged.", s.eventsAcked, l),
                MetricSample(
                    "logferry_destination_last_ack_timestamp_seconds", .gauge, "Unix time of the last ack.", labels: l,
                    value: Double(s.lastAckUnixNanos) / 1e9),
                MetricSample(
                    histogram: "logferry_destination_ack_latency_seconds",
                    "From the journal append of a batch's oldest event to the receiver's ack of the batch.",
                    labels: l, s.ackLatency),
                gauge(
                    "logferry_destination_committed_sequence", "Journal position acknowledged and committed.",
                    s.committed, l),
                counter("logferry_destination_skipped_total", skipped, s.recordsFiltered, l + [("reason", "filtered")]),
                counter(
                    "logferry_destination_skipped_total", skipped, s.recordsOversized, l + [("reason", "oversized")]),
                counter(
                    "logferry_destination_skipped_total", skipped, s.recordsUndecodable, l + [("reason", "undecodable")]
                ),
            ]
        }
    }

    static func receiver(_ name: String, _ receiver: WebSocketReceiver) -> MetricsRegistry.Collector {
        {
            let s = receiver.statistics
            let l = [("source", name)]
            let refused = "Upgrades refused, by reason."
            return [
                counter(
                    "logferry_receiver_connections_total", "Websocket connections accepted.", s.connectionsAccepted, l),
                counter(
                    "logferry_receiver_refused_total", refused, s.connectionsRefused, l + [("reason", "handshake")]),
                counter("logferry_receiver_refused_total", refused, s.tlsHandshakesFailed, l + [("reason", "tls")]),
                counter(
                    "logferry_receiver_protocol_errors_total", "Peers closed for breaking the protocol.",
                    s.protocolErrors, l),
                counter("logferry_receiver_events_stored_total", "Events appended to the journal.", s.eventsStored, l),
                counter(
                    "logferry_receiver_events_duplicate_total", "Events acknowledged without storing them again.",
                    s.eventsDuplicate, l),
                counter(
                    "logferry_receiver_storage_failures_total", "Appends the journal refused.", s.storageFailures, l),
            ]
        }
    }
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
