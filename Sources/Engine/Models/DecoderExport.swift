import CBLAS
import Foundation

/// What `TransformerDecoder.exportHuggingFace` wrote.
public struct HuggingFaceExport: Sendable, Equatable {
    public var folder: URL
    public var tensors: Int
    public var parameters: Int
    public var bytes: Int
}

/// Why a model cannot be written as a Hugging Face folder.
public enum DecoderExportError: Error, CustomStringConvertible, Equatable {
    case notExpressible(architecture: String, reason: String)

    public var description: String {
        switch self {
        case let .notExpressible(architecture, reason):
            return "this \(architecture) model cannot be written as a Hugging Face checkpoint: \(reason); export the base model without it or convert it with llama.cpp's tools"
        }
    }
}

// MARK: - llama.cpp's q/k row order

/// llama.cpp's converter permutes llama's q/k rows (per head: rows (2j, 2j + 1) ← transformers' rows
/// (j, j + d/2)) so that RoPE on adjacent pairs (NORM) equals transformers' rotate_half. A model
/// whose layout is `.normal` holds the permuted rows; transformers expects the others.
enum RopeRowOrder {
    /// `engineRow → huggingFaceRow` for `heads` heads of `headDim` rows.
    static func huggingFaceRow(_ row: Int, headDim: Int) -> Int {
        let head = row / headDim, r = row % headDim, half = headDim / 2
        return head * headDim + (r % 2) * half + r / 2
    }

    /// `t` (`[rows, cols]` or `[rows]`) with its rows reordered; `toHuggingFace` undoes llama.cpp's permutation.
    static func reorder(_ t: Tensor, headDim: Int, toHuggingFace: Bool) -> Tensor {
        let src = t.contiguous()
        let rows = src.shape[0], cols = src.count / max(rows, 1)
        let out = Tensor(shape: src.shape)
        for row in 0..<rows {
            let hf = huggingFaceRow(row, headDim: headDim)
            let (from, to) = toHuggingFace ? (row, hf) : (hf, row)
            (out.basePointer + to * cols).update(from: src.basePointer + from * cols, count: cols)
        }
        return out
    }
}

// MARK: - LoRA adapters merged at load

extension TransformerDecoder {
    private var architectureType: (any HFDecoderArchitecture.Type)? {
        Self.huggingFaceArchitectures.first { $0.name == configuration.architecture }
    }

    /// The module paths (PEFT, transformers' names) an engine matrix of layer `layer` is part of,
    /// with its rows in the module's output: the matrix's own (`q_proj`) and the fused one (`qkv_proj`).
    private func modules(layer: Int) -> [(keyPath: WritableKeyPath<MergedBlock, QuantizedMatrix>, names: [(String, Range<Int>)], heads: Int?)] {
        let c = configuration, p = "model.layers.\(layer)."
        let q = c.queryWidth, k = c.keyWidth, v = c.valueWidth, ff = c.feedForwardLength
        let permuted = c.ropeLayout == .normal
        return [
            (\.query, [(p + "self_attn.q_proj", 0..<q), (p + "self_attn.qkv_proj", 0..<q)], permuted ? c.headCount : nil),
            (\.key, [(p + "self_attn.k_proj", 0..<k), (p + "self_attn.qkv_proj", q..<(q + k))], permuted ? c.kvHeadCount : nil),
            (\.value, [(p + "self_attn.v_proj", 0..<v), (p + "self_attn.qkv_proj", (q + k)..<(q + k + v))], nil),
            (\.output, [(p + "self_attn.o_proj", 0..<c.embeddingLength)], nil),
            (\.gate, [(p + "mlp.gate_proj", 0..<ff), (p + "mlp.gate_up_proj", 0..<ff)], nil),
            (\.up, [(p + "mlp.up_proj", 0..<ff), (p + "mlp.gate_up_proj", ff..<(2 * ff))], nil),
            (\.down, [(p + "mlp.down_proj", 0..<c.embeddingLength)], nil),
        ]
    }

