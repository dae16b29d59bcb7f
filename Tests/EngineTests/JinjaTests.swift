import Foundation
import Testing
@testable import Engine

/// The Jinja interpreter one construct at a time. The cases in
/// Fixtures/chat-templates/jinja-unit-cases.json carry jinja2's own output (written by
/// scripts/make_chat_template_fixtures.py); the rest pin errors and API behaviour.
@Suite struct JinjaTests {
    static let now = Date(timeIntervalSince1970: 1_772_892_309) // 2026-03-07 14:05:09 UTC

    func render(_ source: String, _ context: [String: JinjaValue] = [:]) throws -> String {
        try JinjaTemplate(source).render(context, now: Self.now)
    }

    @Test func constructsRenderLikeJinja2() throws {
        let url = try #require(Bundle.module.url(forResource: "jinja-unit-cases", withExtension: "json", subdirectory: "Fixtures/chat-templates"))
        guard case .array(let cases) = try JinjaValue.parseJSON(try String(contentsOf: url, encoding: .utf8)) else {
            Issue.record("no cases")
            return
        }
        #expect(cases.count >= 25)
        for case .object(let c) in cases {
            guard case .string(let name)? = c["name"], case .string(let source)? = c["template"],
                  case .object(let context)? = c["context"], case .string(let expected)? = c["expected"] else {
                Issue.record("malformed case")
                continue
            }
            var variables: [String: JinjaValue] = [:]
            for (k, v) in context.pairs { variables[k] = v }
            do {
                let text = try render(source, variables)
                #expect(Array(text.utf8) == Array(expected.utf8), "\(name): \(text.debugDescription) vs jinja2 \(expected.debugDescription)")
            } catch {
                Issue.record("\(name): threw \(error)")
            }
        }
    }

    /// Seeded random templates (Fixtures/chat-templates/jinja-random-cases.json): the same text as
    /// jinja2 wherever jinja2 renders one, or a refusal — never a different text, and never a text
    /// where jinja2 raised.
    @Test func randomTemplates() throws {
        let url = try #require(Bundle.module.url(forResource: "jinja-random-cases", withExtension: "json", subdirectory: "Fixtures/chat-templates"))
        guard case .object(let root) = try JinjaValue.parseJSON(try String(contentsOf: url, encoding: .utf8)),
              case .object(let contextObject)? = root["context"], case .array(let cases)? = root["cases"] else {
            Issue.record("malformed jinja-random-cases.json")
            return
        }
        var context: [String: JinjaValue] = [:]
        for (k, v) in contextObject.pairs { context[k] = v }
        var equal = 0, refused = 0
        for case .object(let c) in cases {
            guard case .string(let source)? = c["template"] else { continue }
            let result = Result { try JinjaTemplate(source).render(context, now: Self.now) }
            switch (result, c["expected"]) {
            case (.success(let text), .string(let expected)?):
                #expect(Array(text.utf8) == Array(expected.utf8), "\(source): \(text.debugDescription) vs jinja2 \(expected.debugDescription)")
                equal += 1
            case (.success(let text), _):
                Issue.record("\(source): jinja2 raised \(c["error"]?.pythonString ?? "?") but Whetstone rendered \(text.debugDescription)")
            case (.failure, .string?):
                refused += 1
            case (.failure, _):
                break
            }
        }
        #expect(cases.count > 1500)
        // Refusals where jinja2 renders are allowed (slices of literals jinja2 folds to undefined,
        // `%` formatting); keep them rare.
        #expect(refused * 50 < equal, "\(refused) refusals against \(equal) equal renderings")
    }

    @Test func whitespaceControl() throws {
        #expect(try render("{% if true %}\nx\n{% endif %}\ny") == "x\ny")
        #expect(try render("  {{ 'a' }}\n") == "  a")
        #expect(try render("a\n    {%- if true %} b{% endif %}") == "a b")
        #expect(try render("{{ 'a' -}}\n\n  b") == "ab")
        #expect(try render("x  {#- c #}\ny") == "xy")
    }

    @Test func loopVariablesAndNamespace() throws {
        #expect(try render("{% for x in 'ab' %}{{ loop.index0 }}{{ x }}{% if loop.last %}!{% endif %}{% endfor %}") == "0a1b!")
        #expect(try render("{% set ns = namespace(n=0) %}{% for x in [1, 2, 3] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}") == "6")
        #expect(try render("{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }},{% endfor %}") == "3,7,")
    }

