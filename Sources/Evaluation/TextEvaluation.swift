import Engine
import Foundation

/// A metric `whet eval text` can compute, by the name used on the command line and in JSON.
public enum TextMetric: String, CaseIterable, Sendable, Codable {
    case rouge1, rouge2, rougeL, rougeLsum, bleu, chrf
    case exactMatch = "exact_match"

    public static let defaults: [TextMetric] = allCases

    var rougeType: RougeType? {
        switch self {
        case .rouge1: return .n(1)
        case .rouge2: return .n(2)
        case .rougeL: return .l
        case .rougeLsum: return .lsum
        case .bleu, .chrf, .exactMatch: return nil
        }
    }

    /// Parses a comma-separated list such as `rouge1,rougeL,bleu`.
    public static func parseList(_ text: String) throws -> [TextMetric] {
        var out: [TextMetric] = []
        for raw in text.split(separator: ",") {
            let name = raw.trimmingCharacters(in: .whitespaces)
            guard let metric = TextMetric(rawValue: name) ?? (name == "exact" || name == "em" ? .exactMatch : nil) else {
                throw TextEvaluationError.unknownMetric(name)
            }
            if !out.contains(metric) { out.append(metric) }
        }
        guard !out.isEmpty else { throw TextEvaluationError.unknownMetric(text) }
        return out
    }
}

/// What to do with a malformed line of an evaluation file.
public enum EvalLinePolicy: String, Sendable, CaseIterable, Codable {
    /// Stop at the first bad line; everything scored before it is kept and reported.
    case stop
    /// Leave the line out, note it, and go on.
    case skip
}

public enum TextEvaluationError: Error, CustomStringConvertible, Equatable {
    case unknownMetric(String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownMetric(name):
            return "unknown metric \"\(name)\"; choose from \(TextMetric.allCases.map(\.rawValue).joined(separator: ","))"
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason)"
        }
    }
}

/// A line that could not be scored.
public struct LineProblem: Sendable, Equatable, Error, CustomStringConvertible {
    public let path: String
    public let line: Int
    public let reason: String

    public var description: String { "\(path):\(line): \(reason)" }
}

/// One `{"id"?, "prediction", "reference"}` record, or `"references": [...]` for several.
public struct TextPair: Sendable, Equatable {
    /// The record's id, or its line number when it has none.
    public let id: String
    public let prediction: String
    /// One or more references (never empty).
    public let references: [String]
    public let line: Int

    public var reference: String { references.first ?? "" }

    public init(id: String, prediction: String, reference: String, line: Int) {
        self.init(id: id, prediction: prediction, references: [reference], line: line)
    }

    public init(id: String, prediction: String, references: [String], line: Int) {
        self.id = id
        self.prediction = prediction
        self.references = references
        self.line = line
    }

    /// Parses one JSONL line; the error text says what is wrong with it.
    static func parse(_ line: Data, lineNumber: Int) throws(ParseFailure) -> TextPair {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: line, options: [])
        } catch {
            throw ParseFailure("not valid JSON")
        }
        guard let dict = object as? [String: Any] else { throw ParseFailure("expected a JSON object") }
        guard let predictionValue = dict["prediction"] else { throw ParseFailure("missing \"prediction\"") }
        guard let prediction = predictionValue as? String else { throw ParseFailure("\"prediction\" must be a string") }
        let references: [String]
        if let list = dict["references"] {
            guard let strings = list as? [String], !strings.isEmpty else {
                throw ParseFailure("\"references\" must be a non-empty array of strings")
            }
            references = strings
        } else if let value = dict["reference"] {
            guard let s = value as? String else { throw ParseFailure("\"reference\" must be a string") }
            references = [s]
        } else {
            throw ParseFailure("missing \"reference\"")
        }
        var id = String(lineNumber)
        switch dict["id"] {
        case nil, is NSNull:
            break
        case let s as String:
            id = s
        case let n as NSNumber where String(cString: n.objCType) != "c":  // "c": a JSON true/false
            id = n.stringValue
        default:
            throw ParseFailure("\"id\" must be a string or a number")
        }
        return TextPair(id: id, prediction: prediction, references: references, line: lineNumber)
    }

    struct ParseFailure: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}

/// The scores of one pair. Only the metrics asked for are present.
public struct TextExampleScores: Sendable, Equatable {
    public let id: String
    public let line: Int
    public var rouge: [(type: RougeType, score: RougeScore)]
    /// Sentence BLEU (sacreBLEU `sentence_bleu` defaults).
    public var bleu: BLEUScore?
    /// Sentence chrF (sacreBLEU `sentence_chrf` defaults).
    public var chrf: CHRFScore?
    public var exactMatch: Double?

    public static func == (a: TextExampleScores, b: TextExampleScores) -> Bool {
        a.id == b.id && a.line == b.line && a.bleu == b.bleu && a.chrf == b.chrf && a.exactMatch == b.exactMatch
            && a.rouge.map(\.type) == b.rouge.map(\.type) && a.rouge.map(\.score) == b.rouge.map(\.score)
    }
}

