import Crypto
import SwiftASN1
import X509

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// A private CA for logferry's mutual TLS (`logferry certs ca|issue`), built on swift-certificates and
// swift-crypto, so a node can be set up without the openssl CLI and its config-file dialect.
//
// What it makes (checked by `openssl verify` and NIOSSL in the tests):
// - CA: self-signed, P-256 ECDSA key, ecdsa-with-SHA256; subject CN=<name>; BasicConstraints critical
//   CA:TRUE pathlen:0 (it signs leaves only, never another CA); KeyUsage critical keyCertSign+cRLSign;
//   SubjectKeyIdentifier (SHA-1 of the public key, RFC 5280 4.2.1.2) and AuthorityKeyIdentifier = the same.
// - Leaf: P-256 key, signed by the CA; subject CN=<name>; BasicConstraints critical CA:FALSE; KeyUsage critical
//   digitalSignature (an ECDSA key signs the handshake and never enciphers a key); ExtendedKeyUsage serverAuth
//   or clientAuth; SKI of its own key, AKI = the CA's SKI. A server certificate's SANs are its name plus every
//   extra SAN, IP addresses as IP SANs; nothing is added implicitly (no localhost or 127.0.0.1: a certificate
//   valid for names nobody asked for is a surprise). A client certificate carries only the extra SANs, if any:
//   its identity is the CN.
// - Serials: 16 random bytes (126 bits of CSPRNG output, positive, never a leading zero byte: RFC 5280 4.1.2.2
//   allows at most 20 octets; X509's own random serial can encode as 21).
// - Validity starts 5 minutes in the past (a peer whose clock lags a little still accepts a certificate made
//   just now) and a leaf never outlives its CA: its end is clamped to the CA's.
// - Files: PEM, NAME.pem is the leaf alone. The CA is pathlen:0 and every peer must already trust ca.pem, so
//   sending it along in each handshake would add bytes and no verification. Keys are unencrypted PKCS#8 PEM,
//   mode 0600. A file is written to a temporary name, fsynced, then linked into place, so an existing file is
//   never overwritten unless asked (`force`), and a crash never leaves half a key.

/// A certificate authority: its certificate and the key that signs what it issues.
public struct CertificateAuthority: Sendable {
    /// The CA certificate (`ca.pem`).
    public let certificate: Certificate
    /// The CA's signing key (`ca.key`).
    public let privateKey: Certificate.PrivateKey

    /// Default subject CN of a new CA.
    public static let defaultName = "logferry CA"
    /// Default lifetime of a new CA, in days (10 years).
    public static let defaultDays = 3650
    /// Default lifetime of an issued certificate, in days (the CA/Browser Forum's old 825-day ceiling, which
    /// some clients still enforce on server certificates).
    public static let defaultLeafDays = 825
    /// Longest accepted lifetime, in days.
    public static let maximumDays = 36500
    /// File names of the CA in its directory.
    public static let certificateFileName = "ca.pem"
    public static let privateKeyFileName = "ca.key"

    /// Backdating of `notBefore`, for peers whose clocks lag.
    static let clockSkewAllowance: TimeInterval = 300

    /// An existing CA. Fails unless the key belongs to the certificate and the certificate may sign others.
    public init(certificate: Certificate, privateKey: Certificate.PrivateKey) throws(CertificateAuthorityError) {
        guard privateKey.publicKey == certificate.publicKey else {
            throw CertificateAuthorityError(.unusableCA, "the CA key does not belong to the CA certificate")
        }
        guard case .isCertificateAuthority? = try? certificate.extensions.basicConstraints else {
            throw CertificateAuthorityError(
                .unusableCA, "the CA certificate is not a CA (BasicConstraints CA:TRUE is missing)")
        }
        if let usage = try? certificate.extensions.keyUsage, !usage.keyCertSign {
            throw CertificateAuthorityError(.unusableCA, "the CA certificate's KeyUsage does not allow keyCertSign")
        }
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// Parses a CA from PEM text: a certificate and an unencrypted private key (PKCS#8 or SEC1).
    public init(certificatePEM: String, privateKeyPEM: String) throws(CertificateAuthorityError) {
        let certificate: Certificate
        let key: Certificate.PrivateKey
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw CertificateAuthorityError(.unusableCA, "the CA certificate is not a PEM certificate (\(error))")
        }
        do {
            key = try Certificate.PrivateKey(pemEncoded: privateKeyPEM)
        } catch {
            throw CertificateAuthorityError(
                .unusableCA, "the CA key is not an unencrypted PEM private key (\(error))")
        }
        try self.init(certificate: certificate, privateKey: key)
    }