    @Test func undefinedBehavesLikeJinja2sDefault() throws {
        #expect(try render("[{{ missing }}]{{ missing is defined }}{{ missing|length }}{% for x in missing %}x{% endfor %}") == "[]False0")
        #expect(try render("{{ d.nokey }}|{{ d.nokey is defined }}", ["d": ["k": 1]]) == "|False")
        // An attribute of an undefined value, or arithmetic with one, is an error in jinja2 too.
        #expect(throws: JinjaError.undefined(message: "'missing' is undefined", line: 1)) { try render("{{ missing.attr }}") }
        #expect(throws: JinjaError.self) { try render("{{ missing + 'x' }}") }
    }

    @Test func raiseExceptionNamesItsMessageAndLine() throws {
        #expect(throws: JinjaError.raised(message: "roles must alternate", line: 3)) {
            try render("a\n\n{{ raise_exception('roles must alternate') }}")
        }
    }

    @Test func constructsOutsideTheSubsetAreNamedWithTheirLine() throws {
        #expect(throws: JinjaError.unsupported(construct: "the filter 'wordwrap'", line: 2)) { try JinjaTemplate("x\n{{ s|wordwrap }}") }
        #expect(throws: JinjaError.unsupported(construct: "the test 'escaped'", line: 1)) { try JinjaTemplate("{{ s is escaped }}") }
        #expect(throws: JinjaError.unsupported(construct: "the {% extends %} statement", line: 4)) { try JinjaTemplate("\n\n\n{% extends 'base' %}") }
        #expect(throws: JinjaError.unsupported(construct: "a recursive for loop", line: 1)) { try JinjaTemplate("{% for x in y recursive %}{% endfor %}") }
        #expect(throws: JinjaError.unsupported(construct: "{% raw %}", line: 2)) { try JinjaTemplate("\n{% raw %}x{% endraw %}") }
        #expect(throws: JinjaError.unsupported(construct: "printf-style string formatting with %", line: 1)) { try render("{{ '%s' % 1 }}") }
        #expect(throws: JinjaError.unsupported(construct: "str.format()", line: 1)) { try render("{{ '{}'.format(1) }}") }
        let description = JinjaError.unsupported(construct: "the filter 'wordwrap'", line: 2).description
        #expect(description.contains("line 2") && description.contains("wordwrap") && description.contains("--template"))
    }

    @Test func syntaxErrorsNameTheirLine() throws {
        #expect(throws: JinjaError.syntax(message: "the template ends inside a block; expected one of {% else %}, {% endfor %}", line: 2)) {
            try JinjaTemplate("a\n{% for x in y %}")
        }
        #expect(throws: JinjaError.self) { try JinjaTemplate("{{ 1 + }}") }
        #expect(throws: JinjaError.self) { try JinjaTemplate("{% endif %}") }
        #expect(throws: JinjaError.self) { try JinjaTemplate("{{ x") }
    }

    @Test func typeErrorsAreErrorsNotText() throws {
        #expect(throws: JinjaError.type(message: "can only concatenate str (not \"int\") to str", line: 1)) { try render("{{ 'a' + 1 }}") }
        #expect(throws: JinjaError.self) { try render("{{ missing|tojson }}") }
        #expect(throws: JinjaError.self) { try render("{% for x in 3 %}{% endfor %}") }
        #expect(throws: JinjaError.self) { try render("{% set x = [] %}{{ x.append(1) }}") }
    }

    @Test func jsonKeepsKeyOrderAndNumberKinds() throws {
        let v = try JinjaValue.parseJSON(#"{"z": 1, "a": 1.0, "m": [true, null, "\u00e9\ud83d\ude42"]}"#)
        #expect(try render("{{ v|tojson }}", ["v": v]) == #"{"z": 1, "a": 1.0, "m": [true, null, "é🙂"]}"#)
        #expect(JinjaValue.pythonFloatRepr(1e16) == "1e+16")
        #expect(JinjaValue.pythonFloatRepr(1e15) == "1000000000000000.0")
        #expect(JinjaValue.pythonFloatRepr(0.0001) == "0.0001")
        #expect(JinjaValue.pythonFloatRepr(0.00001) == "1e-05")
        #expect(JinjaValue.pythonFloatRepr(-2.5) == "-2.5")
    }
}