/// Figures over all scored pairs.
public struct TextCorpusScores: Sendable {
    public let count: Int
    /// Mean precision, recall and F over the pairs (rouge-score itself has no corpus ROUGE; its
    /// BootstrapAggregator's mid value estimates this mean).
    public var rouge: [(type: RougeType, score: RougeScore)]
    /// sacreBLEU `corpus_bleu` (sums n-gram statistics, no effective order).
    public var bleu: BLEUScore?
    /// sacreBLEU `corpus_chrf`.
    public var chrf: CHRFScore?
    /// Share of pairs that match exactly.
    public var exactMatch: Double?
}

public struct TextEvaluationReport: Sendable {
    public let path: String
    public let metrics: [TextMetric]
    public let useStemmer: Bool
    /// The signature of the per-pair BLEU scores, when BLEU was asked for.
    public let sentenceBLEUSignature: String?
    public var examples: [TextExampleScores]
    public var corpus: TextCorpusScores
    /// Lines left out under `EvalLinePolicy.skip`.
    public var skipped: [LineProblem]
    /// The bad line that stopped the run under `EvalLinePolicy.stop`.
    public var stoppedAt: LineProblem?
    /// True when the callback asked to stop before the end of the file.
    public var cancelled: Bool

    public var isComplete: Bool { stoppedAt == nil && !cancelled }
}

/// Scores prediction/reference pairs with the chosen text metrics.
public struct TextEvaluation: Sendable {
    public var metrics: [TextMetric]
    public var useStemmer: Bool
    public var bleuTokenizer: BLEUTokenizer
    public var exactMatch: ExactMatch
    public var onMalformedLine: EvalLinePolicy

    public init(metrics: [TextMetric] = TextMetric.defaults, useStemmer: Bool = false,
                bleuTokenizer: BLEUTokenizer = .thirteenA, exactMatch: ExactMatch = ExactMatch(),
                onMalformedLine: EvalLinePolicy = .stop) {
        self.metrics = metrics
        self.useStemmer = useStemmer
        self.bleuTokenizer = bleuTokenizer
        self.exactMatch = exactMatch
        self.onMalformedLine = onMalformedLine
    }

    private var rougeTypes: [RougeType] { metrics.compactMap(\.rougeType) }
    private var sentenceBLEU: BLEU { BLEU(tokenizer: bleuTokenizer, effectiveOrder: true) }
    private var corpusBLEU: BLEU { BLEU(tokenizer: bleuTokenizer, effectiveOrder: false) }


    public func score(_ pair: TextPair) -> TextExampleScores {
        var out = TextExampleScores(id: pair.id, line: pair.line, rouge: [])
        if !rougeTypes.isEmpty {
            out.rouge = RougeScorer(types: rougeTypes, useStemmer: useStemmer)
                .score(references: pair.references, prediction: pair.prediction)
        }
        if metrics.contains(.bleu) {
            out.bleu = sentenceBLEU.sentenceScore(hypothesis: pair.prediction, references: pair.references)
        }
        if metrics.contains(.chrf) {
            out.chrf = CHRF().sentenceScore(hypothesis: pair.prediction, references: pair.references)
        }
        if metrics.contains(.exactMatch) {
            out.exactMatch = pair.references.map { exactMatch.score(prediction: pair.prediction, reference: $0) }.max() ?? 0
        }
        return out
    }

    /// The signature of the per-pair BLEU scores of `pairs`, when BLEU is one of the metrics.
    func sentenceBLEUSignatureText(_ pairs: [TextPair]) -> String? {
        guard metrics.contains(.bleu) else { return nil }
        return sentenceBLEU.signature(nrefs: pairs.isEmpty ? "1" : referenceCountLabel(pairs.map(\.references)))
    }

    public func corpus(_ pairs: [TextPair], _ examples: [TextExampleScores]) -> TextCorpusScores {
        var out = TextCorpusScores(count: examples.count, rouge: [])
        let n = Double(max(examples.count, 1))
        for (k, type) in rougeTypes.enumerated() {
            var p = 0.0, r = 0.0, f = 0.0
            for example in examples where k < example.rouge.count {
                p += example.rouge[k].score.precision
                r += example.rouge[k].score.recall
                f += example.rouge[k].score.fmeasure
            }
            out.rouge.append((type, RougeScore(precision: p / n, recall: r / n, fmeasure: f / n)))
        }
        let predictions = pairs.map(\.prediction), references = pairs.map(\.references)
        if metrics.contains(.bleu) {
            out.bleu = try? corpusBLEU.corpusScore(hypotheses: predictions, referenceSets: references)
        }
        if metrics.contains(.chrf) {
            out.chrf = try? CHRF().corpusScore(hypotheses: predictions, referenceSets: references)
        }
        if metrics.contains(.exactMatch) {
            out.exactMatch = examples.reduce(0) { $0 + ($1.exactMatch ?? 0) } / n
        }
        return out
    }

