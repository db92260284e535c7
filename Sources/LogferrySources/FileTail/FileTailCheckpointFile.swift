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
public enum FileTailCheckpointFile {
    public struct DecodeError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "offsets checkpoint unreadable: \(reason)" }
    }

    public static func encode(_ entries: [FileTailState.Checkpoint]) -> [UInt8] {
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
        return JSONWriter.render(.object(["version": .int(1), "files": .array(files)])) + [UInt8(ascii: "\n")]
    }

    public static func decode(_ bytes: [UInt8]) throws -> [FileTailState.Checkpoint] {
        let doc: JSONValue
        do { doc = try JSONParser.parse(bytes) } catch { throw DecodeError(reason: "\(error)") }
        guard doc["version"]?.int64Value == 1 else { throw DecodeError(reason: "unknown version") }
        guard case .array(let files)? = doc["files"] else { throw DecodeError(reason: "no files array") }
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
