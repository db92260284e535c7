import LogferryCore
import LogferryFormat

/// A file destination's compiled path template, e.g. `/var/log/central/${HOST}/${PROGRAM}.log`.
///
/// Macros and value sanitising are `MacroString`'s with `.path` options (a value cannot contain `/` or
/// control characters, `.` and `..` are defused, a missing or empty value is `unknown`), so an event can
/// never choose a file outside the template's directories. Added here, for paths only: a template must name
/// a file (no trailing `/`), and every component is cut to `maxComponentBytes` so no event can make a path
/// the file system refuses (that write would be retried forever and stall the destination).
struct PathTemplate: Sendable, Equatable {
    /// Linux NAME_MAX.
    static let maxComponentBytes = 255

    let macros: MacroString

    init(_ template: String) throws(FileStoreError) {
        guard !template.isEmpty else { throw FileStoreError(.pathTemplate, "the path template is empty") }
        guard !template.hasSuffix("/") else {
            throw FileStoreError(
                .pathTemplate, "'\(template)' ends with '/': name a file, e.g. '\(template)${PROGRAM}.log'")
        }
        do {
            macros = try MacroString(template, options: .path, part: "path")
        } catch {
            throw FileStoreError(
                .pathTemplate, "'\(template)': \(error.message) (column \(error.column))", cause: error)
        }
    }

    /// The path for an event document; an undecodable event passes an empty object (every value `unknown`).
    func expand(_ document: JSONObject) -> String {
        let path = macros.expand(document: document)
        guard path.utf8.split(separator: UInt8(ascii: "/")).contains(where: { $0.count > Self.maxComponentBytes })
        else { return path }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { Self.cut(String($0), toBytes: Self.maxComponentBytes) }
            .joined(separator: "/")
    }

    /// `s` cut to at most `limit` UTF-8 bytes, on a character boundary.
    static func cut(_ s: String, toBytes limit: Int) -> String {
        guard s.utf8.count > limit else { return s }
        var out = ""
        var bytes = 0
        for ch in s {
            let n = ch.utf8.count
            if bytes + n > limit { break }
            out.append(ch)
            bytes += n
        }
        return out
    }
}
