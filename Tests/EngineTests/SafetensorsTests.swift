import Foundation
import Testing
import TestSupport
@testable import Engine

private func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whet-st-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// A safetensors file assembled by hand (header JSON + data), independent of `SafetensorsWriter`.
private func handMade(header: String, data: [UInt8]) -> [UInt8] {
    let json = Array(header.utf8)
    var out: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
    return out + json + data
}

private func floatBytes(_ v: [Float]) -> [UInt8] { v.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } } }

@Suite struct SafetensorsTests {
    @Test func readsAHandMadeFile() throws {
        let header = #"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},"# +
            #""w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#
        let bytes = handMade(header: header, data: floatBytes([1, 2, 3, 4, 5, 6, 0.5, -0.5, 2]))
        let url = try temporaryDirectory().appendingPathComponent("m.safetensors")
        try Data(bytes).write(to: url)
        let file = try SafetensorsFile(path: url.path)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensorNames == ["w", "b"])
        let w = try file.floatTensor("w")
        #expect(w.shape == [2, 3])
        #expect(w.toArray() == [1, 2, 3, 4, 5, 6])
        #expect(try file.floatTensor("b").toArray() == [0.5, -0.5, 2])
        #expect(throws: SafetensorsError.missingTensor(path: url.path, name: "nope")) { try file.floatTensor("nope") }
    }

    @Test func readsF16BF16AndIntegersWrittenByTheWriter() throws {
        let values: [Float] = [0, 1, -2, 0.5, 65504, -0.25, 3.140625, 1e-3]
        let t = try Tensor(shape: [2, 4], values: values)
        var writer = SafetensorsWriter()
        writer.add("f32", t)
        writer.add("f16", t, as: .f16)
        writer.add("bf16", t, as: .bf16)
        writer.metadata = ["step": "7"]
        let url = try temporaryDirectory().appendingPathComponent("rt.safetensors")
        try writer.write(to: url)
        let file = try SafetensorsFile(path: url.path)
        #expect(file.metadata == ["step": "7"])
        #expect(try file.floatTensor("f32").toArray() == values)
        #expect(try file.info("f16").dtype == .f16)
        // F16 keeps these values to a relative error below 2^-11, BF16 below 2^-8.
        for (a, b) in zip(try file.floatTensor("f16").toArray(), values) { #expect(abs(a - b) <= abs(b) * 0.000_5) }
        for (a, b) in zip(try file.floatTensor("bf16").toArray(), values) { #expect(abs(a - b) <= abs(b) * 0.004) }
        #expect(throws: SafetensorsError.self) { try file.integers("f32") }

        let header = #"{"ids":{"dtype":"I64","shape":[3],"data_offsets":[0,24]},"small":{"dtype":"I32","shape":[2],"data_offsets":[24,32]}}"#
        var data: [UInt8] = []
        for v in [Int64(1), -2, 3] { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
        for v in [Int32(-7), 9] { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
        let intURL = try temporaryDirectory().appendingPathComponent("ints.safetensors")
        try Data(handMade(header: header, data: data)).write(to: intURL)
        let ints = try SafetensorsFile(path: intURL.path)
        #expect(try ints.integers("ids") == [1, -2, 3])
        #expect(try ints.integers("small") == [-7, 9])
        #expect(throws: SafetensorsError.self) { try ints.floatTensor("ids") }
    }

    @Test(.enabled(if: TestModels.hasMiniLM)) func corruptFilesAreTypedErrors() throws {
        let dir = try temporaryDirectory()
        func open(_ bytes: [UInt8]) throws -> SafetensorsFile {
            let url = dir.appendingPathComponent("c.safetensors")
            try Data(bytes).write(to: url)
            return try SafetensorsFile(path: url.path)
        }
        let good = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let full = handMade(header: good, data: floatBytes([1, 2]))
        // Every truncation fails cleanly.
        for cut in 0..<full.count {
            #expect(throws: SafetensorsError.self) { _ = try open(Array(full[0..<cut])) }
        }
        #expect(throws: SafetensorsError.self) { _ = try open(handMade(header: "{not json", data: [])) }
        #expect(throws: SafetensorsError.self) { _ = try open(handMade(header: "[1,2]", data: [])) }
        let past = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        #expect(throws: SafetensorsError.self) { _ = try open(handMade(header: past, data: floatBytes([1, 2]))) }
        let wrongSize = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        #expect(throws: SafetensorsError.self) { _ = try open(handMade(header: wrongSize, data: floatBytes([1, 2]))) }
        let badType = #"{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#
        #expect(throws: SafetensorsError.self) { _ = try open(handMade(header: badType, data: floatBytes([1, 2]))) }
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(throws: SafetensorsError.self) { _ = try open(handMade(header: overlap, data: floatBytes([1, 2]))) }
        var huge: [UInt8] = []
        withUnsafeBytes(of: UInt64.max.littleEndian) { huge += $0 }
        #expect(throws: SafetensorsError.self) { _ = try open(huge + [0x7B]) }
        do {
            _ = try open(Array(full[0..<(full.count - 1)]))
        } catch {
            #expect("\(error)".contains("truncated"))
        }
    }

    @Test func shardedFolderThroughIndex() throws {
        let dir = try temporaryDirectory()
        var a = SafetensorsWriter(), b = SafetensorsWriter()
        a.add("x", Tensor.vector([1, 2]))
        b.add("y", Tensor.vector([3]))
        try a.write(to: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        try b.write(to: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        let index = #"{"metadata":{},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        let weights = try SafetensorsWeights(folder: dir)
        #expect(weights.tensorNames == ["x", "y"])
        #expect(try weights.floatTensor("y").toArray() == [3])
        #expect(weights.parameterCount == 3)
        #expect(throws: SafetensorsError.self) { try weights.floatTensor("x", shape: [3]) }
        #expect(throws: SafetensorsError.noWeights(folder: dir.appendingPathComponent("none").path)) {
            try SafetensorsWeights(folder: dir.appendingPathComponent("none"))
        }
    }

    @Test func realMiniLMWeights() throws {
        let folder = try #require(try TestModels.miniLM())
        let weights = try SafetensorsWeights(folder: folder)
        #expect(try weights.info("embeddings.word_embeddings.weight").shape == [30522, 384])
        #expect(try weights.info("embeddings.position_ids").dtype == .i64)
        #expect(try weights.files[0].integers("embeddings.position_ids").prefix(4) == [0, 1, 2, 3])
        #expect(weights.parameterCount > 22_000_000)
    }
}

@Suite struct HFModelConfigTests {
    @Test(.enabled(if: TestModels.hasMiniLM)) func miniLMConfig() throws {
        let folder = try #require(try TestModels.miniLM())
        let c = try HFModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        #expect(c.modelType == "bert")
        #expect(c.architecture == .encoderOnly)
        #expect(c.hiddenSize == 384 && c.numHiddenLayers == 6 && c.numAttentionHeads == 12 && c.headDim == 32)
        #expect(c.intermediateSize == 1536 && c.vocabSize == 30522 && c.maxPositionEmbeddings == 512)
        #expect(c.normEps == 1e-12 && c.typeVocabSize == 2 && c.hiddenAct == "gelu")
        #expect(c.ignoredKeys.isEmpty)
    }

    @Test func gpt2NamesMapOntoTheCommonFields() throws {
        let json = #"{"model_type":"gpt2","n_embd":64,"n_layer":2,"n_head":4,"n_positions":128,"vocab_size":100,"#
            + #""activation_function":"gelu_new","layer_norm_epsilon":1e-5,"bos_token_id":50256,"eos_token_id":50256}"#
        let c = try HFModelConfig(json: Data(json.utf8))
        #expect(c.architecture == .decoderOnly)
        #expect(c.hiddenSize == 64 && c.numHiddenLayers == 2 && c.numAttentionHeads == 4 && c.intermediateSize == 256)
        #expect(c.maxPositionEmbeddings == 128 && c.tieWordEmbeddings && c.eosTokenIds == [50256])
    }

    @Test func llamaWithGQAAndRopeScaling() throws {
        let json = #"{"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":8,"#
            + #""num_key_value_heads":2,"intermediate_size":128,"vocab_size":300,"max_position_embeddings":256,"#
            + #""rms_norm_eps":1e-5,"rope_theta":500000.0,"hidden_act":"silu","tie_word_embeddings":true,"#
            + #""rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"#
            + #""original_max_position_embeddings":64},"eos_token_id":[1,2],"some_future_key":3}"#
        let c = try HFModelConfig(json: Data(json.utf8))
        #expect(c.numKeyValueHeads == 2 && c.headDim == 8 && c.ropeTheta == 500_000)
        #expect(c.ropeScaling == .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64))
        #expect(c.eosTokenIds == [1, 2])
        #expect(c.ignoredKeys == ["some_future_key"])
    }

    @Test func missingAndUnknownKeysAreClearErrors() throws {
        #expect(throws: ModelConfigError.missingKey(path: "config.json", key: "model_type")) {
            try HFModelConfig(json: Data(#"{"hidden_size":8}"#.utf8))
        }
        #expect(throws: ModelConfigError.missingKey(path: "config.json", key: "num_attention_heads")) {
            try HFModelConfig(json: Data(#"{"model_type":"bert","hidden_size":8,"num_hidden_layers":1}"#.utf8))
        }
        #expect(throws: ModelConfigError.self) { try HFModelConfig(json: Data(#"{"model_type":"t5"}"#.utf8)) }
        #expect(throws: ModelConfigError.wrongType(path: "config.json", key: "hidden_size", expected: "an integer")) {
            try HFModelConfig(json: Data(#"{"model_type":"bert","hidden_size":"big"}"#.utf8))
        }
        let llama = #"{"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":8,"#
            + #""intermediate_size":128,"vocab_size":300,"max_position_embeddings":256,"rope_scaling":{"type":"yarn","factor":4.0}}"#
        do {
            _ = try HFModelConfig(json: Data(llama.utf8))
            Issue.record("yarn scaling should be refused")
        } catch {
            #expect("\(error)".contains("yarn"))
        }
        #expect(throws: ModelConfigError.self) { try HFModelConfig(json: Data("not json".utf8)) }
    }

    @Test func llama3ScalingKeepsHighFrequenciesAndDividesLowOnes() {
        let scaling = RopeScaling.llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192)
        let scaled = scaling.apply(to: [1.0, 1e-5])
        #expect(scaled[0] == 1.0)
        #expect(abs(scaled[1] - 1e-5 / 8) < 1e-12)
    }
}
