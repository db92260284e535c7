import Glibc
import LogferryCore
import LogferryDestinations
import LogferryFormat
import LogferrySources
import LogferryTransport

/// Reads a config file and its `include`d fragments into a `NodeConfig`, collecting every problem as
/// `file:line: what is wrong; how to fix` (loading goes on after a problem so `check` lists them all).
struct ConfigLoader {
    static let topLevelKeys = ["include", "node", "journal", "sources", "templates", "destinations"]
    static let sourceTypes = ["unix-dgram", "unix-stream", "file", "udp", "tcp", "websocket", "http"]
    static let supportedSourceTypes = ["unix-dgram", "unix-stream", "file", "udp", "tcp", "websocket", "http"]
    static let destinationTypes = ["websocket", "file", "store", "clickhouse", "stdout"]
    static let supportedDestinationTypes = ["websocket", "file", "stdout"]

    let d = ConfigDiagnostics()
    var config = NodeConfig()
    private var sourceOrigins: [String: Origin] = [:]
    private var templateOrigins: [String: Origin] = [:]
    private var destinationOrigins: [String: Origin] = [:]
    private var seenFiles: Set<String> = []

    /// Loads `path`; throws `ConfigErrors` with every problem found.
    static func load(path: String) throws(ConfigErrors) -> NodeConfig {
        var loader = ConfigLoader()
        loader.loadFile(path, isMain: true, includedFrom: nil)
        loader.validateReferences()
        try loader.d.throwIfAny()
        return loader.config
    }

    /// Loads YAML text (the quickstart and tests use this).
    static func load(yaml: String, file: String) throws(ConfigErrors) -> NodeConfig {
        var loader = ConfigLoader()
        loader.loadText(yaml, file: file, isMain: true)
        loader.validateReferences()
        try loader.d.throwIfAny()
        return loader.config
    }

    private mutating func loadFile(_ path: String, isMain: Bool, includedFrom: Origin?) {
        guard !seenFiles.contains(path) else { return }
        seenFiles.insert(path)
        let text: String
        do {
            text = try readSmallFile(path)
        } catch {
            if let from = includedFrom {
                d.error(
                    file: from.file, line: from.line, "cannot read included file \(path): \(error)",
                    fix: "fix the path or the file's permissions")
            } else {
                d.error(file: path, line: 0, "cannot read config: \(error)", fix: "pass an existing file with --config")
            }
            return
        }
        loadText(text, file: path, isMain: isMain)
    }

    private mutating func loadText(_ text: String, file: String, isMain: Bool) {
        config.files.append(file)
        let root: ConfigNode?
        do {
            root = try ConfigNode.parse(yaml: text, file: file)
        } catch {
            for p in error.problems { d.error(file: p.file, line: p.line, p.message, fix: p.fix) }
            return
        }
        guard let root, let top = root.mapping(d, what: "the top level of \(file)") else { return }
        top.rejectUnknown(allowed: Self.topLevelKeys, d)
        if !isMain {
            for key in ["node", "journal"] where top[key] != nil {
                d.error(
                    top[key]!, "'\(key)' belongs in the main config file, not in a fragment",
                    fix: "move it to the main file")
            }
        } else {
            if let n = top.mapping("node", d, what: "node") { loadNode(n) }
            if let j = top.mapping("journal", d, what: "journal") { loadJournal(j) }
        }
        if let s = top.mapping("sources", d, what: "sources") {
            for e in s.entries { loadSource(name: e.key, node: e.value, keyLine: e.keyNode.line) }
        }
        if let t = top.mapping("templates", d, what: "templates") {
            for e in t.entries { loadTemplate(name: e.key, node: e.value, keyLine: e.keyNode.line) }
        }
        if let ds = top.mapping("destinations", d, what: "destinations") {
            for e in ds.entries { loadDestination(name: e.key, node: e.value, keyLine: e.keyNode.line) }
        }
        if let inc = top["include"], let patterns = inc.stringList(d, what: "include") {
            let base = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
            for pattern in patterns {
                let full = pattern.hasPrefix("/") ? pattern : base + "/" + pattern
                for path in Self.glob(full) {
                    loadFile(path, isMain: false, includedFrom: Origin(file: file, line: inc.line))
                }
            }
        }
    }

    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    private mutating func loadNode(_ m: ConfigMapping) {
        m.rejectUnknown(allowed: ["name", "data_dir", "metrics_listen"], d)
        if let v = m.string("name", d) {
            if v.isEmpty {
                d.error(m["name"]!, "node name is empty", fix: "set a name or remove the key to use the hostname")
            } else {
                config.node.name = v
            }
        }
        if let v = m.string("data_dir", d) { config.node.dataDir = v }
        if let v = m.string("metrics_listen", d) {
            if HostPort(v) == nil {
                d.error(
                    m["metrics_listen"]!, "metrics_listen '\(v)' is not host:port", fix: "write e.g. 127.0.0.1:9600")
            } else {
                config.node.metricsListen = v
            }
        }
    }

