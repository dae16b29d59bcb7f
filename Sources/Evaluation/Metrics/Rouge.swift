/// Precision, recall and F-measure of one ROUGE variant, in [0, 1].
public struct RougeScore: Sendable, Equatable, Codable {
    public var precision: Double
    public var recall: Double
    public var fmeasure: Double

    public init(precision: Double, recall: Double, fmeasure: Double) {
        self.precision = precision
        self.recall = recall
        self.fmeasure = fmeasure
    }

    public static let zero = RougeScore(precision: 0, recall: 0, fmeasure: 0)

    /// rouge-score's `scoring.fmeasure`: the harmonic mean, 0 when both are 0.
    static func from(precision: Double, recall: Double) -> RougeScore {
        let f = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        return RougeScore(precision: precision, recall: recall, fmeasure: f)
    }
}

/// A ROUGE variant by its rouge-score name: `rouge1` … `rouge9`, `rougeL`, `rougeLsum`.
public enum RougeType: Hashable, Sendable, CustomStringConvertible {
    /// N-gram overlap of order 1...9.
    case n(Int)
    /// Longest common subsequence over the whole text.
    case l
    /// Summary-level LCS: union LCS of each reference line against all prediction lines.
    case lsum

    public init?(name: String) {
        switch name {
        case "rougeL": self = .l
        case "rougeLsum": self = .lsum
        default:
            // rouge-score accepts `rouge[0-9]$` and rejects n = 0.
            guard name.count == 6, name.hasPrefix("rouge"), let last = name.last, let n = last.wholeNumberValue, n > 0 else {
                return nil
            }
            self = .n(n)
        }
    }

    public var description: String {
        switch self {
        case let .n(n): return "rouge\(n)"
        case .l: return "rougeL"
        case .lsum: return "rougeLsum"
        }
    }

    public static let standard: [RougeType] = [.n(1), .n(2), .l, .lsum]
}

/// ROUGE as rouge-score 0.1.2 computes it:
/// `rouge_scorer.RougeScorer(types, use_stemmer=…).score(target=reference, prediction=prediction)`
/// with the default tokenizer and `split_summaries=False`.
public struct RougeScorer: Sendable {
    public let types: [RougeType]
    public let useStemmer: Bool
    private let stemmer = PorterStemmer()

    public init(types: [RougeType] = RougeType.standard, useStemmer: Bool = false) {
        self.types = types
        self.useStemmer = useStemmer
    }

    /// rouge-score's default tokenizer: lowercase; every run of characters other than ASCII
    /// a–z and 0–9 separates tokens; with the stemmer, tokens longer than 3 characters are
    /// Porter-stemmed (NLTK_EXTENSIONS mode).
    public func tokenize(_ text: String) -> [String] {
        tokenCodePoints(text).map { PythonText.string($0) }
    }