    /// Makes a new self-signed CA with a fresh P-256 key.
    public static func create(
        name: String = defaultName, days: Int = defaultDays, now: Date = Date()
    ) throws(CertificateAuthorityError) -> CertificateAuthority {
        if let problem = CertificateRequest.nameProblem(name, what: "CA name", strict: false) {
            throw CertificateAuthorityError(.invalidRequest, problem)
        }
        if let problem = CertificateRequest.daysProblem(days) {
            throw CertificateAuthorityError(.invalidRequest, problem)
        }
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let keyID = SubjectKeyIdentifier(hash: key.publicKey)
        return try wrap("making the CA certificate") {
            let subject = try DistinguishedName { CommonName(name) }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                keyID
                AuthorityKeyIdentifier(keyIdentifier: keyID.keyIdentifier)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: randomSerialNumber(), publicKey: key.publicKey,
                notValidBefore: now - clockSkewAllowance, notValidAfter: now + TimeInterval(days) * 86400,
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
                issuerPrivateKey: key)
            return try CertificateAuthority(certificate: certificate, privateKey: key)
        }
    }

    /// Loads `ca.pem` and `ca.key` from `directory`.
    public static func load(directory: String) throws(CertificateAuthorityError) -> CertificateAuthority {
        let certPath = directory + "/" + certificateFileName
        let keyPath = directory + "/" + privateKeyFileName
        let certPEM: String
        let keyPEM: String
        do {
            certPEM = try CertificateFileIO.readText(certPath, missing: .noCA)
            keyPEM = try CertificateFileIO.readText(keyPath, missing: .noCA)
        } catch {
            guard error.code == .noCA else { throw error }
            let missing = access(certPath, F_OK) == 0 ? keyPath : certPath
            throw CertificateAuthorityError(
                .noCA,
                "no CA in \(directory) (\(missing) does not exist): make one with `logferry certs ca --dir "
                    + "\(directory)`, or point --dir at the directory holding ca.pem and ca.key", errno: error.errno)
        }
        do {
            return try CertificateAuthority(certificatePEM: certPEM, privateKeyPEM: keyPEM)
        } catch {
            throw CertificateAuthorityError(error.code, "\(directory): \(error.message)", errno: error.errno)
        }
    }

    /// Writes `ca.pem` (0644) and `ca.key` (0600) into `directory`, creating it (0700) if needed. Refuses to
    /// replace an existing CA unless `force`: every certificate it issued would stop verifying.
    @discardableResult
    public func write(to directory: String, force: Bool = false) throws(CertificateAuthorityError) -> CertificateFiles {
        let files = CertificateFiles(
            certificate: directory + "/" + Self.certificateFileName,
            privateKey: directory + "/" + Self.privateKeyFileName)
        let pems = try wrap("encoding the CA as PEM") {
            (try certificate.serializeAsPEM().pemString, try privateKey.serializeAsPEM().pemString)
        }
        try CertificateFileIO.publish(
            files, certificatePEM: pems.0, privateKeyPEM: pems.1, force: force,
            refusal: "a CA already exists in \(directory); every certificate it issued stops verifying if it is "
                + "replaced: pass --force to replace it anyway, or choose another --dir")
        return files
    }

    /// Issues a server or client certificate with a fresh P-256 key.
    public func issue(_ request: CertificateRequest, now: Date = Date()) throws(CertificateAuthorityError)
        -> IssuedCertificate
    {
        if let problem = request.problems().first { throw CertificateAuthorityError(.invalidRequest, problem) }
        guard certificate.notValidAfter > now else {
            throw CertificateAuthorityError(
                .expiredCA,
                "the CA expired on \(certificate.notValidAfter): make a new one with `logferry certs ca --force` "
                    + "and issue every certificate again")
        }
        let requestedEnd = now + TimeInterval(request.days) * 86400
        let notAfter = min(requestedEnd, certificate.notValidAfter)
        let notBefore = max(now - Self.clockSkewAllowance, certificate.notValidBefore)
        let key = P256.Signing.PrivateKey()
        let leafKey = Certificate.PrivateKey(key)
        let authorityKeyID =
            (try? certificate.extensions.subjectKeyIdentifier)?.keyIdentifier
            ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
        let sans = request.generalNames()
        let issued = try wrap("signing the certificate") {
            let subject = try DistinguishedName { CommonName(request.name) }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([request.role == .server ? .serverAuth : .clientAuth])
                if !sans.isEmpty { SubjectAlternativeNames(sans) }
                SubjectKeyIdentifier(hash: leafKey.publicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
            }
            return try Certificate(
                version: .v3, serialNumber: Self.randomSerialNumber(), publicKey: leafKey.publicKey,
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: certificate.subject, subject: subject,
                extensions: extensions, issuerPrivateKey: privateKey)
        }
        let pems = try wrap("encoding the certificate as PEM") {
            (try issued.serializeAsPEM().pemString, key.pemRepresentation)
        }
        return IssuedCertificate(
            request: request, certificate: issued, privateKey: leafKey, certificatePEM: pems.0,
            privateKeyPEM: pems.1, clampedToCAExpiry: requestedEnd > certificate.notValidAfter)
    }

    /// 16 CSPRNG bytes as a positive INTEGER of exactly 16 octets (see the header).
    static func randomSerialNumber() -> Certificate.SerialNumber {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        bytes[0] = (bytes[0] & 0x7F) | 0x40
        return Certificate.SerialNumber(bytes: bytes)
    }
}