    private mutating func loadJournal(_ m: ConfigMapping) {
        m.rejectUnknown(allowed: ["max_bytes", "fsync", "fsync_interval", "when_full", "segment_bytes"], d)
        if let v = m.size("max_bytes", d) { config.journal.maxBytes = v }
        if let v = m.choice("fsync", d, as: JournalSection.Fsync.self) { config.journal.fsync = v }
        if let v = m.duration("fsync_interval", d) { config.journal.fsyncInterval = v }
        if let v = m.choice("when_full", d, as: JournalSection.WhenFull.self) { config.journal.whenFull = v }
        if let v = m.size("segment_bytes", d) {
            if v < 64 * 1024 {
                d.error(m["segment_bytes"]!, "segment_bytes must be at least 64KiB", fix: "use e.g. 64MiB")
            } else {
                config.journal.segmentBytes = v
            }
        }
        if config.journal.segmentBytes > config.journal.maxBytes / 2, let n = m["max_bytes"] {
            d.error(
                n,
                "max_bytes (\(ConfigValues.formatSize(config.journal.maxBytes))) must hold at least two segments of \(ConfigValues.formatSize(config.journal.segmentBytes))",
                fix: "raise max_bytes or lower segment_bytes")
        }
    }

    private func checkDuplicate(_ name: String, in origins: [String: Origin], kind: String, at: Origin) -> Bool {
        if let prev = origins[name] {
            d.error(
                file: at.file, line: at.line, "\(kind) '\(name)' is defined twice: here and at \(prev)",
                fix: "rename or remove one of them")
            return true
        }
        return false
    }

