import Foundation

/// The sacreBLEU release whose behaviour these metrics reproduce; it appears in signatures.
public enum SacreBLEU {
    public static let compatibleVersion = "2.6.0"
}

/// A BLEU result with sacreBLEU's fields (`BLEUScore`): score and precisions in [0, 100].
public struct BLEUScore: Sendable, Equatable, Codable {
    public var score: Double
    /// Matched n-grams for n = 1…order (clipped by the reference counts).
    public var counts: [Int]
    /// Hypothesis n-grams for n = 1…order.
    public var totals: [Int]
    public var precisions: [Double]
    /// Brevity penalty.
    public var bp: Double
    public var sysLen: Int
    public var refLen: Int
    /// sacreBLEU's reproducibility signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case score, counts, totals, precisions, bp, signature
        case sysLen = "sys_len", refLen = "ref_len"
    }

    public var ratio: Double { refLen > 0 ? Double(sysLen) / Double(refLen) : 0 }

    /// sacreBLEU's short signature (`#:1|c:mixed|e:no|tok:13a|s:exp|v:2.6.0`).
    public var shortSignature: String { BLEU.shorten(signature) }

    /// The line sacreBLEU prints, e.g.
    /// `BLEU|nrefs:1|…|version:2.6.0 = 15.60 49.6/21.8/11.6/5.6 (BP = 0.956 ratio = 0.957 hyp_len = 244 ref_len = 255)`.
    public var formatted: String {
        let precisionText = precisions.map { String(format: "%.1f", $0) }.joined(separator: "/")
        return "BLEU|\(signature) = \(String(format: "%.2f", score)) \(precisionText) "
            + "(BP = \(String(format: "%.3f", bp)) ratio = \(String(format: "%.3f", ratio)) "
            + "hyp_len = \(sysLen) ref_len = \(refLen))"
    }
}

/// BLEU exactly as sacreBLEU 2.x computes it (`sacrebleu.metrics.BLEU`).
///
/// `sentenceScore` with the defaults of `sacrebleu.sentence_bleu` needs `effectiveOrder: true`;
/// `corpusScore` with the defaults of `sacrebleu.corpus_bleu` needs `effectiveOrder: false`.
public struct BLEU: Sendable {
    public enum Smoothing: Sendable, Equatable {
        /// No smoothing: an n-gram order without matches makes the score 0.
        case none
        /// Chen & Cherry method 1: a zero count becomes `value` (sacreBLEU default 0.1).
        case floor(Double)
        /// Chen & Cherry method 2: adds `k` to counts and totals of orders 2 and up (default 1).
        case addK(Int)
        /// NIST geometric sequence (mteval-v13a): the k-th zero precision is 100 / (2^k · total).
        case exp

        var signature: String {
            switch self {
            case .none: return "none"
            case let .floor(v): return "floor[\(String(format: "%.2f", v))]"
            case let .addK(k): return "add-k[\(String(format: "%.2f", Double(k)))]"
            case .exp: return "exp"
            }
        }
    }

    public var tokenizer: BLEUTokenizer
    public var lowercase: Bool
    public var smoothing: Smoothing
    public var effectiveOrder: Bool
    public var maxNGramOrder: Int

    public init(tokenizer: BLEUTokenizer = .thirteenA, lowercase: Bool = false, smoothing: Smoothing = .exp,
                effectiveOrder: Bool = false, maxNGramOrder: Int = 4) {
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.smoothing = smoothing
        self.effectiveOrder = effectiveOrder
        self.maxNGramOrder = min(max(maxNGramOrder, 1), NGrams.maxOrder)
    }

    /// `sacrebleu.sentence_bleu(hypothesis, references)` defaults: 13a, exp smoothing, effective order.
    public static let sentenceDefault = BLEU(effectiveOrder: true)
    /// `sacrebleu.corpus_bleu(hypotheses, [references])` defaults.
    public static let corpusDefault = BLEU(effectiveOrder: false)