    func tokenCodePoints(_ text: String) -> [[UInt32]] {
        var tokens: [[UInt32]] = []
        var current: [UInt32] = []
        func flush() {
            guard !current.isEmpty else { return }
            if useStemmer && current.count > 3 {
                let stemmed = stemmer.stem(codePoints: current, originalLength: current.count)
                if !stemmed.isEmpty { tokens.append(stemmed) }
            } else {
                tokens.append(current)
            }
            current.removeAll(keepingCapacity: true)
        }
        for scalar in text.lowercased().unicodeScalars {
            let v = scalar.value
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) {
                current.append(v)
            } else {
                flush()
            }
        }
        flush()
        return tokens
    }

    /// rougeLsum's sentences: the text split on "\n" with empty pieces dropped, each tokenized.
    public func sentenceTokens(_ text: String) -> [[String]] {
        sentences(text).map { tokenize($0) }
    }

    /// Splits on the code point U+000A (not on Swift `Character`s, where "\r\n" is one character).
    private func sentences(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: true).map { String(String.UnicodeScalarView($0)) }
    }

    /// Scores of every configured type, in `types` order.
    public func score(reference: String, prediction: String) -> [(type: RougeType, score: RougeScore)] {
        var interner = TokenInterner()
        let needsWholeText = types.contains { $0 != .lsum }
        let target = needsWholeText ? interner.ids(tokenCodePoints(reference)) : []
        let candidate = needsWholeText ? interner.ids(tokenCodePoints(prediction)) : []
        return types.map { type in
            switch type {
            case let .n(n):
                return (type, Self.ngramScore(target: target, prediction: candidate, order: n))
            case .l:
                return (type, Self.lcsScore(target: target, prediction: candidate))
            case .lsum:
                let targetSentences = sentences(reference).map { interner.ids(tokenCodePoints($0)) }
                let predictionSentences = sentences(prediction).map { interner.ids(tokenCodePoints($0)) }
                return (type, Self.summaryLevelLCS(target: targetSentences, prediction: predictionSentences))
            }
        }
    }

    /// rouge-score's `score_multi`: for each type, the score against the reference with the highest
    /// F-measure (the first one on ties).
    public func score(references: [String], prediction: String) -> [(type: RougeType, score: RougeScore)] {
        let all = references.map { score(reference: $0, prediction: prediction) }
        guard var best = all.first else { return types.map { ($0, RougeScore.zero) } }
        for candidate in all.dropFirst() {
            for k in best.indices where candidate[k].score.fmeasure > best[k].score.fmeasure {
                best[k] = candidate[k]
            }
        }
        return best
    }

    /// The score of one type (computes only what that type needs).
    public func score(_ type: RougeType, reference: String, prediction: String) -> RougeScore {
        RougeScorer(types: [type], useStemmer: useStemmer).score(reference: reference, prediction: prediction)[0].score
    }

    static func ngramScore(target: [Int32], prediction: [Int32], order: Int) -> RougeScore {
        let t = NGrams.counts(target, order: order), p = NGrams.counts(prediction, order: order)
        let overlap = NGrams.overlap(t, p)
        let targetCount = max(target.count - order + 1, 0), predictionCount = max(prediction.count - order + 1, 0)
        return .from(precision: Double(overlap) / Double(max(predictionCount, 1)),
                     recall: Double(overlap) / Double(max(targetCount, 1)))
    }

    static func lcsScore(target: [Int32], prediction: [Int32]) -> RougeScore {
        guard !target.isEmpty, !prediction.isEmpty else { return .zero }
        let length = LCSTable.length(target, prediction)
        return .from(precision: Double(length) / Double(prediction.count), recall: Double(length) / Double(target.count))
    }

    /// Summary-level LCS (ROUGE paper §3.2) with ROUGE-1.5.5's guard against counting a token
    /// more often than it occurs in either summary, as rouge-score implements it.
    static func summaryLevelLCS(target: [[Int32]], prediction: [[Int32]]) -> RougeScore {
        guard !target.isEmpty, !prediction.isEmpty else { return .zero }
        let m = target.reduce(0) { $0 + $1.count }, n = prediction.reduce(0) { $0 + $1.count }
        guard m > 0, n > 0 else { return .zero }
        var targetCounts: [Int32: Int] = [:], predictionCounts: [Int32: Int] = [:]
        for sentence in target { for t in sentence { targetCounts[t, default: 0] += 1 } }
        for sentence in prediction { for t in sentence { predictionCounts[t, default: 0] += 1 } }

        var hits = 0
        for reference in target {
            var union = Set<Int>()
            for candidate in prediction {
                union.formUnion(LCSTable(reference, candidate).referenceIndices())
            }
            for index in union.sorted() {
                let token = reference[index]
                if let c = predictionCounts[token], c > 0, let r = targetCounts[token], r > 0 {
                    hits += 1
                    predictionCounts[token] = c - 1
                    targetCounts[token] = r - 1
                }
            }
        }
        return .from(precision: Double(hits) / Double(n), recall: Double(hits) / Double(m))
    }
}

/// The dynamic-programming table of longest common subsequence lengths of prefixes.
struct LCSTable {
    private let reference: [Int32], candidate: [Int32]
    private var table: [Int32]
    private let columns: Int

    init(_ reference: [Int32], _ candidate: [Int32]) {
        self.reference = reference
        self.candidate = candidate
        let rows = reference.count + 1, columns = candidate.count + 1
        self.columns = columns
        var table = [Int32](repeating: 0, count: rows * columns)
        table.withUnsafeMutableBufferPointer { t in
            reference.withUnsafeBufferPointer { r in
                candidate.withUnsafeBufferPointer { c in
                    for i in 1..<rows {
                        for j in 1..<columns {
                            t[i * columns + j] = r[i - 1] == c[j - 1]
                                ? t[(i - 1) * columns + j - 1] + 1
                                : max(t[(i - 1) * columns + j], t[i * columns + j - 1])
                        }
                    }
                }
            }
        }
        self.table = table
    }

    var length: Int { Int(table[table.count - 1]) }

    /// The LCS length alone, keeping two rows instead of the whole table, so long documents
    /// (ROUGE-L over thousands of tokens) need memory proportional to one side only.
    static func length(_ a: [Int32], _ b: [Int32]) -> Int {
        let (long, short) = a.count >= b.count ? (a, b) : (b, a)
        guard !short.isEmpty else { return 0 }
        var previous = [Int32](repeating: 0, count: short.count + 1)
        var current = previous
        long.withUnsafeBufferPointer { l in
            short.withUnsafeBufferPointer { s in
                for i in 0..<l.count {
                    let token = l[i]
                    current.withUnsafeMutableBufferPointer { c in
                        previous.withUnsafeBufferPointer { p in
                            for j in 1...s.count {
                                c[j] = token == s[j - 1] ? p[j - 1] + 1 : max(p[j], c[j - 1])
                            }
                        }
                    }
                    swap(&previous, &current)
                }
            }
        }
        return Int(previous[short.count])
    }

    private func at(_ i: Int, _ j: Int) -> Int32 { table[i * columns + j] }

    /// Indices into the reference of one LCS, read back the way rouge-score's `_backtrack_norec`
    /// does (on ties it moves up, not left), so the same tokens are chosen.
    func referenceIndices() -> [Int] {
        var i = reference.count, j = candidate.count
        var out: [Int] = []
        while i > 0 && j > 0 {
            if reference[i - 1] == candidate[j - 1] {
                out.append(i - 1)
                i -= 1
                j -= 1
            } else if at(i, j - 1) > at(i - 1, j) {
                j -= 1
            } else {
                i -= 1
            }
        }
        return out.reversed()
    }
}