/// What to issue: a server or client certificate for `name`.
public struct CertificateRequest: Sendable, Equatable {
    /// Server certificates carry EKU serverAuth and the name as a SAN; client certificates carry clientAuth.
    public enum Role: String, Sendable, Equatable {
        case server, client
    }

    /// Server or client.
    public var role: Role
    /// CN of the subject and stem of the file names (NAME.pem, NAME.key); for a server also its first SAN.
    public var name: String
    /// Further SANs: DNS names (a leading `*.` wildcard allowed) or IPv4/IPv6 addresses.
    public var subjectAlternativeNames: [String]
    /// Lifetime in days (clamped to the CA's remaining lifetime).
    public var days: Int

    public init(
        role: Role, name: String, subjectAlternativeNames: [String] = [],
        days: Int = CertificateAuthority.defaultLeafDays
    ) {
        self.role = role
        self.name = name
        self.subjectAlternativeNames = subjectAlternativeNames
        self.days = days
    }

    /// Everything wrong with the request, each saying how to fix it; empty when it can be issued.
    public func problems() -> [String] {
        var out: [String] = []
        if let p = Self.nameProblem(name, what: "\(role.rawValue) name", strict: true) { out.append(p) }
        if role == .server, out.isEmpty, SubjectAlternativeName(name) == nil {
            out.append(
                "server name '\(name)' is neither a DNS name nor an IP address: use the host name clients put in "
                    + "their wss:// URL")
        }
        for san in subjectAlternativeNames where SubjectAlternativeName(san) == nil {
            out.append(
                "--san '\(san)' is neither a DNS name (letters, digits, '-', dot-separated, optionally starting "
                    + "with '*.') nor an IPv4/IPv6 address")
        }
        if let p = Self.daysProblem(days) { out.append(p) }
        return out
    }

    /// The SANs in order, without duplicates: for a server its name first, then every extra one.
    public var resolvedSubjectAlternativeNames: [SubjectAlternativeName] {
        var out: [SubjectAlternativeName] = []
        for text in (role == .server ? [name] : []) + subjectAlternativeNames {
            if let san = SubjectAlternativeName(text), !out.contains(san) { out.append(san) }
        }
        return out
    }

    func generalNames() -> [GeneralName] {
        resolvedSubjectAlternativeNames.map {
            switch $0 {
            case .dns(let name): .dnsName(name)
            case .ip(let bytes): .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
            }
        }
    }

    /// Names become file names and CNs: ASCII letters, digits, `.`, `-`, `_`, `:`; not starting with `.` (no
    /// hidden file, no `..`) or `-` (not an option); at most 64 characters (X.520's limit on a CN). The CA name
    /// (`strict: false`) may hold any printable text, spaces included, as it names no file.
    static func nameProblem(_ name: String, what: String, strict: Bool) -> String? {
        if name.isEmpty { return "\(what) is empty: give a name" }
        if name.unicodeScalars.count > 64 { return "\(what) '\(name)' is longer than 64 characters: shorten it" }
        if strict {
            let allowed = name.utf8.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
                    || $0 == UInt8(ascii: ":")
            }
            guard allowed, name.first != ".", name.first != "-" else {
                return "\(what) '\(name)' may hold only letters, digits, '.', '-', '_' and ':', and must not start "
                    + "with '.' or '-' (it names the files NAME.pem and NAME.key)"
            }
        } else if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "\(what) contains control characters: use printable text"
        }
        return nil
    }

    static func daysProblem(_ days: Int) -> String? {
        guard (1...CertificateAuthority.maximumDays).contains(days) else {
            return "--days \(days) is out of range: give 1 to \(CertificateAuthority.maximumDays)"
        }
        return nil
    }

    static func isAlphanumeric(_ c: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
    }
}

