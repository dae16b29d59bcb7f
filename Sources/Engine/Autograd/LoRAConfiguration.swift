/// A projection of a decoder block that can carry a LoRA adapter, named as PEFT's `target_modules`.
public enum LoRATarget: String, CaseIterable, Codable, Sendable, Comparable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// Accepts the short names (`q`, `gate`) and the module names (`q_proj`, `gate_proj`).
    public init?(name: String) {
        let n = name.trimmingCharacters(in: .whitespaces).lowercased()
        if let t = LoRATarget(rawValue: n) { self = t; return }
        if let t = LoRATarget(rawValue: n + "_proj") { self = t; return }
        return nil
    }

    /// The Hugging Face module path of this projection in layer `layer` (Llama / Gemma layout).
    public func modulePath(layer: Int) -> String {
        switch self {
        case .q, .k, .v, .o: return "model.layers.\(layer).self_attn.\(rawValue)"
        case .gate, .up, .down: return "model.layers.\(layer).mlp.\(rawValue)"
        }
    }

    /// Position in q, k, v, o, gate, up, down (the order adapters are listed and saved in).
    public var order: Int {
        switch self {
        case .q: return 0
        case .k: return 1
        case .v: return 2
        case .o: return 3
        case .gate: return 4
        case .up: return 5
        case .down: return 6
        }
    }

    public static func < (a: LoRATarget, b: LoRATarget) -> Bool { a.order < b.order }

    /// Parses a comma-separated list such as `q,k,v,o` or `all`.
    public static func parseList(_ text: String) throws -> [LoRATarget] {
        if text.lowercased() == "all" { return allCases }
        var out: [LoRATarget] = []
        for part in text.split(separator: ",") where !part.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let t = LoRATarget(name: String(part)) else {
                throw AutogradError.invalidArgument(operation: "LoRA targets", reason:
                    "unknown module '\(part)'; use some of q,k,v,o,gate,up,down (or all)")
            }
            if !out.contains(t) { out.append(t) }
        }
        guard !out.isEmpty else {
            throw AutogradError.invalidArgument(operation: "LoRA targets", reason: "name at least one of q,k,v,o,gate,up,down")
        }
        return out.sorted()
    }
}

/// LoRA hyper-parameters, as in PEFT's `LoraConfig`: y = W x + (alpha / rank) · B A dropout(x).
public struct LoRAConfiguration: Sendable, Equatable, Codable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    public var targets: [LoRATarget]

    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0.05, targets: [LoRATarget] = [.q, .k, .v, .o]) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets.sorted()
    }

    public func validate() throws {
        guard rank > 0, alpha > 0, dropout >= 0, dropout < 1, !targets.isEmpty else {
            throw AutogradError.invalidArgument(operation: "LoRA", reason:
                "rank (\(rank)) and alpha (\(alpha)) must be positive, dropout (\(dropout)) in [0, 1), and at least one target module")
        }
    }
}

import Foundation
