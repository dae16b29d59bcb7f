import Foundation
import Testing
@testable import Engine

// Merged export for every family: a tiny family GGUF (Fixtures/families) + a random PEFT adapter
// → `ModelExport.mergedHuggingFace` → the exported folder reloaded through the safetensors path
// gives the logits of the GGUF with the adapter merged (W + (α/r)·B·A) at load.

private func familyGGUF(_ name: String) throws -> URL {
    guard let dir = Bundle.module.url(forResource: "families", withExtension: nil, subdirectory: "Fixtures") else {
        throw CocoaError(.fileNoSuchFile)
    }
    return dir.appendingPathComponent(name)
}

/// A rank-2 adapter on every projection of every layer, in transformers' module names (Phi-3's fused).
private func randomAdapter(for decoder: TransformerDecoder, seed: UInt64) throws -> PEFTAdapter {
    let c = decoder.configuration
    var rng = SeededGenerator(seed: seed)
    let rank = 2
    func pair(_ out: Int, _ inp: Int) throws -> (a: Tensor, b: Tensor) {
        (try Tensor(shape: [rank, inp], values: (0..<(rank * inp)).map { _ in Float.random(in: -0.3...0.3, using: &rng) }),
         try Tensor(shape: [out, rank], values: (0..<(out * rank)).map { _ in Float.random(in: -0.3...0.3, using: &rng) }))
    }
    let fused = c.architecture == "phi3"
    var modules: [String: (a: Tensor, b: Tensor)] = [:]
    for layer in 0..<c.layerCount {
        let p = "model.layers.\(layer)."
        let d = c.embeddingLength, ff = c.feedForwardLength
        if fused {
            modules[p + "self_attn.qkv_proj"] = try pair(c.queryWidth + c.keyWidth + c.valueWidth, d)
            modules[p + "mlp.gate_up_proj"] = try pair(2 * ff, d)
        } else {
            modules[p + "self_attn.q_proj"] = try pair(c.queryWidth, d)
            modules[p + "self_attn.k_proj"] = try pair(c.keyWidth, d)
            modules[p + "self_attn.v_proj"] = try pair(c.valueWidth, d)
            modules[p + "mlp.gate_proj"] = try pair(ff, d)
            modules[p + "mlp.up_proj"] = try pair(ff, d)
        }
        modules[p + "self_attn.o_proj"] = try pair(d, c.attentionWidth)
        modules[p + "mlp.down_proj"] = try pair(d, ff)
    }
    return PEFTAdapter(configuration: LoRAConfiguration(rank: rank, alpha: 4, dropout: 0), baseModel: nil, modules: modules)
}

private let exportPrompt: [Int32] = [1, 5, 9, 200, 33, 77, 12, 300, 41, 7, 99, 150]

@Suite("Merged export for every family")
struct ModelExportFamiliesTests {
    @Test("GGUF + adapter → merged HF folder → reloaded logits equal the GGUF's with the adapter (1e-3 of the spread; Q8_0 1e-2)",
          arguments: ["llama-bpe-f32", "llama-spm-f32", "qwen2-f32", "qwen3-f32", "phi3-f32", "gemma2-f32", "gemma3-f32", "llama-bpe-q8_0"])
    func mergedExportReloads(model: String) throws {
        let url = try familyGGUF(model + ".gguf")
        let base = try TransformerDecoder(path: url.path)
        let adapter = try randomAdapter(for: base, seed: 7)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("whet-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try adapter.save(to: root.appendingPathComponent("adapter"))

        let merged = try base.merging(adapter)
        let expected = Array(try merged.makeSession(contextLength: 64).evaluate(exportPrompt))
        let unadapted = Array(try base.makeSession(contextLength: 64).evaluate(exportPrompt))

        let out = root.appendingPathComponent("merged")
        let report = try ModelExport.mergedHuggingFace(model: url, adapter: root.appendingPathComponent("adapter"), to: out, dtype: .f32)
        #expect(report.tensors > 0)
        let reloaded = try TransformerDecoder(folder: out)
        #expect(reloaded.configuration.architecture == base.configuration.architecture)
        #expect(reloaded.tiedOutput == base.tiedOutput)
        #expect(reloaded.blocks.map(\.slidingWindow) == base.blocks.map(\.slidingWindow))
        let logits = Array(try reloaded.makeSession(contextLength: 64).evaluate(exportPrompt))
        let error = relativeLogitError(logits, expected.map(Double.init))
        let moved = relativeLogitError(unadapted, expected.map(Double.init))
        print("\(model): exported + reloaded vs GGUF + adapter, max |Δ| / spread = \(error) (the adapter moves them by \(moved))")
        // Q8_0: the GGUF side multiplies its unadapted Q8_0 tensors (the tied output head) with
        // activations rounded to 8 bits per block, as llama.cpp does; the export holds the dequantized
        // values, which run in fp32. That rounding, not the merge, is the measured 3.2e-3.
        let tolerance = model.hasSuffix("q8_0") ? 1e-2 : 1e-3
        #expect(error <= tolerance, "\(model): \(error)")
        #expect(moved > 1e-2, "the adapter should change the logits")

        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as? [String: Any])
        let family = base.configuration.architecture
        let expectedType = ["gemma3": "gemma3_text"][family] ?? family
        #expect(config["model_type"] as? String == expectedType)
        #expect((config["architectures"] as? [String])?.first?.hasSuffix("ForCausalLM") == true)
        #expect(config["tie_word_embeddings"] as? Bool == base.tiedOutput)
        let names = try SafetensorsFile(path: out.appendingPathComponent("model.safetensors").path).tensorNames
        if family == "phi3" {
            #expect(names.contains("model.layers.0.self_attn.qkv_proj.weight") && names.contains("model.layers.0.mlp.gate_up_proj.weight"))
        }
        if family == "qwen2" { #expect(names.contains("model.layers.0.self_attn.q_proj.bias")) }
        if family == "qwen3" || family == "gemma3" { #expect(names.contains("model.layers.0.self_attn.q_norm.weight")) }
    }

    @Test("an adapter module the model does not have is refused")
    func unknownModule() throws {
        let base = try TransformerDecoder(path: try familyGGUF("qwen2-f32.gguf").path)
        let a = try Tensor(shape: [2, 64], values: [Float](repeating: 0.1, count: 128))
        let b = try Tensor(shape: [64, 2], values: [Float](repeating: 0.1, count: 128))
        let adapter = PEFTAdapter(configuration: LoRAConfiguration(rank: 2, alpha: 4, dropout: 0), baseModel: nil,
                                  modules: ["model.layers.9.self_attn.q_proj": (a, b)])
        #expect(throws: PEFTAdapterError.self) { try base.merging(adapter) }
    }
}
