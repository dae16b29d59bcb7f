import Engine
import Foundation

public struct AdamWSettings: Sendable, Equatable, Codable {
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// Decoupled weight decay (Loshchilov & Hutter): p ← p − lr·decay·p, separate from the Adam step.
    public var weightDecay: Double

    public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

public enum OptimizerError: Error, CustomStringConvertible, Equatable {
    case invalidSettings(String)
    case stateMismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidSettings(message):
            return message
        case let .stateMismatch(path, reason):
            return "optimizer state \(path) does not fit this model (\(reason)); resume with the configuration the run started with"
        }
    }
}

/// AdamW over the trainable parameters, with PyTorch's update order and bias correction:
/// p ← p·(1 − lr·λ); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr·m̂ / (√v̂ + ε).
/// Parameters without a gradient this step are left alone (their moments too).
public final class AdamW {
    public let parameters: [Parameter]
    public var settings: AdamWSettings
    /// Optimizer steps taken so far (the t of the bias correction).
    public private(set) var stepCount: Int = 0
    private let decays: [Bool]
    private var firstMoments: [Tensor]
    private var secondMoments: [Tensor]

    /// `decay` says which parameters get weight decay; by default matrices do and vectors (biases,
    /// norm weights) do not, as the Hugging Face trainer does.
    public init(parameters: [Parameter], settings: AdamWSettings = AdamWSettings(),
                decay: (Parameter) -> Bool = { $0.value.rank >= 2 }) throws {
        guard settings.beta1 >= 0, settings.beta1 < 1, settings.beta2 >= 0, settings.beta2 < 1,
              settings.epsilon > 0, settings.weightDecay >= 0 else {
            throw OptimizerError.invalidSettings("AdamW needs 0 ≤ β₁, β₂ < 1, ε > 0 and weight decay ≥ 0")
        }
        let names = parameters.map(\.name)
        guard Set(names).count == names.count else {
            throw OptimizerError.invalidSettings("AdamW parameters need distinct names (the optimizer state is keyed by them)")
        }
        self.parameters = parameters.filter(\.isTrainable)
        self.settings = settings
        decays = self.parameters.map(decay)
        firstMoments = self.parameters.map { Tensor(shape: $0.shape) }
        secondMoments = self.parameters.map { Tensor(shape: $0.shape) }
    }

    /// One update with learning rate `learningRate` from the accumulated gradients.
    public func step(learningRate: Double) {
        stepCount += 1
        let b1 = Float(settings.beta1), b2 = Float(settings.beta2), eps = Float(settings.epsilon)
        let correction1 = 1 - pow(settings.beta1, Double(stepCount))
        let correction2 = 1 - pow(settings.beta2, Double(stepCount))
        let stepSize = Float(learningRate / correction1)
        let rootCorrection2 = Float(correction2.squareRoot())
        let decayFactor = Float(1 - learningRate * settings.weightDecay)
        for (index, p) in parameters.enumerated() {
            guard let grad = p.grad else { continue }
            let n = p.value.count
            let w = p.value.basePointer, g = grad.basePointer
            let m = firstMoments[index].basePointer, v = secondMoments[index].basePointer
            let decays = decays[index]
            for i in 0..<n {
                if decays { w[i] *= decayFactor }
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                w[i] -= stepSize * m[i] / (v[i].squareRoot() / rootCorrection2 + eps)
            }
        }
    }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    // MARK: state

    static let format = "whetstone.adamw.v1"

    /// Writes the moments and step count as safetensors (`<name>.exp_avg`, `<name>.exp_avg_sq`,
    /// metadata `step`), atomically.
    public func saveState(to url: URL) throws {
        var writer = SafetensorsWriter()
        for (index, p) in parameters.enumerated() {
            writer.add(p.name + ".exp_avg", firstMoments[index])
            writer.add(p.name + ".exp_avg_sq", secondMoments[index])
        }
        writer.metadata = ["format": Self.format, "step": String(stepCount)]
        try writer.write(to: url)
    }

    /// Restores what `saveState` wrote; the parameter names and shapes must match.
    public func loadState(from url: URL) throws {
        let file = try SafetensorsFile(path: url.path)
        guard file.metadata["format"] == Self.format, let step = file.metadata["step"].flatMap(Int.init), step >= 0 else {
            throw OptimizerError.stateMismatch(path: url.path, reason: "not an AdamW state file")
        }
        let expected = Set(parameters.flatMap { [$0.name + ".exp_avg", $0.name + ".exp_avg_sq"] })
        if let extra = Set(file.tensors.keys).subtracting(expected).sorted().first {
            throw OptimizerError.stateMismatch(path: url.path, reason: "it has state for \(extra), which this model does not train")
        }
        var first: [Tensor] = [], second: [Tensor] = []
        for p in parameters {
            for (suffix, into) in [(".exp_avg", 0), (".exp_avg_sq", 1)] {
                let t = try file.tensor(p.name + suffix)
                guard t.shape == p.shape else {
                    throw OptimizerError.stateMismatch(path: url.path, reason: "\(p.name) has shape \(p.shape), the state \(t.shape)")
                }
                if into == 0 { first.append(t) } else { second.append(t) }
            }
        }
        firstMoments = first
        secondMoments = second
        stepCount = step
    }
}
