import Foundation
import Testing
@testable import Engine

@Suite struct PromptTemplateTests {
    @Test func gemmaTemplateFoldsTheSystemTextIntoTheFirstUserTurn() throws {
        let text = try ChatTemplate(.gemma).render([
            .system("Be brief."),
            .user("  Hi \n"),
            .assistant("Hello."),
            .user("Capital of France?"),
        ])
        // Gemma's official template: system text + blank line opens the first user turn; contents trimmed.
        #expect(text == """
        <start_of_turn>user
        Be brief.

        Hi<end_of_turn>
        <start_of_turn>model
        Hello.<end_of_turn>
        <start_of_turn>user
        Capital of France?<end_of_turn>
        <start_of_turn>model

        """)
    }

    @Test func gemmaRejectsTurnsThatDoNotAlternate() {
        #expect(throws: GenerationError.self) { try ChatTemplate(.gemma).render([.user("a"), .user("b")]) }
        #expect(throws: GenerationError.self) { try ChatTemplate(.gemma).render([.assistant("a")]) }
        #expect(throws: GenerationError.self) { try ChatTemplate(.gemma).render([.system("only")]) }
    }

    @Test func otherFormats() throws {
        #expect(try ChatTemplate(.chatml).render([.system("S"), .user("U")])
                == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n")
        #expect(try ChatTemplate(.llama3).render([.user("U")])
                == "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        #expect(try ChatTemplate(.none).render([.system("S"), .user("U")]) == "S\n\nU")
    }

    @Test func autoUsesTheEmbeddedTemplateThenTheArchitecture() throws {
        #expect(try ChatTemplate.resolve("auto", architecture: "gemma3", embeddedTemplate: nil).kind == .gemma)
        #expect(try ChatTemplate.resolve("auto", architecture: "llama", embeddedTemplate: "{% for m in messages %}<|im_start|>{{ m.role }}").kind == .chatml)
        #expect(try ChatTemplate.resolve("gemma", architecture: "llama", embeddedTemplate: nil).kind == .gemma)
        #expect(throws: GenerationError.noChatTemplate(architecture: "bert")) {
            try ChatTemplate.resolve("auto", architecture: "bert", embeddedTemplate: nil)
        }
        #expect(throws: GenerationError.unknownChatTemplate("vicuna")) {
            try ChatTemplate.resolve("vicuna", architecture: "gemma3", embeddedTemplate: nil)
        }
    }

    @Test func variablesAreSubstitutedOnceAndMissingOnesNamed() throws {
        #expect(try PromptVariables.substitute("Hi {{name}}, {{ name }}! {{x}}", ["name": "Ada", "x": "{{name}}"])
                == "Hi Ada, Ada! {{name}}")
        #expect(try PromptVariables.substitute("set {{}} and {{ not a name }} stay", [:]) == "set {{}} and {{ not a name }} stay")
        #expect(PromptVariables.names(in: "{{a}} {{b_1}} {{a}}") == ["a", "b_1"])
        do {
            _ = try PromptVariables.substitute("Summarise {{article}}", [:])
            Issue.record("expected an error")
        } catch let error as GenerationError {
            #expect(error == .missingVariable(name: "article"))
            #expect(error.description.contains("{{article}}") && error.description.contains("--var article="))
        }
    }

    private var sample: PromptFile {
        PromptFile(template: "Translate: {{text}}", system: "You translate {{language}}.",
                   examples: [FewShotExample(input: "Translate: cat", output: "chat")],
                   variables: ["language": "to French", "text": "dog"], chatTemplate: "gemma",
                   sampler: SamplerSettings(temperature: 0.3, topK: 10, seed: 4), maxTokens: 64, stop: ["\n"], name: "fr")
    }

    @Test func promptFileRendersSystemFewShotAndVariables() throws {
        let text = try sample.render(with: ChatTemplate(.gemma), overriding: ["text": "bird"])
        #expect(text == "<start_of_turn>user\nYou translate to French.\n\nTranslate: cat<end_of_turn>\n"
                + "<start_of_turn>model\nchat<end_of_turn>\n<start_of_turn>user\nTranslate: bird<end_of_turn>\n<start_of_turn>model\n")
        let plain = try sample.render(with: ChatTemplate(.none))
        #expect(plain == "You translate to French.\n\nTranslate: cat\nchat\n\nTranslate: dog")
    }

    @Test func promptFileRoundTripsAtomically() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whet-prompt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("fr.json")
        try sample.save(to: url)
        var edited = sample
        edited.sampler.temperature = 0.9
        try edited.save(to: url)
        #expect(try PromptFile.load(from: url) == edited)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["fr.json"])
    }

    @Test func minimalPromptFilesTakeDefaultsAndBadOnesSayWhy() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whet-prompt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ text: String) throws -> URL {
            let url = folder.appendingPathComponent("\(UUID().uuidString).json")
            try Data(text.utf8).write(to: url)
            return url
        }
        let minimal = try PromptFile.load(from: write(#"{"template": "Hello"}"#))
        #expect(minimal.chatTemplate == "auto" && minimal.maxTokens == 256 && minimal.sampler == SamplerSettings())

        func failure(_ text: String) throws -> String {
            do { _ = try PromptFile.load(from: try write(text)); return "" } catch let e as GenerationError { return e.description }
        }
        #expect(try failure(#"{"system": "x"}"#).contains("missing key 'template'"))
        #expect(try failure(#"{"template": "x", "sampler": {"top_p": 3}}"#).contains("top_p"))
        #expect(try failure(#"{"template": "x", "max_tokens": "ten"}"#).contains("max_tokens"))
        #expect(try failure(#"{"template": "x", "chat_template": "vicuna"}"#).contains("vicuna"))
        #expect(try failure("{not json").contains("not valid JSON"))
        #expect(throws: GenerationError.self) { try PromptFile.load(from: folder.appendingPathComponent("absent.json")) }
    }
}
