import Testing

@testable import LogferryFormat

@Suite struct KeyValueExtractorTests {
    @Test(
        arguments: [
            ("a=1 b=two", [("a", "1"), ("b", "two")]),
            (#"user=bob msg="a b c" ok=1"#, [("user", "bob"), ("msg", "a b c"), ("ok", "1")]),
            (#"q='it''s' esc="say \"hi\" \\ ok""#, [("q", "it"), ("esc", #"say "hi" \ ok"#)]),
            (
                "Accepted login user=root from=10.0.0.1, port=22;",
                [("user", "root"), ("from", "10.0.0.1"), ("port", "22")]
            ),
            ("empty= next=x", [("empty", ""), ("next", "x")]),
            ("k=1 k=2", [("k", "2")]),
            (
                "IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=60",
                [
                    ("IN", "eth0"), ("OUT", ""), ("SRC", "10.0.0.1"), ("DST", "10.0.0.2"), ("LEN", "60"),
                ]
            ),
            (#"x="unterminated value"#, [("x", "unterminated value")]),
            ("no pairs here = at all =x", []),
            (#"skip "a=b c" d.e-f@g=1"#, [("d.e-f@g", "1")]),
            ("", []),
        ] as [(String, [(String, String)])])
    func pairs(message: String, expected: [(String, String)]) {
        let got = KeyValueExtractor.extract(message)
        #expect(got.map(\.name) == expected.map(\.0))
        #expect(got.map(\.value) == expected.map(\.1))
    }
}
