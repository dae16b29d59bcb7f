import Foundation

/// How one question went, given the log-likelihood of each choice's continuation.
public struct MultipleChoiceOutcome: Sendable, Equatable, Codable {
    public var id: String?
    public var subject: String?
    public var line: Int
    public var logLikelihoods: [Double]
    public var answer: Int
    /// Choice with the highest log-likelihood (lm-evaluation-harness `acc`).
    public var predicted: Int
    /// Choice with the highest log-likelihood per character of the choice text (`acc_norm`).
    public var predictedNormalized: Int

    public var correct: Bool { predicted == answer }
    public var correctNormalized: Bool { predictedNormalized == answer }

    enum CodingKeys: String, CodingKey {
        case id, subject, line, answer, predicted
        case logLikelihoods = "loglikelihoods", predictedNormalized = "predicted_norm"
    }
}

/// Accuracy over a set of outcomes, overall and by subject.
public struct MultipleChoiceSummary: Sendable, Equatable, Codable {
    public struct Group: Sendable, Equatable, Codable {
        public var n: Int
        public var accuracy: Double
        public var accuracyNormalized: Double

        enum CodingKeys: String, CodingKey {
            case n, accuracy
            case accuracyNormalized = "accuracy_norm"
        }
    }

    public var overall: Group
    public var bySubject: [String: Group]

    enum CodingKeys: String, CodingKey {
        case overall
        case bySubject = "by_subject"
    }
}

/// The harness's multiple-choice scoring, separated from the model that produces log-likelihoods.
public enum MultipleChoiceScoring {
    /// `numpy.argmax`: the first maximum; a NaN wins (numpy returns the first NaN).
    static func argmax(_ values: [Double]) -> Int {
        var best = 0
        for (i, v) in values.enumerated() {
            if v.isNaN { return i }
            if v > values[best] { best = i }
        }
        return best
    }

    /// Scores one question. `choiceTexts` are the texts whose length normalises `acc_norm`
    /// (the harness uses the `doc_to_choice` strings, "A"…"D" for MMLU, so there both agree).
    public static func outcome(for q: MultipleChoiceQuestion, logLikelihoods: [Double],
                               choiceTexts: [String]? = nil) -> MultipleChoiceOutcome {
        let texts = choiceTexts ?? q.choices.indices.map { MultipleChoiceSet.letter($0) }
        let normalized = logLikelihoods.enumerated().map { i, ll in
            ll / Double(max(i < texts.count ? texts[i].unicodeScalars.count : 1, 1))
        }
        return MultipleChoiceOutcome(id: q.id, subject: q.subject, line: q.line, logLikelihoods: logLikelihoods,
                                     answer: q.answer, predicted: argmax(logLikelihoods),
                                     predictedNormalized: argmax(normalized))
    }

    public static func summary(_ outcomes: [MultipleChoiceOutcome]) -> MultipleChoiceSummary {
        func group(_ items: [MultipleChoiceOutcome]) -> MultipleChoiceSummary.Group {
            let n = items.count
            guard n > 0 else { return .init(n: 0, accuracy: 0, accuracyNormalized: 0) }
            return .init(n: n, accuracy: Double(items.filter(\.correct).count) / Double(n),
                         accuracyNormalized: Double(items.filter(\.correctNormalized).count) / Double(n))
        }
        var bySubject: [String: [MultipleChoiceOutcome]] = [:]
        for o in outcomes { bySubject[o.subject ?? "", default: []].append(o) }
        return MultipleChoiceSummary(overall: group(outcomes), bySubject: bySubject.mapValues(group))
    }

    /// log p(token | context) from the logits after the context: a log-softmax in double precision
    /// (max-shifted so large logits do not overflow). nil when `token` is outside the vocabulary.
    public static func logProbability(of token: Int32, logits: UnsafeBufferPointer<Float>) -> Double? {
        guard token >= 0, Int(token) < logits.count, !logits.isEmpty else { return nil }
        var maximum = -Double.infinity
        for v in logits { maximum = max(maximum, Double(v)) }
        var sum = 0.0
        for v in logits { sum += Foundation.exp(Double(v) - maximum) }
        return Double(logits[Int(token)]) - maximum - Foundation.log(sum)
    }
}
