import ArgumentParser

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print version and build info.")

    func run() throws {
        print(LogferryVersion.string)
        print("protocol: logferry.v1 (websocket subprotocol)")
        print("journal format: 1")
    }
}
