import Foundation
import Testing
import TestSupport
@testable import Engine

/// `whet export --merge` on Gemma 3 270M with a small hand-made PEFT adapter: the exported
/// safetensors hold Hugging Face names, the adapted matrix equals base + scale·B·A (computed here
/// with plain loops), other matrices equal the dequantized GGUF tensors, norms lose GGUF's "+1".
@Suite struct ModelExportTests {
    @Test(.enabled(if: TestModels.hasGemma)) func mergedExportMatchesBasePlusAdapterUnderHuggingFaceNames() throws {
        let gemma = try #require(try TestModels.gemma())
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whet-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let adapterFolder = folder.appendingPathComponent("adapter")
        let outFolder = folder.appendingPathComponent("merged")

        // q_proj of layer 0: [1024, 640]; rank 2, alpha 4 → scale 2.
        let rank = 2, rows = 1024, cols = 640
        var rng = SeededGenerator(seed: 11)
        let aValues = (0..<(rank * cols)).map { _ in Float.random(in: -0.05...0.05, using: &rng) }
        let bValues = (0..<(rows * rank)).map { _ in Float.random(in: -0.05...0.05, using: &rng) }
        let module = "model.layers.0.self_attn.q_proj"
        let adapter = PEFTAdapter(configuration: LoRAConfiguration(rank: rank, alpha: 4, dropout: 0, targets: [.q]), baseModel: nil,
                                  modules: [module: (try Tensor(shape: [rank, cols], values: aValues),
                                                     try Tensor(shape: [rows, rank], values: bValues))])
        try adapter.save(to: adapterFolder)

        let run = try TestModels.runWhet(["export", "--merge", "--model", gemma.path, "--adapter", adapterFolder.path,
                                          "--out", outFolder.path, "--dtype", "f32", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["tensors"] as? Int == 236)

        let exported = try SafetensorsFile(path: outFolder.appendingPathComponent("model.safetensors").path)
        #expect(exported.tensorNames.count == 236)
        #expect(!exported.tensorNames.contains("lm_head.weight")) // tied to the embedding
        let gguf = try GGUFFile(path: gemma.path)
        func base(_ name: String) throws -> [Float] {
            let t = try QuantizedMatrix(tensor: try gguf.tensor(name)).dequantized()
            return Array(UnsafeBufferPointer(start: t.basePointer, count: t.count))
        }
        func stored(_ name: String) throws -> [Float] {
            let t = try exported.floatTensor(name).contiguous()
            return Array(UnsafeBufferPointer(start: t.basePointer, count: t.count))
        }

        // Adapted: base + (alpha / r) · B · A.
        let q = try stored(module + ".weight")
        let q0 = try base("blk.0.attn_q.weight")
        #expect(q.count == rows * cols)
        var worst: Float = 0
        for r in 0..<rows {
            for c in 0..<cols {
                var delta: Float = 0
                for k in 0..<rank { delta += bValues[r * rank + k] * aValues[k * cols + c] }
                worst = max(worst, abs(q[r * cols + c] - (q0[r * cols + c] + 2 * delta)))
            }
        }
        #expect(worst < 1e-5)
        // The adapter really changed it (not a copy of the base).
        #expect(zip(q, q0).contains { abs($0 - $1) > 1e-4 })

        // Not adapted: the dequantized GGUF tensor as is.
        #expect(try stored("model.layers.1.mlp.down_proj.weight") == (try base("blk.1.ffn_down.weight")))
        #expect(try stored("model.layers.0.self_attn.k_proj.weight") == (try base("blk.0.attn_k.weight")))
        // Norms: Hugging Face's Gemma RMSNorm multiplies by (1 + w); GGUF stores 1 + w.
        #expect(try stored("model.layers.0.input_layernorm.weight") == (try base("blk.0.attn_norm.weight")).map { $0 - 1 })
        #expect(try stored("model.norm.weight") == (try base("output_norm.weight")).map { $0 - 1 })

        let configData = try Data(contentsOf: outFolder.appendingPathComponent("config.json"))
        let config = try #require(try JSONSerialization.jsonObject(with: configData) as? [String: Any])
        #expect(config["model_type"] as? String == "gemma3_text")
        #expect(config["num_hidden_layers"] as? Int == 18)
        #expect(config["hidden_size"] as? Int == 640)
        #expect(config["head_dim"] as? Int == 256)
        #expect(config["num_key_value_heads"] as? Int == 1)
        #expect(config["tie_word_embeddings"] as? Bool == true)
        #expect((config["layer_types"] as? [String])?[5] == "full_attention")
        #expect((config["layer_types"] as? [String])?[0] == "sliding_attention")
        #expect(config["query_pre_attn_scalar"] as? Double == 256)
        #expect(config["torch_dtype"] as? String == "float32")

        // A folder that is not an adapter: one line, non-zero exit.
        let bad = try TestModels.runWhet(["export", "--merge", "--model", gemma.path, "--adapter", folder.path, "--out", outFolder.path])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("adapter_config.json"))
    }
}
