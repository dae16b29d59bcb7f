import Foundation
import Testing
import TestSupport
@testable import Engine

/// Real chat templates (Fixtures/chat-templates/*.jinja, sources in its README) rendered by
/// Whetstone's Jinja subset must equal, byte for byte, what Python jinja2 with Hugging Face's
/// settings produced (the *.cases.json files, written by scripts/make_chat_template_fixtures.py);
/// a case jinja2 refused must be refused too.
@Suite struct ChatTemplateRenderingTests {
    static let templateNames = [
        "llama-3.1-instruct", "llama-3.2-instruct", "qwen2.5-instruct", "qwen3", "mistral-7b-instruct-v0.3",
        "mistral-nemo-instruct-2407", "phi-3-mini-4k-instruct", "phi-3.5-mini-instruct", "smollm2-instruct", "gemma-3-it",
        "llama-3.3-instruct", "gemma-2-it", "smollm3", "deepseek-r1-distill-qwen",
    ]

    /// 2026-03-07 14:05:09 UTC, the script's fixed clock for strftime_now.
    static let now = Date(timeIntervalSince1970: 1_772_892_309)

    static func fixture(_ name: String, _ ext: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/chat-templates"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func string(_ v: JinjaValue?) -> String? {
        if case .string(let s)? = v { return s }
        return nil
    }

