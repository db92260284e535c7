import Foundation
import LogferryCore
import LogferryTLS
import LogferryTesting
import Logging
import Synchronization
import Testing

@testable import LogferrySources

/// The udp and tcp (plain and TLS) syslog sources with real clients on loopback: `logger -n`, Python's
/// `SysLogHandler` and `ssl` module, and plain sockets written from their own threads.
struct NetworkSyslogTests {
    typealias Stream = UnixStreamSourceTests
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    // MARK: - Harness

    /// Starts a source on port 0, waits until it listens, runs `body` with the sink and the port, then stops it.
    func withRunning(
        gate: (@Sendable () async -> Void)? = nil,
        _ run: @escaping @Sendable (@escaping Deliver, @escaping @Sendable (Int) -> Void) async throws -> Void,
        _ body: (Stream.Sink, Int) async throws -> Void
    ) async throws {
        let sink = Stream.Sink()
        let port = Atomic<Int>(0)
        let task = Task {
            try await run(
                { batch in
                    if let gate { await gate() }
                    sink.batches.withLock { $0.append(batch) }
                    return .immediate
                }, { port.store($0, ordering: .relaxed) })
        }
        defer { task.cancel() }
        #expect(await eventually(timeout: 10) { port.load(ordering: .relaxed) != 0 })
        try await body(sink, port.load(ordering: .relaxed))
        task.cancel()
        _ = try? await task.value
    }

    func withUDP(
        _ config: UDPSyslogConfiguration, counters: DatagramSourceCounters = .init(),
        gate: (@Sendable () async -> Void)? = nil, _ body: (Stream.Sink, Int) async throws -> Void
    ) async throws {
        let source = UDPSyslogSource(config: config, counters: counters, logger: logger)
        try await withRunning(gate: gate, { try await source.run(deliver: $0, onListening: $1) }, body)
    }

    func withTCP(
        _ config: TCPSyslogConfiguration, counters: StreamSourceCounters = .init(),
        _ body: (Stream.Sink, Int) async throws -> Void
    ) async throws {
        let source = TCPSyslogSource(config: config, counters: counters, logger: logger)
        try await withRunning({ try await source.run(deliver: $0, onListening: $1) }, body)
    }