    private mutating func loadSource(name: String, node: ConfigNode, keyLine: Int) {
        let origin = Origin(file: node.file, line: keyLine)
        guard !checkDuplicate(name, in: sourceOrigins, kind: "source", at: origin) else { return }
        sourceOrigins[name] = origin
        guard let m = node.mapping(d, what: "source '\(name)'") else { return }
        guard let type = m.string("type", d, required: true) else { return }
        guard Self.sourceTypes.contains(type) else {
            d.error(
                m["type"]!, "source '\(name)' has unknown type '\(type)'",
                fix: "use one of: \(Self.sourceTypes.joined(separator: ", "))")
            return
        }
        guard Self.supportedSourceTypes.contains(type) else {
            d.error(
                m["type"]!, "source type '\(type)' is not implemented yet in this build (issue #3)",
                fix: "use one of: \(Self.supportedSourceTypes.joined(separator: ", "))")
            return
        }
        let common = ["type", "format", "template", "max_message_bytes", "preset"]
        var preset: Preset?
        if let p = m.string("preset", d) {
            preset = Preset(rawValue: p)
            if preset == nil { d.error(m["preset"]!, "unknown preset '\(p)'", fix: "use one of: \(Preset.names)") }
        }
        var format = SourceConfig.Format.auto
        if let f = m.choice("format", d, as: SourceConfig.Format.self) { format = f }
        let maxBytes = m.size("max_message_bytes", d) ?? 64 * 1024
        if maxBytes < 256 || maxBytes > 16 * 1024 * 1024, let n = m["max_message_bytes"] {
            d.error(n, "max_message_bytes must be between 256B and 16MiB", fix: "use e.g. 64KiB")
        }
        let kind: SourceConfig.Kind
        switch type {
        case "unix-dgram":
            m.rejectUnknown(allowed: common + ["path", "mode", "owner", "group", "receive_buffer_bytes"], d)
            guard let path = m.string("path", d, required: true) else { return }
            var uc = UnixDatagramConfiguration(
                name: name, path: path, maxMessageBytes: maxBytes, receiveBufferBytes: m.size("receive_buffer_bytes", d)
            )
            socketFile(m, mode: &uc.mode, owner: &uc.owner, group: &uc.group)
            kind = .unixDgram(uc)
        case "unix-stream":
            m.rejectUnknown(
                allowed: common + ["path", "mode", "owner", "group", "max_connections", "framing", "idle_timeout"], d)
            guard let path = m.string("path", d, required: true) else { return }
            var sc = UnixStreamConfiguration(name: name, path: path, maxMessageBytes: maxBytes)
            socketFile(m, mode: &sc.mode, owner: &sc.owner, group: &sc.group)
            if let v = m.int("max_connections", d, range: 1...100_000) { sc.maxConnections = v }
            if let v = m.choice("framing", d, as: UnixStreamConfiguration.FramingMode.self) { sc.framing = v }
            sc.idleTimeout = m.duration("idle_timeout", d)
            kind = .unixStream(sc)
        case "udp":
            m.rejectUnknown(allowed: common + ["listen", "receive_buffer_bytes", "buffer_messages"], d)
            guard let hp = listenAddress(m) else { return }
            var uc = UDPSyslogConfiguration(name: name, host: hp.host, port: hp.port, maxMessageBytes: maxBytes)
            // The kernel default (~208KiB) holds only a few hundred datagrams of a burst.
            uc.receiveBufferBytes = m.size("receive_buffer_bytes", d) ?? 4 << 20
            if let v = m.int("buffer_messages", d, range: 1...10_000_000) { uc.bufferMessages = v }
            kind = .udp(uc)
        case "tcp":
            m.rejectUnknown(
                allowed: common + [
                    "listen", "max_connections", "framing", "idle_timeout", "tls_cert", "tls_key", "tls_client_ca",
                ], d)
            guard let hp = listenAddress(m) else { return }
            var tc = TCPSyslogConfiguration(name: name, host: hp.host, port: hp.port, maxMessageBytes: maxBytes)
            if let v = m.int("max_connections", d, range: 1...100_000) { tc.maxConnections = v }
            if let v = m.choice("framing", d, as: StreamFramingMode.self) { tc.framing = v }
            tc.idleTimeout = m.duration("idle_timeout", d)
            tc.tlsCertificateFile = m.string("tls_cert", d).map { resolve($0, relativeTo: node.file) }
            tc.tlsKeyFile = m.string("tls_key", d).map { resolve($0, relativeTo: node.file) }
            tc.tlsClientCAFile = m.string("tls_client_ca", d).map { resolve($0, relativeTo: node.file) }
            do {
                _ = try tc.tlsConfiguration()
            } catch {
                d.error(
                    m["tls_cert"] ?? m["tls_key"] ?? m["tls_client_ca"] ?? m.node, "source '\(name)': \(error)",
                    fix: "tls_cert and tls_key name PEM files (both or neither); tls_client_ca needs them")
            }
            kind = .tcp(tc)
        case "file":
            m.rejectUnknown(
                allowed: common + [
                    "include", "exclude", "start_at", "poll_interval", "multiline", "multiline_start",
                    "rotated_file_linger",
                ], d)
            guard let include = m.stringList("include", d) else {
                m.missing("include", d, example: "[/var/log/app/*.log]")
                return
            }
            let base = node.file.contains("/") ? String(node.file[..<node.file.lastIndex(of: "/")!]) : "."
            func absolute(_ p: String) -> String { p.hasPrefix("/") ? p : base + "/" + p }
            var start = FileTailConfiguration.StartAt.beginning
            if let s = m.string("start_at", d) {
                if let v = FileTailConfiguration.StartAt(rawValue: s) {
                    start = v
                } else {
                    d.error(m["start_at"]!, "start_at cannot be '\(s)'", fix: "use beginning or end")
                }
            }
            var multiline: FileTailConfiguration.Multiline?
            if let rule = m.string("multiline", d) {
                if rule == "indented" {
                    multiline = .init(rule: .indentedContinuation)
                } else {
                    d.error(
                        m["multiline"]!, "multiline cannot be '\(rule)'",
                        fix: "use 'indented' (continuation lines start with whitespace) or multiline_start: REGEX")
                }
            }
            if let pattern = m.string("multiline_start", d) { multiline = .init(rule: .startPattern(pattern)) }
            var fc = FileTailConfiguration(
                name: name, include: include.map(absolute),
                exclude: (m.stringList("exclude", d) ?? []).map { $0.contains("/") ? absolute($0) : $0 },
                startAt: start,
                statePath: FileTailConfiguration.defaultStatePath(dataDir: config.node.dataDir, name: name),
                maxLineBytes: maxBytes, multiline: multiline)
            if let v = m.duration("poll_interval", d) { fc.pollInterval = v }
            if let v = m.duration("rotated_file_linger", d) { fc.rotatedFileLinger = v }
            for problem in fc.problems() { d.error(m.node, "source '\(name)': \(problem)", fix: "") }
            kind = .file(fc)
        case "http":
            m.rejectUnknown(
                allowed: common + [
                    "listen", "path", "tokens", "tokens_file", "tls_cert", "tls_key", "max_body_bytes",
                    "max_connections",
                ], d)
            guard let (hp, tokens) = listenAndTokens(m, node) else { return }
            var hc = HTTPIngestConfiguration(
                name: name, host: hp.host, port: hp.port, tokens: tokens, maxMessageBytes: maxBytes)
            if let p = m.string("path", d) { hc.path = p }
            if let b = m.size("max_body_bytes", d) { hc.maxBodyBytes = b }
            if let c = m.int("max_connections", d) { hc.maxConnections = c }
            hc.tlsCertificateFile = m.string("tls_cert", d).map { resolve($0, relativeTo: node.file) }
            hc.tlsKeyFile = m.string("tls_key", d).map { resolve($0, relativeTo: node.file) }
            for problem in hc.problems() {
                d.error(
                    m["path"] ?? m["tls_cert"] ?? m["tls_key"] ?? m.node, "source '\(name)': \(problem)",
                    fix: "see the http source in docs/CONFIG.md; tls_cert and tls_key name PEM files (both or neither)")
            }
            if format == .auto { format = .json }
            kind = .http(hc)
        default:  // websocket
            m.rejectUnknown(
                allowed: common + [
                    "listen", "path", "tokens", "tokens_file", "tls_cert", "tls_key", "tls_client_ca", "compression",
                ], d)
            guard let (hp, tokens) = listenAndTokens(m, node) else { return }
            var rc = ReceiverConfiguration(
                host: hp.host, port: hp.port, path: m.string("path", d) ?? "/v1/ingest", tokens: tokens,
                maxMessageBytes: max(4 << 20, maxBytes), sourceName: name)
            rc.tlsCertificateFile = m.string("tls_cert", d).map { resolve($0, relativeTo: node.file) }
            rc.tlsKeyFile = m.string("tls_key", d).map { resolve($0, relativeTo: node.file) }
            rc.tlsClientCAFile = m.string("tls_client_ca", d).map { resolve($0, relativeTo: node.file) }
            if let v = m.bool("compression", d) { rc.compression = v }
            for problem in rc.problems() {
                d.error(
                    m["tls_cert"] ?? m["tls_key"] ?? m["tls_client_ca"] ?? m.node, "source '\(name)': \(problem)",
                    fix: "")
            }
            kind = .websocket(rc)
        }
        config.sources.append(
            SourceConfig(
                name: name, kind: kind, format: format, template: m.string("template", d), preset: preset,
                maxMessageBytes: maxBytes, origin: origin))
    }