    @Test(arguments: templateNames)
    func rendersLikeJinja2(_ name: String) throws {
        let source = try Self.fixture(name, "jinja")
        guard case .object(let file) = try JinjaValue.parseJSON(try Self.fixture(name + ".cases", "json")),
              case .array(let cases)? = file["cases"] else {
            Issue.record("\(name).cases.json has no cases")
            return
        }
        #expect(cases.count >= 5)
        let template = try ModelChatTemplate(source: source, bosToken: Self.string(file["bos_token"]), eosToken: Self.string(file["eos_token"]))
        for case .object(let c) in cases {
            let caseName = Self.string(c["name"]) ?? "?"
            guard case .array(let messages)? = c["messages"] else { Issue.record("\(name)/\(caseName): no messages"); continue }
            var tools: [JinjaValue]? = nil
            if case .array(let t)? = c["tools"] { tools = t }
            var extra: [String: JinjaValue] = [:]
            if case .object(let e)? = c["extra"] { for (k, v) in e.pairs { extra[k] = v } }
            let addGenerationPrompt = c["add_generation_prompt"] == .bool(true)
            let result = Result { try template.render(messages: messages, tools: tools, addGenerationPrompt: addGenerationPrompt, extra: extra, now: Self.now) }
            if let expected = Self.string(c["expected"]) {
                switch result {
                case .success(let text):
                    // Bytes, not Swift's String ==, which treats canonically equivalent texts as equal.
                    #expect(Array(text.utf8) == Array(expected.utf8), "\(name)/\(caseName) differs from jinja2")
                    if Array(text.utf8) != Array(expected.utf8) { Self.reportFirstDifference(text, expected, "\(name)/\(caseName)") }
                case .failure(let error):
                    Issue.record("\(name)/\(caseName): jinja2 renders it but Whetstone threw \(error)")
                }
            } else if case .object(let error)? = c["error"] {
                switch result {
                case .success(let text):
                    Issue.record("\(name)/\(caseName): jinja2 raised \(error.pairs.map { "\($0.1.pythonString)" }) but Whetstone rendered \(text.debugDescription)")
                case .failure(let thrown):
                    if Self.string(error["kind"]) == "raised" {
                        #expect(thrown as? JinjaError == .raised(message: Self.string(error["message"]) ?? "", line: (thrown as? JinjaError).map(Self.line) ?? 0),
                                "\(name)/\(caseName): \(thrown)")
                    }
                }
            } else {
                Issue.record("\(name)/\(caseName): neither expected text nor error")
            }
        }
    }

    /// Opt-in: WHET_JINJA_SWEEP=DIR (written by `make_chat_template_fixtures.py --sweep SRC DIR`,
    /// e.g. over llama.cpp's models/templates) checks every template there: each case either equals
    /// jinja2, or the template is refused with `JinjaError.unsupported` — never a different text,
    /// never text where jinja2 refused.
    @Test func sweep() throws {
        guard let dir = ProcessInfo.processInfo.environment["WHET_JINJA_SWEEP"] else { return }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jinja") }.sorted()
        var equal = 0, unsupported: [String] = []
        for file in files {
            let name = String(file.dropLast(".jinja".count))
            let source = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            guard case .object(let f) = try JinjaValue.parseJSON(try String(contentsOfFile: dir + "/" + name + ".cases.json", encoding: .utf8)),
                  case .array(let cases)? = f["cases"] else { Issue.record("\(name): no cases"); continue }
            let template: ModelChatTemplate
            do {
                template = try ModelChatTemplate(source: source, bosToken: Self.string(f["bos_token"]), eosToken: Self.string(f["eos_token"]))
            } catch let e as JinjaError {
                if case .unsupported = e { unsupported.append("\(name): \(e)"); continue }
                Issue.record("\(name): \(e)")
                continue
            }
            var refused = false
            for case .object(let c) in cases {
                let caseName = Self.string(c["name"]) ?? "?"
                guard case .array(let messages)? = c["messages"] else { continue }
                var tools: [JinjaValue]? = nil
                if case .array(let t)? = c["tools"] { tools = t }
                var extra: [String: JinjaValue] = [:]
                if case .object(let e)? = c["extra"] { for (k, v) in e.pairs { extra[k] = v } }
                let result = Result { try template.render(messages: messages, tools: tools, addGenerationPrompt: c["add_generation_prompt"] == .bool(true), extra: extra, now: Self.now) }
                switch (result, Self.string(c["expected"])) {
                case (.success(let text), let expected?):
                    if Array(text.utf8) != Array(expected.utf8) { Self.reportFirstDifference(text, expected, "\(name)/\(caseName)") }
                case (.success, nil):
                    Issue.record("\(name)/\(caseName): jinja2 refused it but Whetstone rendered it")
                case (.failure(let e as JinjaError), _?):
                    if case .unsupported = e { refused = true; unsupported.append("\(name)/\(caseName): \(e)") } else { Issue.record("\(name)/\(caseName): \(e)") }
                case (.failure(let e), _?):
                    Issue.record("\(name)/\(caseName): \(e)")
                case (.failure, nil):
                    break
                }
            }
            if !refused { equal += 1 }
        }
        print("jinja sweep: \(equal) of \(files.count) templates equal to jinja2 on every case; refused as unsupported:\n" + unsupported.joined(separator: "\n"))
    }

    @Test(.enabled(if: TestModels.hasGemma)) func specialTokensFromGGUFAndTokenizerConfig() throws {
        if let url = try TestModels.gemma() {
            let file = try GGUFFile(path: url.path)
            let tokens = ChatTemplate.SpecialTokens(gguf: file.metadata)
            #expect(tokens == ChatTemplate.SpecialTokens(bos: "<bos>", eos: "<eos>", tokenizerAddsBOS: true))
            // The default model carries no template: auto falls back on the architecture.
            #expect(try ChatTemplate.resolve("auto", gguf: file.metadata).kind == .gemma)
        }
        let config = try JinjaValue.parseJSON(#"""
        {"add_bos_token": true, "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
         "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "{{ bos_token }}D"}]}
        """#)
        #expect(ChatTemplate.SpecialTokens(tokenizerConfig: config) == .init(bos: "<s>", eos: "</s>", tokenizerAddsBOS: true))
        #expect(ChatTemplate.embeddedTemplate(tokenizerConfig: config) == "{{ bos_token }}D")
        let chat = try ChatTemplate.resolve("auto", architecture: "llama", embeddedTemplate: ChatTemplate.embeddedTemplate(tokenizerConfig: config),
                                            specialTokens: .init(tokenizerConfig: config))
        #expect(try chat.render([.user("x")]) == "D")
    }

    static func line(_ e: JinjaError) -> Int {
        switch e {
        case .syntax(_, let l), .unsupported(_, let l), .undefined(_, let l), .type(_, let l), .raised(_, let l): return l
        case .json: return 0
        }
    }

    static func reportFirstDifference(_ a: String, _ b: String, _ label: String) {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        let i = (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
        func around(_ s: [Unicode.Scalar]) -> String {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: s[max(0, i - 40)..<min(s.count, i + 40)])
            return String(v).debugDescription
        }
        Issue.record("\(label): first difference at scalar \(i): ours \(around(x)) vs jinja2 \(around(y))")
    }

    @Test func everyTemplateHasAtLeastFiveCasesThatRender() throws {
        for name in Self.templateNames {
            guard case .object(let file) = try JinjaValue.parseJSON(try Self.fixture(name + ".cases", "json")),
                  case .array(let cases)? = file["cases"] else { Issue.record("\(name): no cases"); continue }
            let rendered = cases.filter { if case .object(let c) = $0 { return c["expected"] != nil } else { return false } }
            #expect(rendered.count >= 5, "\(name)")
        }
    }

    @Test func chatTemplateAutoUsesTheModelsOwnTemplateAndDropsTheLeadingBOS() throws {
        let source = try Self.fixture("llama-3.1-instruct", "jinja")
        let tokens = ChatTemplate.SpecialTokens(bos: "<|begin_of_text|>", eos: "<|eot_id|>")
        let chat = try ChatTemplate.resolve("auto", architecture: "llama", embeddedTemplate: source, specialTokens: tokens)
        #expect(chat.kind == .jinja)
        #expect(chat.endOfTurnText == "<|eot_id|>")
        let text = try chat.render([.system("Be brief."), .user("Hi")])
        #expect(text.hasPrefix("<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>"))
        #expect(text.hasSuffix("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"))
        // Kept when the tokenizer does not add it.
        let keeping = try ChatTemplate.resolve("auto", architecture: "llama", embeddedTemplate: source,
                                               specialTokens: .init(bos: "<|begin_of_text|>", eos: "<|eot_id|>", tokenizerAddsBOS: false))
        #expect(try keeping.render([.user("Hi")]).hasPrefix("<|begin_of_text|><|start_header_id|>system"))
    }

    @Test func chatTemplateFallsBackAndNamesWhatItCannotRender() throws {
        // No embedded template: the architecture's built-in kind, as before.
        #expect(try ChatTemplate.resolve("auto", architecture: "gemma3", embeddedTemplate: nil, specialTokens: .init()).kind == .gemma)
        // A built-in kind chosen by name wins over the embedded template.
        #expect(try ChatTemplate.resolve("chatml", architecture: "llama", embeddedTemplate: "{{ x }}", specialTokens: .init()).kind == .chatml)
        // jinja requires a template.
        #expect(throws: GenerationError.noChatTemplate(architecture: "llama")) {
            try ChatTemplate.resolve("jinja", architecture: "llama", embeddedTemplate: nil, specialTokens: .init())
        }
        // A template outside the subset is an error naming the construct and its line, not a wrong prompt.
        #expect(throws: JinjaError.unsupported(construct: "the {% include %} statement", line: 2)) {
            try ChatTemplate.resolve("auto", architecture: "llama", embeddedTemplate: "hello\n{% include 'x.jinja' %}", specialTokens: .init())
        }
        // Models whose template no built-in kind matches (Phi-3) now chat with their own.
        let phi = try ChatTemplate.resolve("auto", architecture: "phi3", embeddedTemplate: try Self.fixture("phi-3-mini-4k-instruct", "jinja"),
                                           specialTokens: .init(bos: "<s>", eos: "<|endoftext|>"))
        #expect(try phi.render([.user("Hi")]) == "<|user|>\nHi<|end|>\n<|assistant|>\n")
        #expect(phi.endOfTurnText == "<|end|>")
        // The Gemma 3 template renders what the built-in gemma kind renders.
        let gemma = try ChatTemplate.resolve("auto", architecture: "gemma3", embeddedTemplate: try Self.fixture("gemma-3-it", "jinja"),
                                             specialTokens: .init(bos: "<bos>", eos: "<eos>"))
        let conversation: [ChatMessage] = [.system("Be brief."), .user("  Hi \n"), .assistant("Hello."), .user("Capital?")]
        #expect(try gemma.render(conversation) == (try ChatTemplate(.gemma).render(conversation)))
        #expect(gemma.endOfTurnText == "<end_of_turn>")
    }
}
