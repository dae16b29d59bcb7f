import Foundation
import Testing
import TestSupport
@testable import Engine

// Hugging Face folders of each family (Fixtures/hf-families, scripts/make_family_hf_folders.py) on
// the shared decoder, against transformers' own outputs on them (reference.json).

private struct HFFixtureError: Error, CustomStringConvertible { let description: String }

private func hfFolder(_ name: String) throws -> URL {
    guard let dir = Bundle.module.url(forResource: "hf-families", withExtension: nil, subdirectory: "Fixtures") else {
        throw HFFixtureError(description: "missing fixture folder Fixtures/hf-families")
    }
    return dir.appendingPathComponent(name)
}

private func reference(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: try hfFolder("reference.json"))
    guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let models = root["models"] as? [String: Any], let entry = models[name] as? [String: Any] else {
        throw HFFixtureError(description: "reference.json has no entry \(name)")
    }
    return entry
}

private func numbers(_ value: Any?) -> [Double] { (value as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? [] }

/// max |ours − reference| relative to the spread (max − min) of the reference.
func relativeLogitError(_ ours: [Float], _ reference: [Double]) -> Double {
    guard ours.count == reference.count, let high = reference.max(), let low = reference.min(), high > low else { return .infinity }
    var worst = 0.0
    for (a, b) in zip(ours, reference) { worst = max(worst, abs(Double(a) - b)) }
    return worst / (high - low)
}

let hfFamilyFolders = ["llama", "llama-bf16", "qwen2", "qwen2-f16", "qwen3", "phi3", "gemma2", "gemma3"]

@Suite("Safetensors folders on the decoder engine against transformers")
struct SafetensorsDecoderTests {
    /// Tolerance 1e-4 of the spread for every folder: the reference is fp32 math on the stored values
    /// (BF16/F16 folders included), which is what the engine computes (products in fp32 over the
    /// F16/BF16 weights as stored).
    @Test("last-token logits equal transformers' within 1e-4 of their spread", arguments: hfFamilyFolders)
    func logits(folder: String) throws {
        let entry = try reference(folder)
        let ids = numbers(entry["prompt_ids"]).map { Int32($0) }
        let expected = numbers(entry["logits"])
        let decoder = try TransformerDecoder(folder: try hfFolder(folder))
        #expect(decoder.file == nil)
        let logits = Array(try decoder.makeSession(contextLength: 64).evaluate(ids))
        let error = relativeLogitError(logits, expected)
        print("\(folder): last-token logits vs transformers, max |Δ| / spread = \(error)")
        #expect(error <= 1e-4, "\(folder): \(error)")
    }

    @Test("greedy continuations equal transformers' (while its top-2 gap is at least 1e-3)", arguments: hfFamilyFolders)
    func greedy(folder: String) throws {
        let entry = try reference(folder)
        var ids = numbers(entry["prompt_ids"]).map { Int32($0) }
        let steps = try #require(entry["greedy"] as? [[String: Any]])
        let session = try TransformerDecoder(folder: try hfFolder(folder)).makeSession(contextLength: 64)
        var logits = Array(try session.evaluate(ids))
        for (i, step) in steps.enumerated() {
            let top2 = numbers(step["top2"])
            guard top2.count == 2, top2[0] - top2[1] >= 1e-3 else { break }
            let expected = Int32((step["token"] as? Int) ?? -1)
            let ours = Int32(logits.indices.max { logits[$0] < logits[$1] } ?? -1)
            #expect(ours == expected, "\(folder) step \(i)")
            ids.append(expected)
            logits = Array(try session.evaluate(token: expected))
        }
    }

    @Test("F16 and BF16 weights stay in their stored type; the architecture comes from model_type")
    func storedTypes() throws {
        let bf16 = try TransformerDecoder(folder: try hfFolder("llama-bf16"))
        #expect(bf16.blocks[0].query.type == .bf16)
        #expect(bf16.tokenEmbedding.type == .bf16)
        #expect(bf16.tiedOutput)
        let f16 = try TransformerDecoder(folder: try hfFolder("qwen2-f16"))
        #expect(f16.blocks[1].down.type == .f16)
        #expect(!f16.tiedOutput)
        #expect(f16.blocks[0].queryBias != nil)
        let phi3 = try TransformerDecoder(folder: try hfFolder("phi3"))
        #expect(phi3.configuration.architecture == "phi3")
        #expect(phi3.blocks.allSatisfy(\.slidingWindow) == false) // window 2047 ≥ context 256: never hides a key
        let gemma3 = try TransformerDecoder(folder: try hfFolder("gemma3"))
        #expect(gemma3.blocks.map(\.slidingWindow) == [true, true, false])
        #expect(gemma3.configuration.localRopeBase == 10_000 && gemma3.configuration.globalRopeBase == 1_000_000)
        #expect(try TransformerDecoder(folder: try hfFolder("qwen3")).configuration.keyLength == 32) // sharded folder
    }

    @Test("an unknown model_type is one line naming the supported ones")
    func unknownModelType() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"model_type": "falcon"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        do {
            _ = try TransformerDecoder(folder: dir)
            Issue.record("falcon loaded")
        } catch {
            let message = "\(error)"
            #expect(message.contains("falcon") && message.contains("qwen3") && message.contains("gemma3_text"))
            #expect(!message.contains("\n"))
        }
        // A config.json that lies about the widths: a typed error, no crash.
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: try hfFolder("llama").appendingPathComponent("config.json"))) as? [String: Any] ?? [:]
        config["hidden_size"] = 96
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: try hfFolder("llama").appendingPathComponent("model.safetensors"),
                                         to: dir.appendingPathComponent("model.safetensors"))
        #expect(throws: SafetensorsError.self) { try TransformerDecoder(folder: dir) }
    }

    @Test("LoadedTextModel opens a folder with its tokenizer.json and generates")
    func loadedTextModel() throws {
        let model = try LoadedTextModel.open(try hfFolder("qwen2"), contextLength: 64)
        #expect(model.architecture == "qwen2")
        let ids = try model.encode("Hello world")
        #expect(!ids.isEmpty)
        let logits = Array(try model.decoder.makeSession(contextLength: 64).evaluate(ids))
        #expect(logits.count == 1025 && logits.allSatisfy(\.isFinite))
        #expect(model.textTokenizer.decode(ids, renderSpecial: false).contains("Hello"))
    }

    @Test("whet perplexity, bench and generate run on a Hugging Face folder")
    func commandLine() throws {
        let folder = try hfFolder("qwen3").path
        let text = FileManager.default.temporaryDirectory.appendingPathComponent("whet-ppl-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: text) }
        try Data(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 20).utf8).write(to: text)
        let ppl = try TestModels.runWhet(["perplexity", "--model", folder, "--file", text.path, "--context", "32", "--json"])
        #expect(ppl.status == 0, "\(ppl.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(ppl.stdout.utf8)) as? [String: Any]
        #expect(((report?["perplexity"] as? Double) ?? .nan).isFinite)
        let bench = try TestModels.runWhet(["bench", "--model", folder, "--prompt-tokens", "16", "--gen-tokens", "4", "--repetitions", "1", "--json"])
        #expect(bench.status == 0, "\(bench.stderr)")
        #expect(bench.stdout.contains("tg_tokens_per_second"))
        let gen = try TestModels.runWhet(["generate", "--model", folder, "--prompt", "Hello", "--max-tokens", "3", "--json"])
        #expect(gen.status == 0, "\(gen.stderr)")
        #expect(gen.stdout.contains("\"generated_tokens\":3"))
    }
}
