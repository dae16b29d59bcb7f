import Foundation
import Testing
import TestSupport

/// `whet tokenize` run as a user would: the built binary on the real model.
@Suite struct TokenizeCommandTests {
    struct Output: Decodable {
        let ids: [Int32]
        let pieces: [String]
    }

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String)? {
        guard let model = try TestModels.gemma() else { return nil }
        guard TestModels.whetBinary() != nil else {
            // runWhet reports the missing binary as an error, so CI can never skip silently.
            if TestModels.isCI { return try TestModels.runWhet(["--version"]) }
            return nil
        }
        return try TestModels.runWhet(["tokenize", "--model", model.path] + arguments)
    }

    @Test(.enabled(if: TestModels.hasGemma)) func jsonHasLlamaCppIdsAndPieces() throws {
        guard let result = try run(["--json", "<start_of_turn>user\nHi<end_of_turn>\n"]) else { return }
        #expect(result.status == 0, "\(result.stderr)")
        let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
        #expect(output.ids == [2, 105, 2364, 107, 10979, 106, 107])
        #expect(output.pieces == ["<bos>", "<start_of_turn>", "user", "\n", "Hi", "<end_of_turn>", "\n"])
        // Exactly one JSON object on stdout.
        #expect(result.stdout.split(separator: "\n").count == 1)
    }

    @Test(.enabled(if: TestModels.hasGemma)) func noBOSAndNoSpecialFlags() throws {
        guard let result = try run(["--no-bos", "--no-special", "--json", "<end_of_turn> naïve 🎉"]) else { return }
        #expect(result.status == 0, "\(result.stderr)")
        let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
        #expect(output.ids.first != 2 && !output.ids.contains(106))
        #expect(output.pieces.joined() == "<end_of_turn> naïve 🎉")
    }

    /// A byte-level BPE GGUF (the llama-bpe and qwen2 fixtures): the ids llama-tokenize gave, in
    /// both modes (Fixtures/families/tokenize.jsonl).
    @Test func bpeModelsGiveLlamaTokenizeIds() throws {
        guard TestModels.whetBinary() != nil || TestModels.isCI else { return }
        let folder = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/families")
        let lines = try String(contentsOf: folder.appendingPathComponent("tokenize.jsonl"), encoding: .utf8).split(separator: "\n")
        var checked = 0
        for line in lines {
            let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let model = row["model"] as? String, ["llama-bpe-f32.gguf", "qwen2-f32.gguf"].contains(model),
                  let text = row["text"] as? String, let ids = row["ids"] as? [Int],
                  let addSpecial = row["add_special"] as? Bool, let parseSpecial = row["parse_special"] as? Bool,
                  text.count < 80, !text.hasPrefix("-") else { continue }
            var arguments = ["tokenize", "--model", folder.appendingPathComponent(model).path, "--json"]
            if !addSpecial { arguments.append("--no-bos") }
            if !parseSpecial { arguments.append("--no-special") }
            let result = try TestModels.runWhet(arguments + ["--", text])
            #expect(result.status == 0, "\(result.stderr)")
            let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
            #expect(output.ids == ids.map(Int32.init), "\(model) \(text.debugDescription) special \(addSpecial)/\(parseSpecial)")
            checked += 1
            if checked >= 24 { break }
        }
        #expect(checked >= 16)
    }

    @Test func aMissingModelIsAOneLineError() throws {
        guard TestModels.whetBinary() != nil else { return }
        let result = try TestModels.runWhet(["tokenize", "--model", "/nonexistent/model.gguf", "--json", "x"])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