/// One subject alternative name as given on the command line: a DNS name or an IP address.
public enum SubjectAlternativeName: Sendable, Hashable, CustomStringConvertible {
    case dns(String)
    /// 4 or 16 bytes in network order.
    case ip([UInt8])

    /// Parses an IPv4/IPv6 address (IP SAN) or a DNS name (at most 253 characters; labels of 1 to 63 letters,
    /// digits and inner hyphens; the first label may be `*`); nil for anything else.
    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .ip(withUnsafeBytes(of: &v4) { Array($0) })
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .ip(withUnsafeBytes(of: &v6) { Array($0) })
        } else if Self.isDNSName(text) {
            self = .dns(text)
        } else {
            return nil
        }
    }

    static func isDNSName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (i, label) in labels.enumerated() {
            if i == 0, labels.count > 1, label.elementsEqual("*".utf8) { continue }
            guard (1...63).contains(label.count), label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
                label.allSatisfy({ CertificateRequest.isAlphanumeric($0) || $0 == UInt8(ascii: "-") })
            else { return false }
        }
        // An all-numeric dotted name would read as a (malformed) IPv4 address to most clients.
        return labels.last.map { !$0.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } } ?? false
    }

    /// As openssl prints it: `DNS:name` or `IP Address:addr`.
    public var description: String {
        switch self {
        case .dns(let name): return "DNS:" + name
        case .ip(let bytes):
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let family = bytes.count == 4 ? AF_INET : AF_INET6
            let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
            guard ok != nil else { return "IP Address:?" }
            return "IP Address:"
                + String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// A certificate issued by a `CertificateAuthority`, with its new key.
public struct IssuedCertificate: Sendable {
    /// What was asked for.
    public let request: CertificateRequest
    /// The signed certificate.
    public let certificate: Certificate
    /// Its private key (P-256).
    public let privateKey: Certificate.PrivateKey
    /// The certificate as PEM (NAME.pem: the leaf alone).
    public let certificatePEM: String
    /// The key as unencrypted PKCS#8 PEM (NAME.key).
    public let privateKeyPEM: String
    /// True when the requested lifetime ran past the CA's and was cut to it.
    public let clampedToCAExpiry: Bool

    /// Writes NAME.pem (0644) and NAME.key (0600) into `directory`, creating it (0700) if needed. Refuses to
    /// replace existing files unless `force`.
    @discardableResult
    public func write(to directory: String, force: Bool = false) throws(CertificateAuthorityError) -> CertificateFiles {
        let files = CertificateFiles(
            certificate: directory + "/" + request.name + ".pem", privateKey: directory + "/" + request.name + ".key")
        try CertificateFileIO.publish(
            files, certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM, force: force,
            refusal: "a certificate named '\(request.name)' already exists in \(directory): pass --force to replace "
                + "it (for example to renew it), or choose another name or --out")
        return files
    }

    /// Hex SHA-256 of the DER certificate, colon-separated (as `openssl x509 -fingerprint -sha256` prints it).
    public var sha256Fingerprint: String { CertificateAuthority.fingerprint(certificate) }
}

extension CertificateAuthority {
    /// Hex SHA-256 of the DER certificate, colon-separated.
    public static func fingerprint(_ certificate: Certificate) -> String {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate)) != nil else { return "?" }
        return SHA256.hash(data: serializer.serializedBytes).map { hex($0) }.joined(separator: ":")
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    /// Runs a swift-certificates/swift-crypto step, turning its error into a runtime failure naming the step.
    fileprivate static func wrap<T>(_ step: String, _ body: () throws -> T) throws(CertificateAuthorityError) -> T {
        do {
            return try body()
        } catch let e as CertificateAuthorityError {
            throw e
        } catch {
            throw CertificateAuthorityError(.crypto, "\(step): \(error)")
        }
    }

    fileprivate func wrap<T>(_ step: String, _ body: () throws -> T) throws(CertificateAuthorityError) -> T {
        try Self.wrap(step, body)
    }
}

/// Where a certificate and its key were written.
public struct CertificateFiles: Sendable, Equatable {
    public var certificate: String
    public var privateKey: String

    public init(certificate: String, privateKey: String) {
        self.certificate = certificate
        self.privateKey = privateKey
    }
}

/// Why a CA could not be made, loaded or used, or a certificate not issued or written.
public struct CertificateAuthorityError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// A bad name, SAN or lifetime.
        case invalidRequest
        /// The files exist and replacing them was not asked for.
        case alreadyExists
        /// No `ca.pem`/`ca.key` where they were looked for.
        case noCA
        /// The CA files are not a usable CA (not PEM, key of another certificate, not a CA).
        case unusableCA
        /// The CA's validity has ended.
        case expiredCA
        /// Reading or writing a file failed (`errno` says how).
        case fileSystem
        /// Key generation, signing or encoding failed.
        case crypto
    }

    public var code: Code
    /// What went wrong and how to fix it.
    public var message: String
    /// For `fileSystem`: the errno of the failed call.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }

    /// True when the user can fix it (exit 1); false for a runtime failure (exit 2): a disk error, a crypto error.
    public var isUserError: Bool {
        switch code {
        case .invalidRequest, .alreadyExists, .noCA, .unusableCA, .expiredCA: return true
        case .crypto: return false
        case .fileSystem:
            return [EACCES, EPERM, EROFS, ENOTDIR, EISDIR, ENOENT, ENAMETOOLONG, EEXIST, ELOOP].contains(errno ?? 0)
        }
    }
}

