/// A chrF result: score in [0, 100] and, per n-gram order (characters first, then words),
/// the `[hypothesis n-grams, reference n-grams, matches]` statistics sacreBLEU sums over a corpus.
public struct CHRFScore: Sendable, Equatable, Codable {
    public var score: Double
    public var stats: [[Int]]
    /// `chrF2`, or `chrF2++` with two word orders.
    public var name: String
    public var signature: String

    public var shortSignature: String { BLEU.shorten(signature) }

    /// The line sacreBLEU prints: `chrF2|nrefs:1|…|version:2.6.0 = 45.62`.
    public var formatted: String { "\(name)|\(signature) = \(String(format: "%.2f", score))" }
}

/// chrF / chrF++ exactly as sacreBLEU 2.x computes them (`sacrebleu.metrics.CHRF`); the defaults
/// (character order 6, no word n-grams, beta 2, whitespace removed, no epsilon smoothing) are those
/// of `sacrebleu.sentence_chrf` and `sacrebleu.corpus_chrf`.
public struct CHRF: Sendable {
    public var charOrder: Int
    public var wordOrder: Int
    public var beta: Int
    public var lowercase: Bool
    /// Keep whitespace inside character n-grams (sacreBLEU `whitespace=True`).
    public var whitespace: Bool
    public var epsSmoothing: Bool

    public init(charOrder: Int = 6, wordOrder: Int = 0, beta: Int = 2, lowercase: Bool = false,
                whitespace: Bool = false, epsSmoothing: Bool = false) {
        self.charOrder = min(max(charOrder, 1), NGrams.maxOrder)
        self.wordOrder = min(max(wordOrder, 0), NGrams.maxOrder)
        self.beta = beta
        self.lowercase = lowercase
        self.whitespace = whitespace
        self.epsSmoothing = epsSmoothing
    }

    public var name: String { "chrF\(beta)" + String(repeating: "+", count: wordOrder) }

    public func signature(numberOfReferences: Int) -> String {
        signature(nrefs: String(numberOfReferences))
    }

    func signature(nrefs: String) -> String {
        "nrefs:\(nrefs)|case:\(lowercase ? "lc" : "mixed")|eff:\(epsSmoothing ? "no" : "yes")"
            + "|nc:\(charOrder)|nw:\(wordOrder)|space:\(whitespace ? "yes" : "no")|version:\(SacreBLEU.compatibleVersion)"
    }

    private var order: Int { charOrder + wordOrder }

    /// Character n-gram counts (then word n-gram counts) of one segment, by order.
    /// Word ids come from `interner`, shared by the hypothesis and its references.
    private func ngramCounts(_ segment: String, _ interner: inout TokenInterner) -> [[NGramKey: Int]] {
        let points = PythonText.scalars(lowercase ? segment.lowercased() : segment)
        let characters: [Int32]
        if whitespace {
            characters = points.map { Int32(bitPattern: $0) }
        } else {
            characters = points.filter { !PythonText.isSpace($0) }.map { Int32(bitPattern: $0) }
        }
        var out = (1...charOrder).map { NGrams.counts(characters, order: $0) }
        if wordOrder > 0 {
            let words = interner.ids(Self.separatePunctuation(points))
            for n in 1...wordOrder { out.append(NGrams.counts(words, order: n)) }
        }
        return out
    }

    private static func isPunctuation(_ c: UInt32) -> Bool {
        // string.punctuation: ASCII !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
        (0x21...0x2F).contains(c) || (0x3A...0x40).contains(c) || (0x5B...0x60).contains(c) || (0x7B...0x7E).contains(c)
    }

    /// Words for chrF++: one punctuation mark is split off the end of a word, or else off its start.
    static func separatePunctuation(_ points: [UInt32]) -> [[UInt32]] {
        var out: [[UInt32]] = []
        for word in PythonText.split(points) {
            let w = Array(word)
            if w.count == 1 {
                out.append(w)
            } else if let last = w.last, isPunctuation(last) {
                out.append(Array(w.dropLast())); out.append([last])
            } else if isPunctuation(w[0]) {
                out.append([w[0]]); out.append(Array(w.dropFirst()))
            } else {
                out.append(w)
            }
        }
        return out
    }

