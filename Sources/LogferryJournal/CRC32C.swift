/// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and most storage formats.
///
/// Hand-written because no mirrored package has CRC-32C: zlib and compress-nio only offer the IEEE CRC-32,
/// swift-nio and swift-crypto none. Slice-by-8: eight 256-entry tables let the loop fold eight bytes per step
/// (about 1 byte/cycle in release builds); no hardware instruction is used, so it is the same on every CPU.
///
/// The value chains: `update(update(0, a), b) == checksum(a + b)`.
public enum CRC32C {
    /// `tables[k * 256 + b]`: the CRC of byte `b` followed by `k` zero bytes.
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// Continues `crc` (0 to start) over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var p = bytes.baseAddress, !bytes.isEmpty else { return crc }
        var n = bytes.count
        var c = ~crc
        tables.withUnsafeBufferPointer { t in
            while n >= 8 {
                let v = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(c)
                c =
                    t[7 * 256 + Int(truncatingIfNeeded: v & 0xFF)]
                    ^ t[6 * 256 + Int(truncatingIfNeeded: (v &>> 8) & 0xFF)]
                    ^ t[5 * 256 + Int(truncatingIfNeeded: (v &>> 16) & 0xFF)]
                    ^ t[4 * 256 + Int(truncatingIfNeeded: (v &>> 24) & 0xFF)]
                    ^ t[3 * 256 + Int(truncatingIfNeeded: (v &>> 32) & 0xFF)]
                    ^ t[2 * 256 + Int(truncatingIfNeeded: (v &>> 40) & 0xFF)]
                    ^ t[1 * 256 + Int(truncatingIfNeeded: (v &>> 48) & 0xFF)]
                    ^ t[Int(truncatingIfNeeded: v &>> 56)]
                p += 8
                n -= 8
            }
            while n > 0 {
                let b = p.load(as: UInt8.self)
                c = t[Int(truncatingIfNeeded: (c ^ UInt32(b)) & 0xFF)] ^ (c &>> 8)
                p += 1
                n -= 1
            }
        }
        return ~c
    }

    /// Continues `crc` (0 to start) over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(crc, $0) }
    }

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        update(0, bytes)
    }
}