    /// This model with a PEFT LoRA adapter merged: each adapted matrix becomes F32
    /// W + (α/r)·B·A (W dequantized once); the others stay as they are and shared. Adapter rows are in
    /// transformers' order, so for a llama GGUF the q/k deltas are permuted as llama.cpp permutes the
    /// weights; a fused module (`qkv_proj`, `gate_up_proj`) is split over the engine's parts.
    public func merging(_ adapter: PEFTAdapter) throws -> TransformerDecoder {
        var known = Set<String>()
        var merged: [DecoderBlock] = []
        for (layer, block) in blocks.enumerated() {
            var m = MergedBlock(block)
            for entry in modules(layer: layer) {
                let base = m[keyPath: entry.keyPath]
                var weight: Tensor?
                for (module, rows) in entry.names {
                    guard let (a, b) = adapter.modules[module] else { continue }
                    known.insert(module)
                    guard a.rank == 2, b.rank == 2, a.shape[1] == base.cols, b.shape[0] >= rows.upperBound, a.shape[0] == b.shape[1] else {
                        throw PEFTAdapterError.mismatch(path: module, reason: "A \(a.shape), B \(b.shape) against a weight of [\(rows.count), \(base.cols)]")
                    }
                    var delta = Self.delta(a: a, b: b, rows: rows, scale: adapter.scale)
                    if entry.heads != nil { delta = RopeRowOrder.reorder(delta, headDim: configuration.keyLength, toHuggingFace: false) }
                    let w = weight ?? base.dequantized()
                    let n = w.count
                    let wp = w.basePointer, dp = delta.basePointer
                    for i in 0..<n { wp[i] += dp[i] }
                    weight = w
                }
                if let weight { m[keyPath: entry.keyPath] = try QuantizedMatrix(float32: weight) }
            }
            merged.append(m.block)
        }
        if let unknown = adapter.modules.keys.filter({ !known.contains($0) }).sorted().first {
            throw PEFTAdapterError.mismatch(path: unknown, reason: "this \(blocks.count)-layer \(configuration.architecture) model has no module \(unknown)")
        }
        return replacingBlocks(merged)
    }

    /// scale · B[rows] · A as `[rows.count, in]`.
    private static func delta(a: Tensor, b: Tensor, rows: Range<Int>, scale: Float) -> Tensor {
        let ac = a.contiguous(), bc = b.contiguous()
        let r = ac.shape[0], inputs = ac.shape[1]
        let out = Tensor(shape: [rows.count, inputs])
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows.count), Int32(inputs), Int32(r), scale,
                    bc.basePointer + rows.lowerBound * r, Int32(r), ac.basePointer, Int32(inputs), 0, out.basePointer, Int32(inputs))
        return out
    }
}

/// A block's matrices as writable properties (the merge replaces some of them).
struct MergedBlock {
    var query, key, value, output, gate, up, down: QuantizedMatrix
    let original: DecoderBlock

    init(_ b: DecoderBlock) {
        (query, key, value, output, gate, up, down) = (b.query, b.key, b.value, b.output, b.gate, b.up, b.down)
        original = b
    }

    var block: DecoderBlock {
        let b = original
        return DecoderBlock(attentionNorm: b.attentionNorm, query: query, key: key, value: value, queryBias: b.queryBias,
                            keyBias: b.keyBias, valueBias: b.valueBias, queryNorm: b.queryNorm, keyNorm: b.keyNorm, output: output,
                            postAttentionNorm: b.postAttentionNorm, feedForwardNorm: b.feedForwardNorm, gate: gate, up: up,
                            down: down, postFeedForwardNorm: b.postFeedForwardNorm, slidingWindow: b.slidingWindow)
    }
}

// MARK: - Hugging Face export

extension TransformerDecoder {
    private func exportArchitecture() throws -> any HFDecoderArchitecture.Type {
        guard let arch = architectureType else {
            throw DecoderExportError.notExpressible(architecture: configuration.architecture, reason: "no Hugging Face mapping is known for it")
        }
        return arch
    }

