// swift-tools-version:6.1
// logferry: a syslog replacement with acknowledged websocket forwarding.
// Dependencies are the ones chosen in ../shared/DEPENDENCIES.md; versions are the mirrored ones.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

let package = Package(
    name: "logferry",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "logferry", targets: ["logferry"]),
        // The parsers' fuzz target; bench/fuzz.sh builds it with libFuzzer (docs/PARSING.md, "Fuzzing").
        .executable(name: "logferry-fuzz", targets: ["logferry-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // `logferry certs`: CA and certificates for mutual TLS without openssl.
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // The model: events, origins and IDs, JSON values, config primitives, component protocols.
        .target(
            name: "LogferryCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Bytes <-> events, no I/O: parsers, templates, JSON rendering.
        .target(
            name: "LogferryFormat",
            dependencies: ["LogferryCore"],
            swiftSettings: swiftSettings
        ),
        // On-disk journal: segments, records, cursors, recovery. No sockets.
        .target(
            name: "LogferryJournal",
            dependencies: [
                "LogferryCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // PEM loading and TLS context checks shared by the network sources and the websocket transport.
        .target(
            name: "LogferryTLS",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LogferrySources",
            dependencies: [
                "LogferryCore",
                "LogferryFormat",
                "LogferryTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LogferryTransport",
            dependencies: [
                "LogferryCore",
                "LogferryTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "WSCompression", package: "swift-websocket"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSCompression", package: "hummingbird-websocket"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LogferryDestinations",
            dependencies: [
                "LogferryCore",
                "LogferryFormat",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test kit: in-memory spool, fixtures, a helper to run the built binary.
        .target(
            name: "LogferryTesting",
            dependencies: ["LogferryCore"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "logferry",
            dependencies: [
                "LogferryCore",
                "LogferryFormat",
                "LogferryJournal",
                "LogferrySources",
                "LogferryTransport",
                "LogferryDestinations",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // The fuzz harness: every parser of untrusted bytes and the properties each input must keep. Replayed
        // over Tests/Fuzz/corpus by LogferryFormatTests; driven by libFuzzer through logferry-fuzz.
        .target(
            name: "LogferryFuzz",
            dependencies: ["LogferryCore", "LogferryFormat"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "logferry-fuzz",
            dependencies: ["LogferryFuzz"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LogferryCoreTests",
            dependencies: ["LogferryCore", "LogferryTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LogferryFormatTests",
            dependencies: ["LogferryFormat", "LogferryTesting", "LogferryFuzz"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LogferryJournalTests",
            dependencies: ["LogferryJournal", "LogferryTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LogferrySourcesTests",
            dependencies: ["LogferrySources", "LogferryTesting", "LogferryTLS"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LogferryTransportTests",
            dependencies: [
                "LogferryTransport", "LogferryTesting", .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LogferryDestinationsTests",
            dependencies: ["LogferryDestinations", "LogferryTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["LogferryTesting"],
            // Python peers the tests run by path (next to the test files), not resources of the test bundle.
            exclude: ["python"],
            swiftSettings: swiftSettings
        ),
    ]
)
