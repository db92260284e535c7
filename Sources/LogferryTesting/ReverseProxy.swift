import Foundation

/// A real nginx (apt) as a TLS-terminating websocket reverse proxy in front of a logferry receiver, for
/// integration tests: config, pid file, logs and temp dirs all under one prefix directory, run in the foreground
/// (`nginx -p DIR -c conf -g 'daemon off;'`), stopped with `nginx -s stop` as an operator would.
public final class NginxProxy {
    public let nginx: String
    public let prefix: String
    public let port: Int
    public private(set) var master: Process?

    public var configPath: String { prefix + "/nginx.conf" }
    public var errorLogPath: String { prefix + "/nginx-error.log" }
    public var outputPath: String { prefix + "/nginx.out" }

    /// Writes the config: `listen 127.0.0.1:port ssl` with `certificate`/`key`, everything proxied to
    /// `http://127.0.0.1:upstreamPort` with the websocket upgrade headers passed on.
    public init(nginx: String, prefix: String, port: Int, upstreamPort: Int, certificate: String, key: String) throws {
        self.nginx = nginx
        self.prefix = prefix
        self.port = port
        try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
        let config = """
            master_process on;
            worker_processes 1;
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/nginx-error.log info;
            events { worker_connections 256; }
            http {
                client_body_temp_path \(prefix)/tmp-body;
                proxy_temp_path \(prefix)/tmp-proxy;
                fastcgi_temp_path \(prefix)/tmp-fastcgi;
                uwsgi_temp_path \(prefix)/tmp-uwsgi;
                scgi_temp_path \(prefix)/tmp-scgi;
                access_log \(prefix)/nginx-access.log;
                server {
                    listen 127.0.0.1:\(port) ssl;
                    ssl_certificate \(certificate);
                    ssl_certificate_key \(key);
                    location / {
                        proxy_pass http://127.0.0.1:\(upstreamPort);
                        proxy_http_version 1.1;
                        proxy_set_header Upgrade $http_upgrade;
                        proxy_set_header Connection "upgrade";
                        # Longer than the pings of both sides (sender 15 s, receiver 30 s): an idle link stays up.
                        proxy_read_timeout 120s;
                        proxy_send_timeout 120s;
                    }
                }
            }
            """
        try config.write(toFile: configPath, atomically: false, encoding: .utf8)
    }

    /// `nginx -t`: nil when the config is valid, else nginx's complaint.
    public func check() throws -> String? {
        let r = try runTool(nginx, ["-t", "-p", prefix, "-c", configPath, "-g", "daemon off;", "-e", errorLogPath])
        return r.code == 0 ? nil : r.err
    }

    /// Starts the master in the foreground and waits until it accepts connections; false if it did not.
    public func start(timeout: Double = 20) async throws -> Bool {
        master = try spawnLogged(
            nginx, ["-p", prefix, "-c", configPath, "-g", "daemon off;", "-e", errorLogPath], output: outputPath)
        let port = self.port
        return await eventually(timeout: timeout) { canConnect(port: port) }
    }

    /// `nginx -s stop` (fast shutdown: open connections are closed), then waits for the master to exit; SIGKILLs
    /// what is left if it does not within `timeout`.
    public func stop(timeout: Double = 20) async {
        guard let master, master.isRunning else { return }
        _ = try? runTool(
            nginx, ["-p", prefix, "-c", configPath, "-g", "daemon off;", "-e", errorLogPath, "-s", "stop"])
        if !(await eventually(timeout: timeout, interval: 0.05) { !master.isRunning }) {
            stopProcessTree(master, timeout: 5)
        }
    }

    /// Stops the process tree without ceremony (for `defer`).
    public func kill() {
        if let master { stopProcessTree(master, timeout: 10) }
    }

    public var isRunning: Bool { master?.isRunning ?? false }

    public func logs() -> String {
        "--- nginx ---\n" + readText(outputPath).suffix(1000) + "\n" + readText(errorLogPath).suffix(2000)
    }
}

/// Makes a self-signed certificate for `localhost` and `127.0.0.1` with the openssl CLI: `DIR/cert.pem`,
/// `DIR/key.pem`. The certificate is its own CA, so a client trusts it with `ca_file: DIR/cert.pem`.
public func makeSelfSignedCertificate(openssl: String, directory: String) throws -> (certificate: String, key: String) {
    let cert = directory + "/cert.pem"
    let key = directory + "/key.pem"
    let r = try runTool(
        openssl,
        [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj",
            "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
    guard r.code == 0 else { throw SelfSignedCertificateFailed(output: r.err) }
    return (cert, key)
}

/// The openssl CLI failed.
public struct SelfSignedCertificateFailed: Error, CustomStringConvertible {
    public var output: String
    public var description: String { "openssl failed: \(output)" }
}