    /// Scores every pair of a JSONL file. Throws only when the file cannot be read; bad lines are
    /// handled by `onMalformedLine`, and `onRow` sees each scored pair and may stop the run.
    public func evaluate(file path: String,
                         onRow: ((TextExampleScores) -> Directive)? = nil) throws -> TextEvaluationReport {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TextEvaluationError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return evaluate(data: data, path: path, onRow: onRow)
    }

    public func evaluate(data: Data, path: String,
                         onRow: ((TextExampleScores) -> Directive)? = nil) -> TextEvaluationReport {
        var pairs: [TextPair] = []
        var examples: [TextExampleScores] = []
        var skipped: [LineProblem] = []
        var stoppedAt: LineProblem?
        var cancelled = false
        var lineNumber = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let pair: TextPair
            do {
                pair = try TextPair.parse(Data(line), lineNumber: lineNumber)
            } catch {
                let problem = LineProblem(path: path, line: lineNumber, reason: error.message)
                if onMalformedLine == .stop {
                    stoppedAt = problem
                    break
                }
                skipped.append(problem)
                continue
            }
            let scores = score(pair)
            pairs.append(pair)
            examples.append(scores)
            if onRow?(scores) == .stop {
                cancelled = true
                break
            }
        }
        return TextEvaluationReport(path: path, metrics: metrics, useStemmer: useStemmer,
                                    sentenceBLEUSignature: sentenceBLEUSignatureText(pairs),
                                    examples: examples,
                                    corpus: corpus(pairs, examples), skipped: skipped, stoppedAt: stoppedAt,
                                    cancelled: cancelled)
    }
}

// MARK: - JSON

private struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private struct BLEUJSON: Encodable {
    let score: BLEUScore
    let withSignature: Bool

    enum CodingKeys: String, CodingKey {
        case score, counts, totals, precisions, bp, sys_len, ref_len, signature, formatted
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(score.score, forKey: .score)
        try c.encode(score.counts, forKey: .counts)
        try c.encode(score.totals, forKey: .totals)
        try c.encode(score.precisions, forKey: .precisions)
        try c.encode(score.bp, forKey: .bp)
        try c.encode(score.sysLen, forKey: .sys_len)
        try c.encode(score.refLen, forKey: .ref_len)
        if withSignature {
            try c.encode(score.signature, forKey: .signature)
            try c.encode(score.formatted, forKey: .formatted)
        }
    }
}

private struct CHRFJSON: Encodable {
    let score: CHRFScore
    let withSignature: Bool

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(score.score, forKey: JSONKey("score"))
        if withSignature {
            try c.encode(score.stats, forKey: JSONKey("stats"))
            try c.encode(score.signature, forKey: JSONKey("signature"))
            try c.encode(score.formatted, forKey: JSONKey("formatted"))
        }
    }
}

extension TextExampleScores: Encodable {
    /// `{"id", "line", "rouge1": {"precision","recall","fmeasure"}, …, "bleu": {…}, "chrf": {"score"}, "exact_match"}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(line, forKey: JSONKey("line"))
        for (type, score) in rouge { try c.encode(score, forKey: JSONKey(type.description)) }
        if let bleu { try c.encode(BLEUJSON(score: bleu, withSignature: false), forKey: JSONKey("bleu")) }
        if let chrf { try c.encode(CHRFJSON(score: chrf, withSignature: false), forKey: JSONKey("chrf")) }
        if let exactMatch { try c.encode(exactMatch, forKey: JSONKey("exact_match")) }
    }
}

extension TextCorpusScores: Encodable {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(count, forKey: JSONKey("n"))
        for (type, score) in rouge { try c.encode(score, forKey: JSONKey(type.description)) }
        if let bleu { try c.encode(BLEUJSON(score: bleu, withSignature: true), forKey: JSONKey("bleu")) }
        if let chrf { try c.encode(CHRFJSON(score: chrf, withSignature: true), forKey: JSONKey("chrf")) }
        if let exactMatch { try c.encode(exactMatch, forKey: JSONKey("exact_match")) }
    }
}

extension TextEvaluationReport: Encodable {
    private struct Problem: Encodable {
        let line: Int
        let error: String
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(path, forKey: JSONKey("file"))
        try c.encode(metrics.map(\.rawValue), forKey: JSONKey("metrics"))
        try c.encode(useStemmer, forKey: JSONKey("stemmer"))
        try c.encode(examples, forKey: JSONKey("examples"))
        try c.encode(corpus, forKey: JSONKey("corpus"))
        try c.encode(skipped.map { Problem(line: $0.line, error: $0.description) }, forKey: JSONKey("skipped"))
        try c.encode(isComplete, forKey: JSONKey("complete"))
        if let stoppedAt { try c.encode(stoppedAt.description, forKey: JSONKey("error")) }
        if let sentenceBLEUSignature { try c.encode(sentenceBLEUSignature, forKey: JSONKey("sentence_bleu_signature")) }
    }
}