    /// `mode` (quoted octal), `owner` and `group` (names or numbers) of a unix socket file.
    private func socketFile(_ m: ConfigMapping, mode: inout mode_t, owner: inout uid_t?, group: inout gid_t?) {
        if let ms = m.string("mode", d) {
            if let v = mode_t(ms, radix: 8), v <= 0o7777 {
                mode = v
            } else {
                d.error(
                    m["mode"]!, "mode '\(ms)' is not an octal permission", fix: "quote it as a string: mode: \"0660\"")
            }
        }
        if let o = m.string("owner", d) {
            owner = UnixSocketFile.userID(o)
            if owner == nil {
                d.error(m["owner"]!, "owner '\(o)' is not a user on this machine", fix: "use a user name or uid")
            }
        }
        if let g = m.string("group", d) {
            group = UnixSocketFile.groupID(g)
            if group == nil {
                d.error(m["group"]!, "group '\(g)' is not a group on this machine", fix: "use a group name or gid")
            }
        }
    }

    /// `listen: host:port` (required).
    private func listenAddress(_ m: ConfigMapping) -> HostPort? {
        guard let listen = m.string("listen", d, required: true) else { return nil }
        guard let hp = HostPort(listen) else {
            d.error(m["listen"]!, "listen '\(listen)' is not host:port", fix: "write e.g. 0.0.0.0:7000")
            return nil
        }
        return hp
    }

