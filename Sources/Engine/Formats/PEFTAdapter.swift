import CBLAS
import Foundation

public enum PEFTAdapterError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case mismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read the adapter \(path): \(reason)"
        case let .unsupported(path, reason): return "adapter \(path): \(reason)"
        case let .mismatch(path, reason): return "adapter \(path) does not fit this model: \(reason); use the base model it was trained on"
        }
    }
}

/// A LoRA adapter in Hugging Face PEFT's layout: `adapter_config.json` (peft_type LORA, r, lora_alpha,
/// lora_dropout, target_modules, …) and `adapter_model.safetensors` whose tensors are named
/// `base_model.model.<module path>.lora_A.weight` (`[r, in]`) and `….lora_B.weight` (`[out, r]`),
/// the adapter name stripped as `save_pretrained` does. For Gemma 3 / Llama the module paths are
/// `model.layers.N.self_attn.{q,k,v,o}_proj` and `model.layers.N.mlp.{gate,up,down}_proj`.
public struct PEFTAdapter: Sendable {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"
    public static let prefix = "base_model.model."

    public var configuration: LoRAConfiguration
    public var baseModel: String?
    /// Keyed by module path (`model.layers.0.self_attn.q_proj`): A `[r, in]`, B `[out, r]`.
    public var modules: [String: (a: Tensor, b: Tensor)]

    public init(configuration: LoRAConfiguration, baseModel: String?, modules: [String: (a: Tensor, b: Tensor)]) {
        self.configuration = configuration
        self.baseModel = baseModel
        self.modules = modules
    }

    /// The adapter of trained `LoRALinear` layers (their parameter names are module paths + `.lora_A.weight`).
    public init(configuration: LoRAConfiguration, baseModel: String?, layers: [LoRALinear]) {
        var modules: [String: (a: Tensor, b: Tensor)] = [:]
        for layer in layers {
            let module = String(layer.a.name.dropLast(".lora_A.weight".count))
            modules[module] = (layer.a.value, layer.b.value)
        }
        self.init(configuration: configuration, baseModel: baseModel, modules: modules)
    }

    public var scale: Float { configuration.alpha / Float(configuration.rank) }

