import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct FieldConversionTests {
    @Test(arguments: [
        (FieldType.int, JSONValue.string("42"), JSONValue?.some(42)),
        (.int, "-7", -7),
        (.int, .double(3.0), 3),
        (.int, .double(3.5), nil),
        (.int, " 42", nil),
        (.int, "4x", nil),
        (.int, .bool(true), nil),
        (.float, "0.25", .double(0.25)),
        (.float, 2, .double(2)),
        (.float, "nan", nil),
        (.float, "-", nil),
        (.bool, "Yes", true),
        (.bool, "off", false),
        (.bool, 1, true),
        (.bool, 2, nil),
        (.bool, "maybe", nil),
        (.json, #"{"a":[1,2]}"#, .object(["a": .array([1, 2])])),
        (.json, "12", 12),
        (.json, "{oops", nil),
        (.json, 5, 5),
        (.string, 5, "5"),
        (.string, .double(0.5), "0.5"),
        (.auto, 5, 5),
    ])
    func convert(type: FieldType, value: JSONValue, expected: JSONValue?) {
        #expect(type.convert(value) == expected)
    }

    @Test func typedFieldsInATemplate() throws {
        let template = try Template(
            spec: TemplateSpec(
                pattern: "$verb $path $status $secs _",
                fields: [
                    ("code", "${fields.status}"), ("ok", "${fields.flag}"), ("n", "${fields.none}"),
                    ("j", "${fields.js}"),
                ],
                fieldTypes: [
                    ("code", FieldConversion(type: .int)),
                    ("ok", FieldConversion(type: .bool, defaultValue: "false")),
                    ("n", FieldConversion(type: .int, defaultValue: "0")),
                    ("secs", FieldConversion(type: .float)),  // in place: a pattern capture
                    ("path", FieldConversion(type: .int)),  // does not convert, no default: left out, counted
                    ("absent", FieldConversion(type: .json, defaultValue: "[]")),
                ]))
        let e = parse("GET /a 200 0.5 flag=x", .raw)
        let applied = template.apply(e, nodeName: "n")
        #expect(
            applied.fields == [
                "verb": "GET", "status": "200", "secs": .double(0.5), "code": 200, "ok": false, "n": 0,
                "absent": .array([]),
            ])
        #expect(template.counters.conversionFailures.load(ordering: .relaxed) == 1)
    }

    @Test func regexKvAndJSONTogether() throws {
        let template = try Template(
            spec: TemplateSpec(
                regex: #"took (?<ms>\d+)ms"#, keyValue: true, fields: [("meta", "${fields.meta}")],
                fieldTypes: [("ms", FieldConversion(type: .int)), ("meta", FieldConversion(type: .json))]))
        let e = parse(#"<14>Nov 21 12:00:00 app: done user=bob meta='{"a":1}' took 15ms"#)
        let applied = template.apply(e, nodeName: "n")
        #expect(applied.fields == ["user": "bob", "meta": .object(["a": 1]), "ms": 15])
    }

    @Test(arguments: [
        (
            TemplateSpec(fieldTypes: [("x", FieldConversion(type: .int, defaultValue: "zero"))]),
            TemplateError(message: "default \"zero\" is not a valid int", column: 1, part: "fields.x.default")
        ),
        (
            TemplateSpec(fieldTypes: [("x", FieldConversion(type: .json, defaultValue: "{"))]),
            TemplateError(message: "default \"{\" is not a valid json", column: 1, part: "fields.x.default")
        ),
        (
            TemplateSpec(fieldTypes: [("x", FieldConversion(type: .int)), ("x", FieldConversion(type: .bool))]),
            TemplateError(message: "the type of field x is given twice", column: 1, part: "fields.x")
        ),
    ])
    func compileErrors(spec: TemplateSpec, error: TemplateError) {
        #expect(throws: error) { try Template(spec: spec) }
    }

    @Test func typeNames() {
        #expect(FieldType(rawValue: "float") == .float)
        #expect(FieldType.names == "auto, string, int, float, bool, json")
    }
}

extension FieldConversionTests {
    @Test func typeNamesFromConfig() throws {
        #expect(
            try FieldConversion(typeName: "int", defaultValue: "0", field: "x")
                == FieldConversion(type: .int, defaultValue: "0"))
        #expect(try FieldConversion(typeName: nil, defaultValue: nil, field: "x") == FieldConversion())
        #expect(
            throws: TemplateError(
                message: "unknown type 'integer'; use one of auto, string, int, float, bool, json", column: 1,
                part: "fields.x.type")
        ) { try FieldConversion(typeName: "integer", defaultValue: nil, field: "x") }
    }
}
