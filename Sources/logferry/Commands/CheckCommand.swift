import ArgumentParser
import LogferryCore

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a config (with every included fragment) and print the resolved pipeline.",
        discussion: "Exit 0 when valid; 1 with one 'file:line: what is wrong; how to fix' line per problem."
    )

    @Option(name: .long, help: "The config file.")
    var config: String

    func run() throws {
        let cfg: NodeConfig
        do {
            cfg = try ConfigLoader.load(path: config)
            _ = try Pipeline.compileTemplates(cfg)
        } catch let e as ConfigErrors {
            throw UserError(description: "config has \(e.problems.count) problem(s):\n" + e.description)
        }
        print(describe(cfg))
    }
}

/// The resolved pipeline as `check` prints it and `run` logs it.
func describe(_ cfg: NodeConfig) -> String {
    var out: [String] = []
    out.append(
        "config ok: \(cfg.files.first ?? "-")" + (cfg.files.count > 1 ? " (+\(cfg.files.count - 1) included)" : ""))
    out.append("node: \(cfg.node.name)  data_dir: \(cfg.node.dataDir)")
    let j = cfg.journal
    out.append(
        "journal: \(cfg.node.dataDir)/journal  max_bytes \(ConfigValues.formatSize(j.maxBytes))  segment \(ConfigValues.formatSize(j.segmentBytes))  "
            + "fsync \(j.fsync.rawValue)\(j.fsync == .interval ? " every \(ConfigValues.formatDuration(j.fsyncInterval))" : "")  when_full \(j.whenFull.rawValue)"
    )
    out.append("sources:")
    for s in cfg.sources {
        let what: String
        switch s.kind {
        case .unixDgram(let u): what = "unix-dgram  \(u.path)  mode 0\(String(u.mode, radix: 8))"
        case .unixStream(let u):
            what =
                "unix-stream  \(u.path)  mode 0\(String(u.mode, radix: 8))  framing \(u.framing.rawValue)  max_connections \(u.maxConnections)"
        case .file(let f):
            var parts = ["file  \(f.include.joined(separator: ", "))"]
            if !f.exclude.isEmpty { parts.append("exclude \(f.exclude.joined(separator: ", "))") }
            parts.append("start_at \(f.startAt.rawValue)")
            parts.append("offsets \(f.statePath)")
            what = parts.joined(separator: "  ")
        case .websocket(let r):
            let scheme = r.usesTLS ? "wss" : "ws"
            let auth = r.tokens.isEmpty ? "NO TOKENS (open to anyone who can connect)" : "\(r.tokens.count) token(s)"
            let mtls = r.tlsClientCAFile != nil ? "  client certificates required" : ""
            what = "websocket receiver  \(scheme)://\(HostPort(host: r.host, port: r.port))\(r.path)  \(auth)\(mtls)"
        case .udp(let u):
            what =
                "udp  \(HostPort(host: u.host, port: u.port))  receive_buffer \(u.receiveBufferBytes.map(String.init) ?? "default")"
        case .tcp(let t):
            let tls =
                t.tlsCertificateFile == nil
                ? "" : t.tlsClientCAFile == nil ? "  tls" : "  tls, client certificates required"
            what =
                "tcp  \(HostPort(host: t.host, port: t.port))  framing \(t.framing.rawValue)  max_connections \(t.maxConnections)\(tls)"
        case .http(let h):
            let scheme = h.usesTLS ? "https" : "http"
            let auth = h.tokens.isEmpty ? "NO TOKENS (open to anyone who can connect)" : "\(h.tokens.count) key(s)"
            what = "http ingest  POST \(scheme)://\(HostPort(host: h.host, port: h.port))\(h.path)  \(auth)"
        }
        out.append(
            "  \(s.name): \(what)  format \(s.format.rawValue)  template \(s.template ?? "default")"
                + (s.preset.map { "  preset \($0.rawValue)" } ?? "") + "  [\(s.origin)]")
    }
    if !cfg.templates.isEmpty {
        out.append("templates:")
        for t in cfg.templates {
            var parts: [String] = []
            if let p = t.pattern { parts.append("pattern '\(p)'") }
            if !t.fields.isEmpty {
                parts.append("fields " + t.fields.map { "\($0.name)=\($0.value)" }.joined(separator: " "))
            }
            if t.jsonBody { parts.append("json_body") }
            out.append("  \(t.name): \(parts.joined(separator: "  "))  [\(t.origin)]")
        }
    }
    out.append("destinations:")
    for dst in cfg.destinations {
        let what: String
        switch dst.kind {
        case .websocket(let sc):
            var parts = ["websocket sender  \(sc.url)", sc.token == nil ? "no token" : "bearer token"]
            if sc.tlsClientCertificateFile != nil { parts.append("client certificate") }
            if !sc.tlsVerify { parts.append("TLS VERIFICATION OFF") }
            what = parts.joined(separator: "  ")
        case .file(let fc): what = "file  \(fc.pathTemplate)"
        case .stdout: what = "stdout"
        }
        var routing = ""
        if let inputs = dst.inputs { routing += "  inputs [\(inputs.joined(separator: ", "))]" }
        if let filter = dst.filter { routing += "  filter '\(filter)'" }
        out.append("  \(dst.name): \(what)\(routing)  [\(dst.origin)]")
    }
    out.append("pipeline:")
    out.append(
        "  \(cfg.sources.map(\.name).joined(separator: ", ")) -> parse -> template -> journal -> \(cfg.destinations.map(\.name).joined(separator: ", "))"
    )
    return out.joined(separator: "\n")
}
