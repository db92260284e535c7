/// Syslog severity (RFC 5424 §6.2.1), named as syslog-ng names them. Lower is more severe, so
/// `severity <= "warning"` selects warning and worse.
public enum Severity: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case emerg = 0, alert, crit, err, warning, notice, info, debug

    public var name: String {
        switch self {
        case .emerg: "emerg"
        case .alert: "alert"
        case .crit: "crit"
        case .err: "err"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }

    public var description: String { name }

    /// Accepts the canonical names and the common aliases (`error`, `warn`, `emergency`, `critical`, `panic`).
    public init?(name: String) {
        switch name.lowercased() {
        case "emerg", "emergency", "panic": self = .emerg
        case "alert": self = .alert
        case "crit", "critical": self = .crit
        case "err", "error": self = .err
        case "warning", "warn": self = .warning
        case "notice": self = .notice
        case "info", "informational": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }
}

/// Syslog facility (RFC 5424 §6.2.1), named as syslog-ng names them.
public enum Facility: Int, Sendable, CaseIterable, CustomStringConvertible {
    case kern = 0, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, security, console,
        solarisCron, local0, local1, local2, local3, local4, local5, local6, local7

    public var name: String {
        switch self {
        case .kern: "kern"
        case .user: "user"
        case .mail: "mail"
        case .daemon: "daemon"
        case .auth: "auth"
        case .syslog: "syslog"
        case .lpr: "lpr"
        case .news: "news"
        case .uucp: "uucp"
        case .cron: "cron"
        case .authpriv: "authpriv"
        case .ftp: "ftp"
        case .ntp: "ntp"
        case .security: "security"
        case .console: "console"
        case .solarisCron: "solaris-cron"
        case .local0: "local0"
        case .local1: "local1"
        case .local2: "local2"
        case .local3: "local3"
        case .local4: "local4"
        case .local5: "local5"
        case .local6: "local6"
        case .local7: "local7"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let f = Facility.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = f
    }
}