/// File I/O for certificates and keys: plain POSIX, so the modes and the no-overwrite rule are exact.
enum CertificateFileIO {
    /// Refuses anything bigger: a CA file is a few hundred bytes, and the reader must not swallow a huge file.
    static let maximumFileBytes = 1 << 20

    static func readText(_ path: String, missing: CertificateAuthorityError.Code) throws(CertificateAuthorityError)
        -> String
    {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT {
                throw CertificateAuthorityError(missing, "\(path) does not exist", errno: e)
            }
            throw failure("cannot open \(path)", e)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read \(path)", errno)
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
            if bytes.count > maximumFileBytes {
                throw CertificateAuthorityError(
                    .unusableCA, "\(path) is larger than 1 MiB: not a PEM certificate or key")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes both files, key first. Without `force`, fails up front if either exists, and each file is linked
    /// into place (`link` fails rather than replace one that appeared meanwhile); with it, renamed over.
    static func publish(
        _ files: CertificateFiles, certificatePEM: String, privateKeyPEM: String, force: Bool, refusal: String
    ) throws(CertificateAuthorityError) {
        let directory = String(
            files.certificate[..<(files.certificate.lastIndex(of: "/") ?? files.certificate.startIndex)])
        try makeDirectory(directory.isEmpty ? "/" : directory)
        if !force {
            for path in [files.certificate, files.privateKey] where access(path, F_OK) == 0 {
                throw CertificateAuthorityError(.alreadyExists, refusal + " (\(path) exists)")
            }
        }
        try writeFile(files.privateKey, privateKeyPEM, mode: 0o600, force: force, refusal: refusal)
        try writeFile(files.certificate, certificatePEM, mode: 0o644, force: force, refusal: refusal)
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Creates `path` and missing parents with mode 0700 (they will hold private keys).
    static func makeDirectory(_ path: String) throws(CertificateAuthorityError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw CertificateAuthorityError(
                    .fileSystem, "\(path) is not a directory: give a directory", errno: ENOTDIR)
            }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]))
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw failure("cannot create directory \(path)", errno) }
    }

    private static func writeFile(_ path: String, _ text: String, mode: mode_t, force: Bool, refusal: String)
        throws(CertificateAuthorityError)
    {
        var rng = SystemRandomNumberGenerator()
        let temporary = path + ".tmp-\(String(rng.next() as UInt64, radix: 16))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("cannot create \(temporary)", errno) }
        var ok = false
        defer { if !ok { unlink(temporary) } }
        do {
            defer { close(fd) }
            // The umask may have taken bits away from a certificate's 0644; a key's 0600 is never widened.
            guard fchmod(fd, mode) == 0 else { throw failure("cannot set the mode of \(temporary)", errno) }
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write \(temporary)", errno)
                }
                bytes = bytes.dropFirst(n)
            }
            guard fsync(fd) == 0 else { throw failure("cannot fsync \(temporary)", errno) }
        }
        if force {
            guard rename(temporary, path) == 0 else { throw failure("cannot rename \(temporary) to \(path)", errno) }
        } else {
            guard link(temporary, path) == 0 else {
                let e = errno
                if e == EEXIST { throw CertificateAuthorityError(.alreadyExists, refusal + " (\(path) exists)") }
                throw failure("cannot create \(path)", e)
            }
            unlink(temporary)
        }
        ok = true
    }

    private static func failure(_ what: String, _ code: Int32) -> CertificateAuthorityError {
        CertificateAuthorityError(.fileSystem, "\(what): \(String(cString: strerror(code)))", errno: code)
    }
}