    /// The weights under transformers' names of the architecture, dequantized to fp32 (with any
    /// merged LoRA deltas in them): llama's q/k rows back in transformers' order, Gemma's norms
    /// without the +1, Phi-3's projections fused as it stores them, no `lm_head.weight` when tied.
    public func huggingFaceTensors() throws -> [(name: String, tensor: Tensor)] {
        let arch = try exportArchitecture()
        let c = configuration
        let names = HFDecoderNames(wiring: arch.wiring)
        let permuted = c.ropeLayout == .normal
        func norm(_ t: Tensor) -> Tensor {
            let src = t.contiguous()
            let out = Tensor(shape: src.shape)
            for i in 0..<src.count { out.basePointer[i] = src.basePointer[i] - names.normOffset }
            return out
        }
        func rows(_ m: QuantizedMatrix) -> Tensor { m.dequantized() }
        func qk(_ t: Tensor) -> Tensor { permuted ? RopeRowOrder.reorder(t, headDim: c.keyLength, toHuggingFace: true) : t }
        func stack(_ parts: [Tensor]) -> Tensor {
            let cols = parts[0].shape.count == 2 ? parts[0].shape[1] : 1
            let total = parts.reduce(0) { $0 + $1.shape[0] }
            let out = Tensor(shape: cols == 1 && parts[0].shape.count == 1 ? [total] : [total, cols])
            var offset = 0
            for p in parts {
                let s = p.contiguous()
                (out.basePointer + offset).update(from: s.basePointer, count: s.count)
                offset += s.count
            }
            return out
        }
        var list: [(String, Tensor)] = [("model.embed_tokens.weight", tokenEmbedding.dequantized())]
        if !tiedOutput { list.append(("lm_head.weight", output.dequantized())) }
        for (i, b) in blocks.enumerated() {
            let p = names.prefix(i)
            list.append((p + names.attentionNorm, norm(b.attentionNorm)))
            let q = qk(rows(b.query)), k = qk(rows(b.key)), v = rows(b.value)
            if arch.wiring.fusedQueryKeyValue {
                list.append((p + "self_attn.qkv_proj.weight", stack([q, k, v])))
            } else {
                list += [(p + "self_attn.q_proj.weight", q), (p + "self_attn.k_proj.weight", k), (p + "self_attn.v_proj.weight", v)]
            }
            if let qb = b.queryBias, let kb = b.keyBias, let vb = b.valueBias {
                guard !arch.wiring.fusedQueryKeyValue else {
                    throw DecoderExportError.notExpressible(architecture: c.architecture, reason: "fused qkv_proj has no bias in transformers")
                }
                list += [(p + "self_attn.q_proj.bias", qk(qb.contiguous())), (p + "self_attn.k_proj.bias", qk(kb.contiguous())),
                         (p + "self_attn.v_proj.bias", vb.contiguous())]
            } else if b.queryBias != nil || b.keyBias != nil || b.valueBias != nil {
                throw DecoderExportError.notExpressible(architecture: c.architecture, reason: "only some of the q/k/v biases are present")
            }
            if let qn = b.queryNorm, let kn = b.keyNorm {
                list += [(p + "self_attn.q_norm.weight", norm(qk(qn))), (p + "self_attn.k_norm.weight", norm(qk(kn)))]
            }
            list.append((p + "self_attn.o_proj.weight", rows(b.output)))
            if let n = b.postAttentionNorm, let name = names.postAttentionNorm { list.append((p + name, norm(n))) }
            list.append((p + names.feedForwardNorm, norm(b.feedForwardNorm)))
            if arch.wiring.fusedGateUp {
                list.append((p + "mlp.gate_up_proj.weight", stack([rows(b.gate), rows(b.up)])))
            } else {
                list += [(p + "mlp.gate_proj.weight", rows(b.gate)), (p + "mlp.up_proj.weight", rows(b.up))]
            }
            list.append((p + "mlp.down_proj.weight", rows(b.down)))
            if let n = b.postFeedForwardNorm, let name = names.postFeedForwardNorm { list.append((p + name, norm(n))) }
        }
        list.append(("model.norm.weight", norm(outputNorm)))
        return list
    }