    public func signature(numberOfReferences: Int) -> String {
        signature(nrefs: String(numberOfReferences))
    }

    /// `nrefs` is a count, or "var" when segments have different numbers of references.
    func signature(nrefs: String) -> String {
        "nrefs:\(nrefs)|case:\(lowercase ? "lc" : "mixed")|eff:\(effectiveOrder ? "yes" : "no")"
            + "|tok:\(tokenizer.signature)|smooth:\(smoothing.signature)|version:\(SacreBLEU.compatibleVersion)"
    }

    static func shorten(_ signature: String) -> String {
        let abbreviations = ["nrefs": "#", "case": "c", "eff": "e", "tok": "tok", "smooth": "s", "version": "v",
                             "nc": "nc", "nw": "nw", "space": "s"]
        return signature.split(separator: "|").map { part -> String in
            guard let colon = part.firstIndex(of: ":") else { return String(part) }
            let key = String(part[..<colon])
            return (abbreviations[key] ?? key) + part[colon...]
        }.joined(separator: "|")
    }

    /// The string BLEU splits into words: optional lowercasing, `rstrip()`, then the tokenizer.
    public func preprocess(_ segment: String) -> String {
        PythonText.string(preprocessCodePoints(segment))
    }

    private func preprocessCodePoints(_ segment: String) -> [UInt32] {
        let text = lowercase ? segment.lowercased() : segment
        return tokenizer.tokenize(codePoints: Array(PythonText.rstrip(PythonText.scalars(text))))
    }

    /// Sufficient statistics of one segment: `[hyp_len, ref_len, correct_1…n, total_1…n]`.
    public func segmentStatistics(hypothesis: String, references: [String]) -> [Int] {
        var interner = TokenInterner()
        let hypTokens = interner.ids(PythonText.split(preprocessCodePoints(hypothesis)).map(Array.init))
        var refCounts: [[NGramKey: Int]] = Array(repeating: [:], count: maxNGramOrder)
        var refLengths: [Int] = []
        for reference in references {
            let tokens = interner.ids(PythonText.split(preprocessCodePoints(reference)).map(Array.init))
            refLengths.append(tokens.count)
            for n in 1...maxNGramOrder {
                for (key, count) in NGrams.counts(tokens, order: n) {
                    refCounts[n - 1][key] = max(refCounts[n - 1][key] ?? 0, count)
                }
            }
        }
        var correct = [Int](repeating: 0, count: maxNGramOrder), total = correct
        for n in 1...maxNGramOrder {
            for (key, count) in NGrams.counts(hypTokens, order: n) {
                total[n - 1] += count
                if let r = refCounts[n - 1][key] { correct[n - 1] += min(count, r) }
            }
        }
        return [hypTokens.count, Self.closestReferenceLength(hypTokens.count, refLengths)] + correct + total
    }

    /// The reference length closest to the hypothesis length; the shorter one on ties.
    static func closestReferenceLength(_ hypLength: Int, _ refLengths: [Int]) -> Int {
        var closestDiff = -1, closestLength = -1
        for length in refLengths {
            let diff = abs(hypLength - length)
            if closestDiff == -1 || diff < closestDiff {
                closestDiff = diff
                closestLength = length
            } else if diff == closestDiff && length < closestLength {
                closestLength = length
            }
        }
        return closestLength
    }

    /// BLEU of one hypothesis against one or more references.
    public func sentenceScore(hypothesis: String, references: [String]) -> BLEUScore {
        score(statistics: segmentStatistics(hypothesis: hypothesis, references: references),
              nrefs: String(references.count))
    }

    /// Corpus BLEU. `references` is a list of reference streams, each as long as `hypotheses`
    /// (sacreBLEU's layout: `[refs]` for one reference per segment).
    public func corpusScore(hypotheses: [String], references: [[String]]) throws -> BLEUScore {
        try corpusScore(hypotheses: hypotheses, referenceSets: referenceSets(hypotheses.count, references))
    }