    /// Per-order `[hyp, ref, match]` of the best-scoring reference (the first one on ties).
    public func segmentStatistics(hypothesis: String, references: [String]) -> [Int] {
        var interner = TokenInterner()
        let hyp = ngramCounts(hypothesis, &interner)
        var best: [Int] = []
        var bestF = -1.0
        for reference in references {
            let ref = ngramCounts(reference, &interner)
            var stats: [Int] = []
            stats.reserveCapacity(3 * order)
            for k in 0..<order {
                let hypCount = hyp[k].values.reduce(0, +)
                let refCount = ref[k].values.reduce(0, +)
                stats.append(ref[k].isEmpty ? 0 : hypCount)
                stats.append(refCount)
                stats.append(NGrams.overlap(hyp[k], ref[k]))
            }
            let f = fScore(stats)
            if f > bestF {
                bestF = f
                best = stats
            }
        }
        return best
    }

    /// sacreBLEU's `_compute_f_score`: with effective order (the default), precision and recall are
    /// averaged over the orders where both sides have n-grams, then combined into F-beta.
    func fScore(_ statistics: [Int]) -> Double {
        let eps = 1e-16
        var score = 0.0
        var effectiveOrder = 0
        let factor = Double(beta * beta)
        var averagePrecision = 0.0, averageRecall = 0.0
        for k in 0..<order where 3 * k + 2 < statistics.count {
            let nHyp = statistics[3 * k], nRef = statistics[3 * k + 1], nMatch = statistics[3 * k + 2]
            let precision = nHyp > 0 ? Double(nMatch) / Double(nHyp) : eps
            let recall = nRef > 0 ? Double(nMatch) / Double(nRef) : eps
            let denominator = factor * precision + recall
            score += denominator > 0 ? (1 + factor) * precision * recall / denominator : eps
            if nHyp > 0 && nRef > 0 {
                averagePrecision += precision
                averageRecall += recall
                effectiveOrder += 1
            }
        }
        if epsSmoothing { return 100 * score / Double(order) }
        if effectiveOrder == 0 {
            averagePrecision = 0
            averageRecall = 0
        } else {
            averagePrecision /= Double(effectiveOrder)
            averageRecall /= Double(effectiveOrder)
        }
        guard averagePrecision + averageRecall != 0 else { return 0 }
        var f = (1 + factor) * averagePrecision * averageRecall
        f /= factor * averagePrecision + averageRecall
        return 100 * f
    }

    private func result(_ statistics: [Int], nrefs: String) -> CHRFScore {
        let stats = (0..<order).map { k in Array(statistics[(3 * k)..<(3 * k + 3)]) }
        return CHRFScore(score: fScore(statistics), stats: stats, name: name,
                         signature: signature(nrefs: nrefs))
    }

    public func sentenceScore(hypothesis: String, references: [String]) -> CHRFScore {
        let stats = segmentStatistics(hypothesis: hypothesis, references: references)
        return result(stats.isEmpty ? [Int](repeating: 0, count: 3 * order) : stats, nrefs: String(references.count))
    }

    /// Corpus chrF from summed statistics; `references` are streams as in `BLEU.corpusScore`.
    public func corpusScore(hypotheses: [String], references: [[String]]) throws -> CHRFScore {
        try corpusScore(hypotheses: hypotheses, referenceSets: referenceSets(hypotheses.count, references))
    }

    /// Corpus chrF with the references of each segment (`referenceSets[i]` for `hypotheses[i]`).
    public func corpusScore(hypotheses: [String], referenceSets: [[String]]) throws -> CHRFScore {
        guard referenceSets.count == hypotheses.count else {
            throw MetricError.lengthMismatch(hypotheses: hypotheses.count, references: referenceSets.count)
        }
        var sums = [Int](repeating: 0, count: 3 * order)
        for (hypothesis, references) in zip(hypotheses, referenceSets) {
            let stats = segmentStatistics(hypothesis: hypothesis, references: references)
            for k in 0..<min(sums.count, stats.count) { sums[k] += stats[k] }
        }
        return result(sums, nrefs: referenceCountLabel(referenceSets))
    }
}