    /// Llama 3's `rope_scaling` (llama3) whose formula gives `factors` (llama.cpp's `rope_freqs`),
    /// tried with Llama 3's low/high factors 1/4 and the original contexts of the released models.
    private func llama3Scaling(_ factors: [Float]) -> [String: Any]? {
        let c = configuration
        let half = c.keyLength / 2
        guard factors.count == half, let factor = factors.max() else { return nil }
        let plain = (0..<half).map { pow(Double(c.globalRopeBase), -2.0 * Double($0) / Double(c.keyLength)) }
        for original in [8192, 4096, 2048, 16384, 32768, 131072] {
            let scaling = RopeScaling.llama3(factor: Double(factor), lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: original)
            let scaled = scaling.apply(to: plain)
            let fits = zip(zip(plain, scaled), factors).allSatisfy { pair, f in abs(pair.0 / pair.1 - Double(f)) <= 1e-4 * Double(f) }
            if fits {
                return ["rope_type": "llama3", "factor": HFConfigJSON.decimal(factor), "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                        "original_max_position_embeddings": original]
            }
        }
        return nil
    }

    /// transformers' `config.json` of this model.
    public func huggingFaceConfig(dtype: SafetensorsWriter.DType, bos: Int32?, eos: Int32?, pad: Int32?) throws -> [String: Any] {
        let arch = try exportArchitecture()
        let c = configuration, w = arch.wiring, hf = arch.huggingFace
        func refuse(_ reason: String) -> DecoderExportError { .notExpressible(architecture: c.architecture, reason: reason) }
        var config: [String: Any] = [
            "architectures": [hf.className], "model_type": hf.modelTypes[0],
            "vocab_size": c.vocabularySize, "hidden_size": c.embeddingLength, "intermediate_size": c.feedForwardLength,
            "num_hidden_layers": c.layerCount, "num_attention_heads": c.headCount, "num_key_value_heads": c.kvHeadCount,
            "head_dim": c.keyLength, "rms_norm_eps": HFConfigJSON.decimal(c.rmsEpsilon), "max_position_embeddings": c.contextLength,
            "rope_theta": HFConfigJSON.decimal(c.globalRopeBase), "tie_word_embeddings": tiedOutput, "attention_dropout": 0.0,
            "torch_dtype": dtype == .f32 ? "float32" : dtype == .f16 ? "float16" : "bfloat16",
            "dtype": dtype == .f32 ? "float32" : dtype == .f16 ? "float16" : "bfloat16",
        ]
        guard c.keyLength == c.valueLength else { throw refuse("key width \(c.keyLength) differs from value width \(c.valueLength)") }
        if let factors = c.ropeFrequencyFactors {
            guard let scaling = llama3Scaling(factors) else { throw refuse("its rope_freqs factors are not Llama 3's rope scaling") }
            config["rope_scaling"] = scaling
        } else if c.ropeFrequencyScale != 1 {
            config["rope_scaling"] = ["rope_type": "linear", "factor": HFConfigJSON.decimal(c.ropeFrequencyScale)]
        } else {
            config["rope_scaling"] = NSNull()
        }
        let sliding = blocks.map(\.slidingWindow)
        if w.gemmaNorms {
            config["hidden_activation"] = "gelu_pytorch_tanh"
            config["query_pre_attn_scalar"] = Int(Double(1 / (c.attentionScale * c.attentionScale)).rounded())
            config["attn_logit_softcapping"] = c.attentionSoftcap.map { HFConfigJSON.decimal($0) as Any } ?? NSNull()
            config["final_logit_softcapping"] = c.finalLogitSoftcap.map { HFConfigJSON.decimal($0) as Any } ?? NSNull()
            config["attention_bias"] = false
            config["layer_types"] = sliding.map { $0 ? "sliding_attention" : "full_attention" }
            config["sliding_window"] = c.slidingWindow
            if let firstGlobal = sliding.firstIndex(of: false) { config["sliding_window_pattern"] = firstGlobal + 1 }
            if c.localRopeBase != c.globalRopeBase {
                guard w.queryKeyNorms else { throw refuse("transformers' \(hf.modelTypes[0]) has one RoPE base, this model two") }
                config["rope_local_base_freq"] = HFConfigJSON.decimal(c.localRopeBase)
            }
        } else {
            config["hidden_act"] = "silu"
            guard abs(c.attentionScale * Float(c.keyLength).squareRoot() - 1) < 1e-6 else { throw refuse("its attention scale is not 1/√head_dim") }
            guard c.attentionSoftcap == nil, c.finalLogitSoftcap == nil, c.embeddingScale == nil else {
                throw refuse("soft-capping or a scaled embedding is not part of \(hf.className)")
            }
            if sliding.contains(true) {
                guard hf.slidingWindowOnEveryLayer, !sliding.contains(false) else { throw refuse("it slides on some layers only") }
                config["sliding_window"] = c.slidingWindow
            } else {
                config["sliding_window"] = NSNull()
            }
            if hf.attentionBias == .configKey { config["attention_bias"] = blocks.first?.queryBias != nil }
            if hf.attentionBias == .always, blocks.first?.queryBias == nil { throw refuse("\(hf.className) needs q/k/v biases") }
            if hf.attentionBias == .always { config["use_sliding_window"] = false }
            if hf.attentionBias == .never, blocks.first?.queryBias != nil { throw refuse("\(hf.className) has no q/k/v biases") }
            config["mlp_bias"] = false
        }
        if let bos { config["bos_token_id"] = Int(bos) }
        if let eos { config["eos_token_id"] = Int(eos) }
        if let pad { config["pad_token_id"] = Int(pad) }
        return config
    }

    /// Writes `model.safetensors` and `config.json` (each atomically) into `folder`.
    @discardableResult
    public func exportHuggingFace(to folder: URL, dtype: SafetensorsWriter.DType = .bf16, bos: Int32? = nil, eos: Int32? = nil,
                                  pad: Int32? = nil) throws -> HuggingFaceExport {
        let config = try huggingFaceConfig(dtype: dtype, bos: bos, eos: eos, pad: pad)
        let tensors = try huggingFaceTensors()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafetensorsWriter()
        var parameters = 0
        for (name, tensor) in tensors {
            writer.add(name, tensor, as: dtype)
            parameters += tensor.count
        }
        writer.metadata = ["format": "pt", "exported_by": "whetstone"]
        let weights = folder.appendingPathComponent("model.safetensors")
        try writer.write(to: weights)
        try Data(HFConfigJSON.encode(config).utf8).write(to: folder.appendingPathComponent("config.json"), options: .atomic)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: weights.path)[.size] as? Int) ?? 0
        return HuggingFaceExport(folder: folder, tensors: tensors.count, parameters: parameters, bytes: bytes ?? 0)
    }

    /// Special token ids to write into config.json: the GGUF's tokenizer metadata, or the folder's config.
    public var specialTokenIDs: (bos: Int32?, eos: Int32?, pad: Int32?) {
        switch source {
        case .gguf(let f):
            let m = f.metadata
            func id(_ key: String) -> Int32? { m.int(key).flatMap { Int32(exactly: $0) } }
            return (id("tokenizer.ggml.bos_token_id"), id("tokenizer.ggml.eos_token_id"), id("tokenizer.ggml.padding_token_id"))
        case .folder(let url):
            guard let c = try? HFConfigValues(folder: url) else { return (nil, nil, nil) }
            func id(_ key: String) -> Int32? { ((try? c.int(key)) ?? nil).flatMap { Int32(exactly: $0) } }
            return (id("bos_token_id"), id("eos_token_id"), id("pad_token_id"))
        }
    }
}

