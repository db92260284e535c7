import Testing

@testable import LogferryFormat

@Suite struct FieldPatternTests {
    static let fail2ban = "2017-06-14 17:16:12,329 fail2ban.actions [1112]: NOTICE [sshd] Ban 59.45.175.88"

    @Test func specExampleOnFail2ban() throws {
        let p = try FieldPattern(#"$date $hour _ _ _ \[$process\] _ $ip"#)
        let fields = try #require(p.match(Self.fail2ban))
        #expect(fields.map(\.name) == ["date", "hour", "process", "ip"])
        #expect(fields.map(\.value) == ["2017-06-14", "17:16:12,329", "1112", "59.45.175.88"])
        #expect(p.captureNames == ["date", "hour", "process", "ip"])
    }

    @Test(
        arguments: [
            // (pattern, message, expected captures or nil for no match)
            ("$a $b", "x y", ["a=x", "b=y"]),
            ("$a $b", "x y z", nil),  // anchored at the end
            ("$a $b _", "x y z w", ["a=x", "b=y"]),
            ("$a _", "x", ["a=x"]),  // `_` may skip nothing
            ("_ $last", "a b c", ["last=c"]),
            ("$_ $second _", "a b c", ["second=b"]),  // `$_` is exactly one word
            ("$_ $second", "a", nil),
            ("from $ip port $port", "from 10.0.0.1 port 22", ["ip=10.0.0.1", "port=22"]),
            ("from $ip port $port", "fromage 10.0.0.1 port 22", nil),  // literal words match whole words
            ("user=$user", "user=alice", ["user=alice"]),
            ("$k=$v", "a=b=c", ["k=a", "v=b=c"]),  // a capture stops at the first occurrence of what follows
            (#"\[$pid\]"#, "[12]:", ["pid=12"]),  // trailing punctuation tolerated after a literal
            (#"\[$pid\]"#, "[12]x", nil),
            (#"$h:$m"#, "12:30", ["h=12", "m=30"]),
            (#"\$$cost"#, "$5", ["cost=5"]),
            (#"a\ b $x"#, "a b c", nil),  // an escaped space is literal inside one word, never a separator
            ("_", "", []),
            ("$a", "", nil),
            ("$a", "  padded  ", ["a=padded"]),
            ("_x_ $a", "_x_ 1", ["a=1"]),
            (#"\_ $a"#, "_ 1", ["a=1"]),
        ] as [(String, String, [String]?)])
    func semantics(pattern: String, message: String, expected: [String]?) throws {
        let p = try FieldPattern(pattern)
        let got = p.match(message)?.map { "\($0.name)=\($0.value)" }
        #expect(got == expected)
    }

    @Test(arguments: [
        ("", 1, "the pattern is empty"),
        ("   ", 1, "the pattern is empty"),
        ("$ x", 1, "'$' must be followed by a field name (write \\$ for a literal $)"),
        ("ok $a$b", 6, "two captures need literal text between them"),
        ("$a $a", 4, "$a is captured twice"),
        ("x \\", 3, "'\\' at the end of the pattern escapes nothing"),
    ])
    func compileErrors(pattern: String, column: Int, message: String) {
        #expect(throws: TemplateError(message: message, column: column, part: "pattern")) {
            try FieldPattern(pattern)
        }
    }

    @Test func manyWordsStayLinear() throws {
        // Skips between every word: the greedy matcher must not go exponential.
        let p = try FieldPattern("_ a _ b _ c _ $x")
        let message = String(repeating: "a b c ", count: 2000) + "end"
        #expect(p.match(message)?.first?.value == "end")
        #expect(p.match(String(repeating: "a b ", count: 3000)) == nil)
    }
}