    /// `listen` (required) and `tokens` plus the keys read from `tokens_file` (one per line, `#` comments).
    private func listenAndTokens(_ m: ConfigMapping, _ node: ConfigNode) -> (HostPort, [String])? {
        guard let hp = listenAddress(m) else { return nil }
        var tokens = m.stringList("tokens", d) ?? []
        if let tf = m.string("tokens_file", d) {
            do {
                tokens += try readSmallFile(resolve(tf, relativeTo: node.file)).split(whereSeparator: \.isNewline)
                    .map { String($0).trimmingCharacters() }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            } catch {
                d.error(m["tokens_file"]!, "cannot read tokens_file: \(error)", fix: "fix the path or permissions")
            }
        }
        return (hp, tokens)
    }

    private mutating func loadTemplate(name: String, node: ConfigNode, keyLine: Int) {
        let origin = Origin(file: node.file, line: keyLine)
        guard !checkDuplicate(name, in: templateOrigins, kind: "template", at: origin) else { return }
        templateOrigins[name] = origin
        guard let m = node.mapping(d, what: "template '\(name)'") else { return }
        m.rejectUnknown(allowed: ["pattern", "regex", "kv", "fields", "json_body", "preset"], d)
        var t = TemplateConfig(name: name, origin: origin)
        t.pattern = m.string("pattern", d)
        t.regex = m.string("regex", d)
        t.regexLine = m["regex"]?.line ?? keyLine
        t.keyValue = m.bool("kv", d) ?? false
        t.jsonBody = m.bool("json_body", d) ?? false
        if let p = m.string("preset", d) {
            t.preset = Preset(rawValue: p)
            if t.preset == nil { d.error(m["preset"]!, "unknown preset '\(p)'", fix: "use one of: \(Preset.names)") }
        }
        if let f = m.mapping("fields", d, what: "fields of template '\(name)'") {
            for e in f.entries {
                // `NAME: VALUE`, or `NAME: {value: VALUE, type: int|float|bool|json|string, default: D}`.
                if case .mapping = e.value.node {
                    guard let fm = e.value.mapping(d, what: "field '\(e.key)'") else { continue }
                    fm.rejectUnknown(allowed: ["value", "type", "default"], d)
                    if let v = fm.string("value", d) { t.fields.append((e.key, v, e.value.line)) }
                    t.fieldTypes.append(
                        (e.key, fm.string("type", d), fm.string("default", d), e.value.line))
                } else if let v = e.value.string(d, what: "field '\(e.key)'") {
                    t.fields.append((e.key, v, e.value.line))
                }
            }
        }
        config.templates.append(t)
    }

