import Testing

@testable import LogferryCore

@Suite struct TokenAuthenticatorTests {
    static let equalityCases: [(String, String, Bool)] = [
        ("", "", true),
        ("secret", "secret", true),
        ("secret", "secreT", false),
        ("secret", "secrets", false),
        ("secrets", "secret", false),
        ("secret", "", false),
        ("", "secret", false),
        ("secret\0", "secret", false),  // a zero byte is not padding
        ("Xecret", "secret", false),
    ]

    @Test(arguments: equalityCases)
    func constantTimeEqualsMatchesEquality(_ a: String, _ b: String, _ expected: Bool) {
        #expect(constantTimeEquals(Array(a.utf8), Array(b.utf8)) == expected)
    }

    @Test func acceptsAnyConfiguredToken() {
        let auth = TokenAuthenticator(tokens: ["alpha", "beta"])
        #expect(auth.authorize(authorizationHeader: "Bearer alpha"))
        #expect(auth.authorize(authorizationHeader: "Bearer beta"))
        #expect(auth.authorize(authorizationHeader: "bearer  beta "))
        #expect(!auth.authorize(authorizationHeader: "Bearer gamma"))
        #expect(!auth.authorize(authorizationHeader: "Bearer alph"))
        #expect(!auth.authorize(authorizationHeader: "Basic YWxwaGE6"))
        #expect(!auth.authorize(authorizationHeader: "Bearer"))
        #expect(!auth.authorize(authorizationHeader: "Beareralpha"))
        #expect(!auth.authorize(authorizationHeader: nil))
        #expect(!auth.isOpen)
    }

    @Test func noTokensMeansOpen() {
        let auth = TokenAuthenticator(tokens: [])
        #expect(auth.isOpen)
        #expect(auth.authorize(authorizationHeader: nil))
        #expect(auth.authorize(token: nil))
    }

    @Test func acceptsABareToken() {
        let auth = TokenAuthenticator(tokens: ["alpha", "beta"])
        #expect(auth.authorize(token: "alpha"))
        #expect(auth.authorize(token: " beta\t"))
        #expect(!auth.authorize(token: "Bearer alpha"))
        #expect(!auth.authorize(token: "alph"))
        #expect(!auth.authorize(token: ""))
        #expect(!auth.authorize(token: "   "))
        #expect(!auth.authorize(token: nil))
    }
}