/// Model export entry points for the command line and the Deploy pane.
public enum ModelExport {
    /// Opens a model (GGUF of any supported architecture, or a Hugging Face folder), merges
    /// `adapter` (PEFT LoRA) when given, and writes that architecture's Hugging Face safetensors +
    /// config.json into `folder`.
    public static func mergedHuggingFace(model url: URL, adapter: URL?, to folder: URL,
                                         dtype: SafetensorsWriter.DType = .bf16) throws -> HuggingFaceExport {
        var model = try TransformerDecoder(path: url.path)
        if let adapter { model = try model.merging(PEFTAdapter.load(from: adapter)) }
        let ids = model.specialTokenIDs
        return try model.exportHuggingFace(to: folder, dtype: dtype, bos: ids.bos, eos: ids.eos, pad: ids.pad)
    }
}

/// config.json text as transformers' strict config classes want it: a float field is written with a
/// decimal point (`30.0`, which JSONSerialization prints as `30` and transformers 5 then refuses as
/// an int), keys sorted, two-space indents.
enum HFConfigJSON {
    /// The shortest decimal that reads back as `value` (`1e-05`, not `9.99999974737875e-06`).
    static func decimal(_ value: Float) -> Double { Double("\(value)") ?? Double(value) }

    static func encode(_ value: Any, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return String(i)
        case let d as Double:
            guard d.isFinite else { return "null" }
            let text = "\(d)"
            return text.contains(".") || text.contains("e") ? text : text + ".0"
        case let s as String:
            let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
            return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
        case let list as [Any]:
            guard !list.isEmpty else { return "[]" }
            return "[\n" + list.map { inner + encode($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case let object as [String: Any]:
            guard !object.isEmpty else { return "{}" }
            return "{\n" + object.keys.sorted().map { key in
                inner + encode(key) + ": " + encode(object[key] ?? NSNull(), indent: inner)
            }.joined(separator: ",\n") + "\n" + indent + "}"
        default: return "null"
        }
    }
}
