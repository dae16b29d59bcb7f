import Foundation

/// The losses of preference alignment, on sequence log-probabilities. The training tasks compute
/// log p(response | prompt) under the policy and the frozen reference with the model, call these,
/// and push the returned gradients (with respect to the policy log-probabilities) back through it.

/// Numerically stable log σ(x) = −softplus(−x).
@inline(__always)
public func logSigmoid(_ x: Double) -> Double {
    x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x))
}

@inline(__always)
public func sigmoid(_ x: Double) -> Double {
    x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
}

/// Direct Preference Optimisation (Rafailov et al. 2023) and its IPO variant (Azar et al. 2023),
/// with the per-batch figures TRL's DPOTrainer logs.
public enum DPOLoss {
    public enum Variant: String, Sendable, CaseIterable, Codable {
        /// −log σ(β·(Δchosen − Δrejected)), Δ = log π − log π_ref.
        case sigmoid
        /// ((Δchosen − Δrejected) − 1/(2β))².
        case ipo
    }

    /// One preference pair's sequence log-probabilities.
    public struct Pair: Sendable, Equatable {
        public var policyChosen: Double
        public var policyRejected: Double
        public var referenceChosen: Double
        public var referenceRejected: Double
        public init(policyChosen: Double, policyRejected: Double, referenceChosen: Double, referenceRejected: Double) {
            self.policyChosen = policyChosen
            self.policyRejected = policyRejected
            self.referenceChosen = referenceChosen
            self.referenceRejected = referenceRejected
        }
    }

    public struct Result: Sendable, Equatable {
        /// Mean loss over the batch.
        public var loss: Double
        /// ∂loss/∂(policy log-prob of chosen), per pair.
        public var gradChosen: [Double]
        /// ∂loss/∂(policy log-prob of rejected), per pair.
        public var gradRejected: [Double]
        /// TRL's names: rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies,
        /// logps/chosen, logps/rejected (batch means).
        public var metrics: [String: Double]
    }

    public static func compute(_ pairs: [Pair], beta: Double, variant: Variant = .sigmoid) -> Result {
        let n = Double(max(pairs.count, 1))
        var loss = 0.0
        var gc = [Double](), gr = [Double]()
        var rc = 0.0, rr = 0.0, lc = 0.0, lr = 0.0
        // Counted, then divided once, so 24 of 24 prints as 1.0 and not 0.9999999999999996.
        var wins = 0
        for p in pairs {
            let dc = p.policyChosen - p.referenceChosen
            let dr = p.policyRejected - p.referenceRejected
            let h = dc - dr
            switch variant {
            case .sigmoid:
                loss += -logSigmoid(beta * h) / n
                // d/dh −log σ(βh) = −β σ(−βh)
                let g = -beta * sigmoid(-beta * h) / n
                gc.append(g)
                gr.append(-g)
            case .ipo:
                let target = 1 / (2 * beta)
                loss += (h - target) * (h - target) / n
                let g = 2 * (h - target) / n
                gc.append(g)
                gr.append(-g)
            }
            rc += beta * dc / n
            rr += beta * dr / n
            if beta * dc > beta * dr { wins += 1 }
            lc += p.policyChosen / n
            lr += p.policyRejected / n
        }
        return Result(loss: loss, gradChosen: gc, gradRejected: gr,
                      metrics: ["rewards/chosen": rc, "rewards/rejected": rr, "rewards/margins": rc - rr,
                                "rewards/accuracies": Double(wins) / n, "logps/chosen": lc, "logps/rejected": lr])
    }
}

/// Bradley–Terry loss of a reward model on preference pairs: −log σ(r_chosen − r_rejected).
public enum BradleyTerryLoss {
    public struct Result: Sendable, Equatable {
        public var loss: Double
        public var gradChosen: [Double]
        public var gradRejected: [Double]
        /// Share of pairs where the chosen response scores higher.
        public var accuracy: Double
        public var meanMargin: Double
    }

    public static func compute(chosen: [Double], rejected: [Double]) -> Result {
        precondition(chosen.count == rejected.count, "one reward per side of each pair")
        let n = Double(max(chosen.count, 1))
        var loss = 0.0, margin = 0.0
        var wins = 0
        var gc = [Double](), gr = [Double]()
        for (c, r) in zip(chosen, rejected) {
            let m = c - r
            loss += -logSigmoid(m) / n
            let g = -sigmoid(-m) / n
            gc.append(g)
            gr.append(-g)
            if m > 0 { wins += 1 }
            margin += m / n
        }
        return Result(loss: loss, gradChosen: gc, gradRejected: gr, accuracy: Double(wins) / n, meanMargin: margin)
    }
}

/// Group-relative advantages (GRPO, Shao et al. 2024): each prompt's sampled responses are
/// scored against their own group's mean and standard deviation, so no value model is needed.
public enum GroupAdvantages {
    public static func compute(rewards: [Double], epsilon: Double = 1e-4) -> [Double] {
        guard !rewards.isEmpty else { return [] }
        let mean = rewards.reduce(0, +) / Double(rewards.count)
        let variance = rewards.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rewards.count)
        let std = variance.squareRoot()
        return rewards.map { ($0 - mean) / (std + epsilon) }
    }
}

/// Per-token KL estimate between policy and reference from their log-probabilities of the sampled
/// token: k3 = exp(r) − r − 1 with r = log π_ref − log π (Schulman's unbiased, always ≥ 0 estimator).
public enum KLEstimate {
    @inline(__always)
    public static func k3(policyLogProb: Double, referenceLogProb: Double) -> Double {
        let r = referenceLogProb - policyLogProb
        return exp(r) - r - 1
    }

    /// ∂k3/∂(policy log-prob) = 1 − exp(r).
    @inline(__always)
    public static func k3Gradient(policyLogProb: Double, referenceLogProb: Double) -> Double {
        1 - exp(referenceLogProb - policyLogProb)
    }
}