    /// Writes both files (each atomically) into `folder`.
    public func save(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafetensorsWriter()
        for module in modules.keys.sorted() {
            guard let pair = modules[module] else { continue }
            writer.add(Self.prefix + module + ".lora_A.weight", pair.a)
            writer.add(Self.prefix + module + ".lora_B.weight", pair.b)
        }
        writer.metadata = ["format": "pt"]
        try writer.write(to: folder.appendingPathComponent(Self.weightsFile))
        let config: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM",
            "r": configuration.rank, "lora_alpha": Double(configuration.alpha), "lora_dropout": Double(configuration.dropout),
            "target_modules": configuration.targets.map(\.rawValue),
            "bias": "none", "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true,
            "use_rslora": false, "use_dora": false, "modules_to_save": NSNull(), "revision": NSNull(),
            "base_model_name_or_path": baseModel.map { $0 as Any } ?? NSNull(),
        ]
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: folder.appendingPathComponent(Self.configFile), options: .atomic)
    }

    /// Reads a PEFT LoRA adapter folder.
    public static func load(from folder: URL) throws -> PEFTAdapter {
        let path = folder.path
        let configURL = folder.appendingPathComponent(configFile)
        guard let data = try? Data(contentsOf: configURL),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw PEFTAdapterError.unreadable(path: path, reason: "\(configFile) is missing or not a JSON object")
        }
        guard (json["peft_type"] as? String)?.uppercased() == "LORA" else {
            throw PEFTAdapterError.unsupported(path: path, reason: "peft_type is \(json["peft_type"] ?? "missing"); only LORA adapters are supported")
        }
        for key in ["use_dora", "use_rslora", "fan_in_fan_out"] where (json[key] as? Bool) == true {
            throw PEFTAdapterError.unsupported(path: path, reason: "\(key) is true; plain LoRA only")
        }
        if let bias = json["bias"] as? String, bias != "none" {
            throw PEFTAdapterError.unsupported(path: path, reason: "bias is \"\(bias)\"; only \"none\" is supported")
        }
        guard let rank = (json["r"] as? NSNumber)?.intValue, rank > 0,
              let alpha = (json["lora_alpha"] as? NSNumber)?.floatValue, alpha > 0 else {
            throw PEFTAdapterError.unreadable(path: path, reason: "r and lora_alpha must be positive numbers")
        }
        if let patterns = json["rank_pattern"] as? [String: Any], !patterns.isEmpty {
            throw PEFTAdapterError.unsupported(path: path, reason: "rank_pattern is set; one rank for all modules only")
        }
        if let patterns = json["alpha_pattern"] as? [String: Any], !patterns.isEmpty {
            throw PEFTAdapterError.unsupported(path: path, reason: "alpha_pattern is set; one alpha for all modules only")
        }
        let names: [String]
        if let list = json["target_modules"] as? [String] { names = list } else if let one = json["target_modules"] as? String {
            names = [one]
        } else { names = [] }
        let targets = names.compactMap { LoRATarget(name: $0) }
        let dropout = (json["lora_dropout"] as? NSNumber)?.floatValue ?? 0
        let weights: SafetensorsFile
        do {
            weights = try SafetensorsFile(path: folder.appendingPathComponent(weightsFile).path)
        } catch {
            throw PEFTAdapterError.unreadable(path: path, reason: "\(weightsFile): \(error)")
        }
        var modules: [String: (a: Tensor, b: Tensor)] = [:]
        for name in weights.tensorNames where name.hasSuffix(".lora_A.weight") {
            var module = String(name.dropLast(".lora_A.weight".count))
            let bName = module + ".lora_B.weight"
            guard weights.contains(bName) else {
                throw PEFTAdapterError.unreadable(path: path, reason: "\(name) has no matching lora_B")
            }
            let a = try weights.floatTensor(name), b = try weights.floatTensor(bName)
            guard a.rank == 2, b.rank == 2, a.shape[0] == rank, b.shape[1] == rank else {
                throw PEFTAdapterError.unreadable(path: path, reason: "\(module): A \(a.shape) and B \(b.shape) do not have rank \(rank)")
            }
            if module.hasPrefix(prefix) { module = String(module.dropFirst(prefix.count)) }
            modules[module] = (a, b)
        }
        guard !modules.isEmpty else {
            throw PEFTAdapterError.unreadable(path: path, reason: "\(weightsFile) holds no lora_A / lora_B tensors")
        }
        return PEFTAdapter(configuration: LoRAConfiguration(rank: rank, alpha: alpha, dropout: max(0, min(dropout, 0.99)),
                                                            targets: targets.isEmpty ? LoRATarget.allCases : targets),
                           baseModel: json["base_model_name_or_path"] as? String, modules: modules)
    }

    /// `scale · B · A`, `[out, in]`, added into `weight` (`[out, in]`, fp32).
    public func addDelta(module: String, into weight: Tensor) throws {
        guard let (a, b) = modules[module] else { return }
        guard weight.rank == 2, weight.isContiguous, a.shape[1] == weight.shape[1], b.shape[0] == weight.shape[0] else {
            throw PEFTAdapterError.mismatch(path: module, reason: "A \(a.shape), B \(b.shape) against a weight of \(weight.shape)")
        }
        let out = weight.shape[0], inp = weight.shape[1], r = a.shape[0]
        let ac = a.contiguous(), bc = b.contiguous()
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(out), Int32(inp), Int32(r), scale,
                    bc.basePointer, Int32(r), ac.basePointer, Int32(inp), 1, weight.basePointer, Int32(inp))
    }
}