    /// Corpus BLEU with the references of each segment (`referenceSets[i]` for `hypotheses[i]`);
    /// segments may have different numbers of references (the signature then says `nrefs:var`).
    public func corpusScore(hypotheses: [String], referenceSets: [[String]]) throws -> BLEUScore {
        guard referenceSets.count == hypotheses.count else {
            throw MetricError.lengthMismatch(hypotheses: hypotheses.count, references: referenceSets.count)
        }
        var sums = [Int](repeating: 0, count: 2 + 2 * maxNGramOrder)
        for (hypothesis, references) in zip(hypotheses, referenceSets) {
            let stats = segmentStatistics(hypothesis: hypothesis, references: references)
            for k in 0..<sums.count { sums[k] += stats[k] }
        }
        return score(statistics: sums, nrefs: referenceCountLabel(referenceSets))
    }

    /// BLEU from summed statistics (`BLEU.compute_bleu`).
    func score(statistics: [Int], nrefs: String) -> BLEUScore {
        let order = maxNGramOrder
        let sysLen = statistics[0], refLen = statistics[1]
        var correct = Array(statistics[2..<(2 + order)]), total = Array(statistics[(2 + order)..<(2 + 2 * order)])
        let signature = signature(nrefs: nrefs)

        var bp = 1.0
        if sysLen < refLen {
            bp = sysLen > 0 ? Foundation.exp(1 - Double(refLen) / Double(sysLen)) : 0.0
        }
        var precisions = [Double](repeating: 0, count: order)
        if !correct.contains(where: { $0 != 0 }) {
            return BLEUScore(score: 0, counts: correct, totals: total, precisions: precisions, bp: bp,
                             sysLen: sysLen, refLen: refLen, signature: signature)
        }
        var smoothMteval = 1.0
        var effectiveOrder = order
        for n in 1...order {
            if case let .addK(k) = smoothing, n > 1 {
                correct[n - 1] += k
                total[n - 1] += k
            }
            if total[n - 1] == 0 { break }
            if self.effectiveOrder { effectiveOrder = n }
            if correct[n - 1] == 0 {
                switch smoothing {
                case .exp:
                    smoothMteval *= 2
                    precisions[n - 1] = 100.0 / (smoothMteval * Double(total[n - 1]))
                case let .floor(value):
                    precisions[n - 1] = 100.0 * value / Double(total[n - 1])
                case .none, .addK:
                    break
                }
            } else {
                precisions[n - 1] = 100.0 * Double(correct[n - 1]) / Double(total[n - 1])
            }
        }
        // sacreBLEU floors log(0) at -9999999999 instead of -inf.
        var logSum = 0.0
        for p in precisions[0..<effectiveOrder] { logSum += p == 0 ? -9_999_999_999 : Foundation.log(p) }
        let score = bp * Foundation.exp(logSum / Double(effectiveOrder))
        return BLEUScore(score: score, counts: correct, totals: total, precisions: precisions, bp: bp,
                         sysLen: sysLen, refLen: refLen, signature: signature)
    }
}

/// Stream layout (one list per reference "file") to one reference list per segment.
func referenceSets(_ count: Int, _ streams: [[String]]) throws -> [[String]] {
    for stream in streams where stream.count != count {
        throw MetricError.lengthMismatch(hypotheses: count, references: stream.count)
    }
    return (0..<count).map { i in streams.map { $0[i] } }
}

/// sacreBLEU's `nrefs`: the number of references when every segment has the same, else "var".
func referenceCountLabel(_ sets: [[String]]) -> String {
    let counts = Set(sets.map(\.count))
    return counts.count == 1 ? String(counts.first ?? 0) : (counts.isEmpty ? "0" : "var")
}

public enum MetricError: Error, CustomStringConvertible, Equatable {
    case lengthMismatch(hypotheses: Int, references: Int)

    public var description: String {
        switch self {
        case let .lengthMismatch(h, r):
            return "\(h) predictions but a reference stream of \(r); give one reference per prediction in every stream"
        }
    }
}