    /// A connected, blocking TCP socket to 127.0.0.1; -1 when the connect failed.
    static func connectTCP(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    /// Sends each payload as one UDP datagram to 127.0.0.1:`port`.
    static func sendDatagrams(_ port: Int, _ payloads: [[UInt8]]) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        for p in payloads {
            _ = p.withUnsafeBytes { bytes in
                withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
    }

    /// Runs a Python script to its end on its own thread; `done` is set when it exited, `status` holds its code.
    static func python(_ script: String, _ args: [String] = []) -> (done: Stream.Flag, status: Text) {
        let status = Text()
        let tool = findTool("python3") ?? "/usr/bin/python3"
        let done = Stream.onThread {
            let r = try? runTool(tool, ["-c", script] + args)
            status.set(r.map { "\($0.code) \($0.out) \($0.err)" } ?? "did not run")
        }
        return (done, status)
    }

    /// A string set from another thread.
    final class Text: Sendable {
        private let value = Mutex("")
        func set(_ text: String) { value.withLock { $0 = text } }
        var current: String { value.withLock { $0 } }
    }

    static let hasPython = findTool("python3") != nil
    static let hasLogger = findTool("logger") != nil
    static let hasOpenSSL = findTool("openssl") != nil

    // MARK: - udp

    @Test(.enabled(if: hasLogger || integrationRequired))
    func udpFromRealLogger() async throws {
        let tool = try #require(findTool("logger"))
        try await withUDP(UDPSyslogConfiguration(name: "u", host: "127.0.0.1", port: 0)) { sink, port in
            let done = Stream.onThread {
                for i in 0..<5 {
                    _ = try? runTool(tool, ["-n", "127.0.0.1", "-P", "\(port)", "-d", "-t", "probe", "udp line \(i)"])
                }
            }
            #expect(await eventually(timeout: 10) { done.isSet && sink.count >= 5 })
            let texts = sink.texts
            #expect(texts.count == 5)
            for i in 0..<5 {
                #expect(
                    texts[i].hasPrefix("<13>") && texts[i].contains("probe") && texts[i].hasSuffix(" udp line \(i)"))
            }
        }
    }

    @Test(.enabled(if: hasPython || integrationRequired))
    func udpFromPythonSysLogHandler() async throws {
        let counters = DatagramSourceCounters()
        // A datagram sender is never held back, so what the kernel queue cannot hold is lost before the source
        // sees it: a larger SO_RCVBUF and a paced sender keep this exact on a loaded machine.
        let config = UDPSyslogConfiguration(name: "u", host: "127.0.0.1", port: 0, receiveBufferBytes: 4 << 20)
        try await withUDP(config, counters: counters) { sink, port in
            let (done, status) = Self.python(
                """
                import logging, logging.handlers, sys, time
                h = logging.handlers.SysLogHandler(address=("127.0.0.1", int(sys.argv[1])))
                log = logging.getLogger("probe"); log.addHandler(h); log.setLevel(logging.INFO)
                for i in range(300):
                    log.warning("python udp %d", i)
                    if i % 50 == 49: time.sleep(0.02)
                """, ["\(port)"])
            #expect(await eventually(timeout: 20) { done.isSet && sink.count >= 300 })
            #expect(status.current.hasPrefix("0 "))
            // SysLogHandler sends "<PRI>MESSAGE\0" per record.
            #expect(sink.texts == (0..<300).map { "<12>python udp \($0)\u{0}" })
            #expect(counters.received.load(ordering: .relaxed) == 300)
            #expect(counters.dropped.load(ordering: .relaxed) == 0)
        }
    }

    @Test func udpKeepsBinaryAndCutsLongDatagrams() async throws {
        let counters = DatagramSourceCounters()
        let config = UDPSyslogConfiguration(
            name: "u", host: "127.0.0.1", port: 0, maxMessageBytes: 1000, receiveBufferBytes: 1 << 20)
        try await withUDP(config, counters: counters) { sink, port in
            var junk = [UInt8](repeating: 0, count: 300)
            for i in junk.indices { junk[i] = UInt8((i * 7919) % 256) }
            let payloads: [[UInt8]] = [
                Array("<13>before".utf8), junk, [0, 0, 0xFF, 0xFE, 0xC3, 0x28], [UInt8](repeating: 0x41, count: 60000),
                [UInt8](repeating: 0x42, count: 1000), Array("<13>after".utf8),
            ]
            Self.sendDatagrams(port, payloads)
            #expect(await eventually(timeout: 10) { sink.count >= payloads.count })
            let got = sink.messages
            #expect(got.count == payloads.count)
            #expect(got.map(\.bytes) == payloads.map { Array($0.prefix(1000)) })
            #expect(got.map(\.truncated) == [false, false, false, true, false, false])
            #expect(counters.truncated.load(ordering: .relaxed) == 1)
            #expect(counters.received.load(ordering: .relaxed) == payloads.count)
        }
    }

    @Test func udpNeverPushesBackAndCountsWhatAFullBufferDrops() async throws {
        let counters = DatagramSourceCounters()
        let released = Stream.Flag()
        let config = UDPSyslogConfiguration(
            name: "u", host: "127.0.0.1", port: 0, receiveBufferBytes: 4 << 20, bufferMessages: 100)
        try await withUDP(
            config, counters: counters,
            gate: {
                while !released.isSet { try? await Task.sleep(for: .milliseconds(10)) }
            }
        ) { sink, port in
            let sent = 5000
            let done = Stream.onThread { Self.sendDatagrams(port, (0..<sent).map { Array("<13>m \($0)".utf8) }) }
            // The sender is never held back although the "journal" takes nothing.
            #expect(await eventually(timeout: 20) { done.isSet })
            #expect(await eventually(timeout: 10) { counters.dropped.load(ordering: .relaxed) > 0 })
            released.set()
            let received = { counters.received.load(ordering: .relaxed) }
            let dropped = { counters.dropped.load(ordering: .relaxed) }
            #expect(await eventually(timeout: 10) { sink.count == received() - dropped() })
            // Everything read was delivered or counted; what arrived is in order.
            #expect(sink.count + dropped() == received())
            let numbers = sink.texts.compactMap { Int($0.dropFirst("<13>m ".count)) }
            #expect(numbers == numbers.sorted())
            #expect(Set(numbers).count == sink.count)
        }
    }

    @Test func udpRefusesAPortInUse() async throws {
        let (fd, port) = try UDPSyslogSource.bindSocket(UDPSyslogConfiguration(name: "a", host: "127.0.0.1", port: 0))
        defer { close(fd) }
        #expect(throws: NetworkSourceError.self) {
            _ = try UDPSyslogSource.bindSocket(UDPSyslogConfiguration(name: "b", host: "127.0.0.1", port: port))
        }
        #expect(throws: NetworkSourceError.self) {
            _ = try UDPSyslogSource.bindSocket(UDPSyslogConfiguration(name: "c", host: "no such host.invalid", port: 0))
        }
    }

    // MARK: - tcp

    @Test(.enabled(if: hasLogger || integrationRequired), arguments: [false, true])
    func tcpFromRealLogger(octetCount: Bool) async throws {
        let tool = try #require(findTool("logger"))
        try await withTCP(TCPSyslogConfiguration(name: "t", host: "127.0.0.1", port: 0)) { sink, port in
            let args =
                ["-n", "127.0.0.1", "-P", "\(port)", "-T", "-t", "probe"]
                + (octetCount ? ["--octet-count", "--rfc5424"] : [])
            let done = Stream.onThread {
                for i in 0..<3 { _ = try? runTool(tool, args + ["tcp line \(i)"]) }
            }
            #expect(await eventually(timeout: 10) { done.isSet && sink.count >= 3 })
            let texts = sink.texts
            try #require(texts.count == 3)
            // Three logger runs are three connections: their order at the source is not defined.
            #expect(Set(texts.map { $0.suffix(" tcp line 0".count) }) == Set((0..<3).map { " tcp line \($0)"[...] }))
            for text in texts {
                // RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`.
                #expect(octetCount ? text.hasPrefix("<13>1 ") : text.hasPrefix("<13>"))
                #expect(text.contains("probe"))
                #expect(!text.contains("\n"))
            }
        }
    }

    @Test(.enabled(if: hasPython || integrationRequired))
    func tcpFromPythonSysLogHandler() async throws {
        let counters = StreamSourceCounters()
        try await withTCP(TCPSyslogConfiguration(name: "t", host: "127.0.0.1", port: 0), counters: counters) {
            sink, port in
            // Python ends each TCP record with a NUL and no newline by default, which no framing can split:
            // configured as rsyslog and syslog-ng expect it, newline-terminated.
            let (done, status) = Self.python(
                """
                import logging, logging.handlers, socket, sys
                h = logging.handlers.SysLogHandler(address=("127.0.0.1", int(sys.argv[1])), socktype=socket.SOCK_STREAM)
                h.append_nul = False
                h.setFormatter(logging.Formatter("%(name)s: %(message)s\\n"))
                log = logging.getLogger("probe"); log.addHandler(h); log.setLevel(logging.INFO)
                for i in range(500): log.warning("python tcp %d", i)
                h.close()
                """, ["\(port)"])
            #expect(await eventually(timeout: 20) { done.isSet && sink.count >= 500 })
            #expect(status.current.hasPrefix("0 "))
            #expect(sink.texts == (0..<500).map { "<12>probe: python tcp \($0)" })
            #expect(counters.connections.load(ordering: .relaxed) == 1)
        }
    }

    @Test func tcpBadInputLimitsAndIdleClients() async throws {
        let counters = StreamSourceCounters()
        let config = TCPSyslogConfiguration(
            name: "t", host: "127.0.0.1", port: 0, maxMessageBytes: 64 * 1024, maxConnections: 4,
            idleTimeout: .milliseconds(500))
        try await withTCP(config, counters: counters) { sink, port in
            // A client that connects and stalls: it holds a slot until the idle timeout closes it.
            let staller = Self.connectTCP(port)
            defer { close(staller) }
            var byte: UInt8 = 0
            #expect(await eventually(timeout: 10) { recv(staller, &byte, 1, Int32(MSG_DONTWAIT)) == 0 })
            #expect(await eventually(timeout: 10) { counters.active.load(ordering: .relaxed) == 0 })
            #expect(counters.idleClosed.load(ordering: .relaxed) == 1)

            // Four served clients hold every slot, each keeps its connection open until told.
            let finish = Stream.Flag()
            let clients = (0..<4).map { c in
                Stream.onThread {
                    let fd = Self.connectTCP(port)
                    for i in 0..<100 { Stream.writeAll(fd, Array("client \(c) line \(i)\n".utf8)) }
                    if c == 0 {
                        var junk = [UInt8](repeating: 0, count: 300)
                        for i in junk.indices { junk[i] = UInt8((i * 7919) % 256) | 1 }
                        junk = junk.map { $0 == 0x0A ? 0x0B : $0 }
                        Stream.writeAll(fd, junk + [0x0A])
                        Stream.writeAll(fd, [0, 0, 0, 0xFF, 0xFE, 0xC3, 0x28, 0x0A])  // NULs, invalid UTF-8
                        Stream.writeAll(fd, [UInt8](repeating: 0x41, count: 1 << 20) + [0x0A])  // 1 MiB line
                        Stream.writeAll(fd, Array("client 0 after\n".utf8))
                    }
                    // Keeps sending now and then, so the idle timeout does not close it.
                    while !finish.isSet {
                        Stream.writeAll(fd, Array("client \(c) ping\n".utf8))
                        usleep(100_000)
                    }
                    close(fd)
                }
            }
            #expect(await eventually(timeout: 20) { counters.active.load(ordering: .relaxed) == 4 })
            // 1,000 connections at once beyond `max_connections` (issue #3): each closed at once and counted.
            // Blocking connects (the accept queue holds 256) run off the cooperative pool the source needs.
            let extras = try await offThePool { (0..<1000).map { _ in Self.connectTCP(port) } }
            #expect(extras.allSatisfy { $0 >= 0 })
            #expect(await eventually(timeout: 30) { counters.refused.load(ordering: .relaxed) == 1000 })
            for fd in extras {
                #expect(await eventually(timeout: 10) { recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == 0 })
                close(fd)
            }
            finish.set()
            #expect(await eventually(timeout: 30) { clients.allSatisfy(\.isSet) })
            #expect(await eventually(timeout: 10) { counters.active.load(ordering: .relaxed) == 0 })
            let messages = sink.messages.filter { !String(decoding: $0.bytes, as: UTF8.self).hasSuffix(" ping") }
            let texts = messages.map { String(decoding: $0.bytes, as: UTF8.self) }
            for c in 0..<4 {
                let prefix = "client \(c) line "
                #expect(texts.filter { $0.hasPrefix(prefix) } == (0..<100).map { prefix + "\($0)" })
            }
            #expect(messages.count == 400 + 4)
            #expect(texts.contains("client 0 after"))
            #expect(messages.contains { $0.bytes == [0, 0, 0, 0xFF, 0xFE, 0xC3, 0x28] })
            #expect(messages.contains { $0.bytes.count == 300 && $0.bytes.first == 0x01 })
            let long = messages.filter { $0.bytes.first == 0x41 }
            #expect(long.count == 1)
            #expect(long.first?.bytes.count == 64 * 1024)
            #expect(long.first?.truncated == true)
            #expect(counters.truncated.load(ordering: .relaxed) == 1)
            #expect(counters.connections.load(ordering: .relaxed) == 5)  // the 1,000 refused are not counted as served
            #expect(counters.idleClosed.load(ordering: .relaxed) == 1)
            #expect(counters.connectionErrors.load(ordering: .relaxed) == 0)
        }
    }

    // MARK: - TLS (RFC 5425)

    /// A Python TLS client: sends `count` octet-counted messages, or reports why the connection failed.
    static let tlsClient = """
        import socket, ssl, sys
        port, ca, cert, key, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
        ctx = ssl.create_default_context(cafile=ca)
        if cert: ctx.load_cert_chain(cert, key)
        try:
            with socket.create_connection(("127.0.0.1", port)) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    for i in range(count):
                        m = ("<14>1 - - probe - - - tls %d" % i).encode()
                        s.sendall(str(len(m)).encode() + b" " + m)
                    # TLS 1.3 reports a refused client certificate only on the first read.
                    s.settimeout(5)
                    try: s.recv(1)
                    except socket.timeout: pass
            print("sent")
        except (ssl.SSLError, ConnectionError, OSError) as e:
            print("refused", type(e).__name__, e)
            sys.exit(3)
        """

    func tlsConfig(_ pki: TestPKI, clientCA: Bool) -> TCPSyslogConfiguration {
        TCPSyslogConfiguration(
            name: "t", host: "127.0.0.1", port: 0, idleTimeout: .seconds(2), tlsCertificateFile: pki.serverCert,
            tlsKeyFile: pki.serverKey, tlsClientCAFile: clientCA ? pki.caCert : nil)
    }

    @Test(.enabled(if: (hasOpenSSL && hasPython) || integrationRequired))
    func tlsFromPythonClient() async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        let counters = StreamSourceCounters()
        try await withTCP(tlsConfig(pki, clientCA: false), counters: counters) { sink, port in
            let (done, status) = Self.python(Self.tlsClient, ["\(port)", pki.caCert, "", "", "200"])
            #expect(await eventually(timeout: 20) { done.isSet && sink.count >= 200 })
            #expect(status.current.hasPrefix("0 "), "\(status.current)")
            #expect(sink.texts == (0..<200).map { "<14>1 - - probe - - - tls \($0)" })
            #expect(counters.tlsFailures.load(ordering: .relaxed) == 0)
        }
    }

    @Test(.enabled(if: (hasOpenSSL && hasPython) || integrationRequired))
    func mutualTLSRefusesClientsWithoutATrustedCertificate() async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        let counters = StreamSourceCounters()
        try await withTCP(tlsConfig(pki, clientCA: true), counters: counters) { sink, port in
            let none = Self.python(Self.tlsClient, ["\(port)", pki.caCert, "", "", "5"])
            #expect(await eventually(timeout: 20) { none.done.isSet })
            #expect(none.status.current.hasPrefix("3 "), "\(none.status.current)")
            let other = Self.python(
                Self.tlsClient, ["\(port)", pki.caCert, pki.otherClientCert, pki.otherClientKey, "5"])
            #expect(await eventually(timeout: 20) { other.done.isSet })
            #expect(other.status.current.hasPrefix("3 "), "\(other.status.current)")
            #expect(await eventually(timeout: 10) { counters.tlsFailures.load(ordering: .relaxed) == 2 })
            // A plain-text client on the TLS port is a handshake failure too, and its bytes are not messages.
            let plain = Self.connectTCP(port)
            Stream.writeAll(plain, Array("<13>not tls\n".utf8))
            #expect(await eventually(timeout: 10) { counters.tlsFailures.load(ordering: .relaxed) == 3 })
            close(plain)
            let good = Self.python(Self.tlsClient, ["\(port)", pki.caCert, pki.clientCert, pki.clientKey, "50"])
            #expect(await eventually(timeout: 20) { good.done.isSet && sink.count >= 50 })
            #expect(good.status.current.hasPrefix("0 "), "\(good.status.current)")
            #expect(sink.texts == (0..<50).map { "<14>1 - - probe - - - tls \($0)" })
            #expect(counters.tlsFailures.load(ordering: .relaxed) == 3)
        }
    }

    @Test func tlsSettingsAreCheckedAtStart() async throws {
        let dir = try makeTempDirectory("tlsbad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a certificate".write(toFile: dir + "/bad.pem", atomically: false, encoding: .utf8)
        let missingKey = TCPSyslogConfiguration(
            name: "t", host: "127.0.0.1", port: 0, tlsCertificateFile: dir + "/bad.pem")
        #expect(throws: TLSSetupError.self) { try missingKey.tlsConfiguration() }
        var bad = missingKey
        bad.tlsKeyFile = dir + "/bad.pem"
        #expect(throws: TLSSetupError.self) { try bad.tlsConfiguration() }
        let caOnly = TCPSyslogConfiguration(name: "t", host: "127.0.0.1", port: 0, tlsClientCAFile: dir + "/bad.pem")
        #expect(throws: TLSSetupError.self) { try caOnly.tlsConfiguration() }
        #expect(try TCPSyslogConfiguration(name: "t", host: "127.0.0.1", port: 0).tlsConfiguration() == nil)
    }
}