    private mutating func loadDestination(name: String, node: ConfigNode, keyLine: Int) {
        let origin = Origin(file: node.file, line: keyLine)
        guard !checkDuplicate(name, in: destinationOrigins, kind: "destination", at: origin) else { return }
        destinationOrigins[name] = origin
        guard let m = node.mapping(d, what: "destination '\(name)'") else { return }
        guard let type = m.string("type", d, required: true) else { return }
        guard Self.destinationTypes.contains(type) else {
            d.error(
                m["type"]!, "destination '\(name)' has unknown type '\(type)'",
                fix: "use one of: \(Self.destinationTypes.joined(separator: ", "))")
            return
        }
        guard Self.supportedDestinationTypes.contains(type) else {
            d.error(
                m["type"]!, "destination type '\(type)' is not implemented yet in this build",
                fix: "use one of: \(Self.supportedDestinationTypes.joined(separator: ", "))")
            return
        }
        let common = ["type", "inputs", "filter"]
        let inputs = m.stringList("inputs", d)
        if let inputs, inputs.isEmpty, let n = m["inputs"] {
            d.error(
                n, "inputs of destination '\(name)' is an empty list: it would receive nothing",
                fix: "name sources, or remove 'inputs' to take all")
        }
        let filter = m.string("filter", d)
        var selector: DocumentSelector?
        do {
            let s = try DocumentSelector(inputs: inputs, filter: filter)
            selector = s.selectsEverything ? nil : s
        } catch {
            d.error(
                m["filter"] ?? m.node, "destination '\(name)': \(error)",
                fix: "see docs/FILTERS.md for the filter syntax")
        }
        let kind: DestinationConfig.Kind
        switch type {
        case "websocket":
            m.rejectUnknown(
                allowed: common + [
                    "url", "token", "token_file", "ca_file", "tls_client_cert", "tls_client_key", "tls_verify",
                    "tls_server_name", "receipts_retention", "compression", "batch_events", "batch_bytes",
                    "batch_linger",
                    "window", "backoff_max", "ack_timeout",
                ], d)
            guard let url = m.string("url", d, required: true) else { return }
            var token = m.string("token", d)
            if let tf = m.string("token_file", d) {
                if token != nil { d.error(m["token_file"]!, "both token and token_file are set", fix: "keep one") }
                do {
                    token = try readSmallFile(resolve(tf, relativeTo: node.file)).trimmingCharacters()
                } catch {
                    d.error(m["token_file"]!, "cannot read token_file: \(error)", fix: "fix the path or permissions")
                }
            }
            var sc = SenderConfiguration(url: url, token: token, destinationName: name)
            sc.selector = selector
            sc.caFile = m.string("ca_file", d).map { resolve($0, relativeTo: node.file) }
            sc.tlsClientCertificateFile = m.string("tls_client_cert", d).map { resolve($0, relativeTo: node.file) }
            sc.tlsClientKeyFile = m.string("tls_client_key", d).map { resolve($0, relativeTo: node.file) }
            sc.tlsVerify = m.bool("tls_verify", d) ?? true
            sc.tlsServerName = m.string("tls_server_name", d)
            if let v = m.bool("compression", d) { sc.compression = v }
            if let v = m.int("batch_events", d, range: 1...100_000) { sc.maxBatchEvents = v }
            if let v = m.size("batch_bytes", d) { sc.maxBatchBytes = v }
            if let v = m.duration("batch_linger", d) { sc.batchLinger = v }
            if let v = m.int("window", d, range: 1...1024) { sc.window = v }
            if let v = m.duration("backoff_max", d) { sc.backoffMax = v }
            if let v = m.duration("ack_timeout", d) { sc.ackTimeout = v }
            let retention = m.duration("receipts_retention", d) ?? .seconds(86400)
            sc.receipts = ReceiptsConfiguration(
                directory: ReceiptsConfiguration.directory(dataDirectory: config.node.dataDir, destination: name),
                retention: retention)
            for problem in sc.problems() {
                d.error(m["url"]!, "destination '\(name)': \(problem)", fix: "")
            }
            kind = .websocket(sc)
        case "file":
            m.rejectUnknown(allowed: common + ["path"], d)
            guard let path = m.string("path", d, required: true) else { return }
            let fc = FileStoreConfiguration(name: name, pathTemplate: path, selector: selector)
            for problem in fc.problems() {
                d.error(m["path"]!, "destination '\(name)': \(problem)", fix: "see docs/CONFIG.md for path macros")
            }
            kind = .file(fc)
        default:
            m.rejectUnknown(allowed: common, d)
            kind = .stdout
        }
        config.destinations.append(
            DestinationConfig(
                name: name, kind: kind, inputs: inputs, filter: filter, selector: selector, origin: origin))
    }

    /// Cross-references: templates and inputs that name nothing, a node with nothing to do.
    private func validateReferences() {
        let templateNames = Set(config.templates.map(\.name))
        for s in config.sources {
            if let t = s.template, !templateNames.contains(t) {
                d.error(
                    file: s.origin.file, line: s.origin.line,
                    "source '\(s.name)' uses template '\(t)', which is not defined",
                    fix: templateNames.isEmpty
                        ? "define it under templates:" : "use one of: \(templateNames.sorted().joined(separator: ", "))"
                )
            }
        }
        let sourceNames = config.sources.map(\.name)
        for dest in config.destinations {
            for input in dest.inputs ?? [] where !sourceNames.contains(input) {
                d.error(
                    file: dest.origin.file, line: dest.origin.line,
                    "destination '\(dest.name)' lists input '\(input)', which is not a source",
                    fix: "use one of: \(sourceNames.joined(separator: ", "))")
            }
        }
        if config.sources.isEmpty, let f = config.files.first, d.problems.isEmpty {
            d.error(
                file: f, line: 1, "no sources are configured", fix: "add a source under sources:, e.g. type: unix-dgram"
            )
        }
        if config.destinations.isEmpty, let f = config.files.first, d.problems.isEmpty {
            d.error(
                file: f, line: 1, "no destinations are configured",
                fix: "add a destination under destinations:, e.g. type: file")
        }
    }
}

func resolve(_ path: String, relativeTo file: String) -> String {
    if path.hasPrefix("/") || !file.contains("/") { return path }
    return String(file[..<file.lastIndex(of: "/")!]) + "/" + path
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
