import LogferryCore

/// The offsets checkpoint of a file source (`DATA_DIR/sources/NAME.offsets`): one JSON document, rewritten
/// atomically (temp file, fsync, rename, fsync dir) after every batch the journal made durable.
///
/// ```json
/// {"version":1,"files":[{"path":"/var/log/app.log","device":"2049","inode":"131","fingerprint_length":256,
///   "fingerprint":"9f0c1a2b3c4d5e6f","offset":52311}]}
/// ```
/// `offset` is the end of the last delivered line: a restart resumes there when device, inode and the
/// fingerprint of the file's first `fingerprint_length` bytes still match. Device and inode are strings because
/// they are unsigned 64-bit values.
///
/// Version 2 adds `pending`: for each batch written to the journal but not yet known durable, the offsets as
/// they will be once it is, with the highest journal sequence number of the batch:
/// `"pending":[{"seq":1042,"files":[...]}]`. They are written (without fsync) as soon as the journal assigned the
/// sequence numbers. On start the newest pending entry whose `seq` the journal holds (its last sequence is at
/// least `seq`: the records survived the crash) wins over `files`. This closes the gap between the journal's
/// commit and the checkpoint's: a kill -9 right after a group fsync no longer re-reads the batch. A pending entry
/// whose records the journal lost is ignored, so it never skips a line.
public enum FileTailCheckpointFile {
    public struct Contents: Sendable, Equatable {
        public var files: [FileTailState.Checkpoint]
        public var pending: [Pending]
        public init(files: [FileTailState.Checkpoint], pending: [Pending] = []) {
            self.files = files
            self.pending = pending
        }

        /// The offsets to resume from, given the highest sequence number the journal holds (nil: unknown, then
        /// only the confirmed `files`).
        public func resolve(journalHolds last: UInt64?) -> [FileTailState.Checkpoint] {
            guard let last, let p = pending.last(where: { $0.seq <= last }) else { return files }
            return p.files
        }
    }

    public struct Pending: Sendable, Equatable {
        public var seq: UInt64
        public var files: [FileTailState.Checkpoint]
        public init(seq: UInt64, files: [FileTailState.Checkpoint]) {
            self.seq = seq
            self.files = files
        }
    }

    public struct DecodeError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "offsets checkpoint unreadable: \(reason)" }
    }

    public static func encode(_ entries: [FileTailState.Checkpoint]) -> [UInt8] {
        encode(Contents(files: entries))
    }

    public static func encode(_ contents: Contents) -> [UInt8] {
        var doc: JSONObject = ["version": .int(2), "files": filesJSON(contents.files)]
        if !contents.pending.isEmpty {
            doc["pending"] = .array(
                contents.pending.map { .object(["seq": .int(Int64($0.seq)), "files": filesJSON($0.files)]) })
        }
        return JSONWriter.render(.object(doc)) + [UInt8(ascii: "\n")]
    }

    static func filesJSON(_ entries: [FileTailState.Checkpoint]) -> JSONValue {
        var files: [JSONValue] = []
        for e in entries {
            files.append(
                .object([
                    "path": .string(e.path),
                    "device": .string(String(e.id.device)),
                    "inode": .string(String(e.id.inode)),
                    "fingerprint_length": .int(Int64(e.fingerprint.length)),
                    "fingerprint": .string(String(e.fingerprint.hash, radix: 16)),
                    "offset": .int(e.offset),
                ]))
        }
        return .array(files)
    }

    /// The confirmed offsets only (what a version 1 file holds).
    public static func decode(_ bytes: [UInt8]) throws -> [FileTailState.Checkpoint] {
        try decodeContents(bytes).files
    }

    public static func decodeContents(_ bytes: [UInt8]) throws -> Contents {
        let doc: JSONValue
        do { doc = try JSONParser.parse(bytes) } catch { throw DecodeError(reason: "\(error)") }
        guard let version = doc["version"]?.int64Value, version == 1 || version == 2 else {
            throw DecodeError(reason: "unknown version")
        }
        var pending: [Pending] = []
        if case .array(let list)? = doc["pending"] {
            for p in list {
                guard let seq = p["seq"]?.int64Value, seq >= 0 else { throw DecodeError(reason: "bad pending entry") }
                pending.append(Pending(seq: UInt64(seq), files: try entries(p["files"])))
            }
        }
        return Contents(files: try entries(doc["files"]), pending: pending)
    }

    static func entries(_ value: JSONValue?) throws -> [FileTailState.Checkpoint] {
        guard case .array(let files)? = value else { throw DecodeError(reason: "no files array") }
        return try files.map { f in
            guard let path = f["path"]?.stringValue,
                let device = f["device"]?.stringValue.flatMap({ UInt64($0) }),
                let inode = f["inode"]?.stringValue.flatMap({ UInt64($0) }),
                let fpLength = f["fingerprint_length"]?.int64Value,
                let fpHash = f["fingerprint"]?.stringValue.flatMap({ UInt64($0, radix: 16) }),
                let offset = f["offset"]?.int64Value, offset >= 0, fpLength >= 0
            else { throw DecodeError(reason: "bad entry \(JSONWriter.renderString(f))") }
            return FileTailState.Checkpoint(
                path: path, id: FileTailID(device: device, inode: inode),
                fingerprint: FileTailFingerprint(length: Int(fpLength), hash: fpHash), offset: offset)
        }
    }
}
