import Foundation
import Testing
@testable import Evaluation

/// Every number in the reference fixtures (rouge-score 0.1.2, sacreBLEU 2.6.0, NLTK 3.10.4; see
/// Fixtures/metrics-reference-README.md and scripts/make_metric_fixtures.py) reproduced to 1e-9.
enum MetricFixtures {
    static func load(_ name: String) throws -> [String: Any] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw FixtureError("missing fixture Fixtures/\(name).json")
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw FixtureError("Fixtures/\(name).json is not a JSON object")
        }
        return object
    }

    struct FixtureError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    static let tolerance = 1e-9
}

private func number(_ any: Any?) -> Double? { (any as? NSNumber)?.doubleValue }
private func ints(_ any: Any?) -> [Int]? { (any as? [NSNumber])?.map(\.intValue) }

private func expectClose(_ actual: Double, _ expected: Any?, _ what: String) {
    guard let e = number(expected) else {
        Issue.record("\(what): no expected number")
        return
    }
    #expect(abs(actual - e) <= MetricFixtures.tolerance, "\(what): \(actual) vs \(e)")
}

private func checkRouge(_ scorer: RougeScorer, reference: String, prediction: String, expected: [String: Any], _ label: String) {
    for (type, score) in scorer.score(reference: reference, prediction: prediction) {
        guard let e = expected[type.description] as? [String: Any] else {
            Issue.record("\(label) \(type): not in fixture")
            continue
        }
        expectClose(score.precision, e["precision"], "\(label) \(type) precision")
        expectClose(score.recall, e["recall"], "\(label) \(type) recall")
        expectClose(score.fmeasure, e["fmeasure"], "\(label) \(type) fmeasure")
    }
}

private func checkBLEU(_ score: BLEUScore, _ expected: Any?, _ label: String, formatted: Bool = false) {
    guard let e = expected as? [String: Any] else {
        Issue.record("\(label): not in fixture")
        return
    }
    expectClose(score.score, e["score"], "\(label) score")
    #expect(score.counts == ints(e["counts"]), "\(label) counts")
    #expect(score.totals == ints(e["totals"]), "\(label) totals")
    if let ps = e["precisions"] as? [NSNumber], ps.count == score.precisions.count {
        for (k, p) in ps.enumerated() { expectClose(score.precisions[k], p, "\(label) precision \(k + 1)") }
    } else {
        Issue.record("\(label): precisions differ in length")
    }
    expectClose(score.bp, e["bp"], "\(label) bp")
    #expect(score.sysLen == (e["sys_len"] as? Int), "\(label) sys_len")
    #expect(score.refLen == (e["ref_len"] as? Int), "\(label) ref_len")
    #expect(score.signature == (e["signature"] as? String), "\(label) signature")
    if formatted {
        #expect(score.shortSignature == (e["signature_short"] as? String), "\(label) short signature")
        #expect(score.formatted == (e["formatted"] as? String), "\(label) formatted")
    }
}

@Suite struct PublicReferenceTests {
    let fixture: [String: Any]
    let pairs: [[String: Any]]

    init() throws {
        fixture = try MetricFixtures.load("public_expected")
        pairs = fixture["pairs"] as? [[String: Any]] ?? []
    }

    @Test func fixtureIsComplete() throws {
        #expect(pairs.count == 25)
        #expect(fixture["n_pairs"] as? Int == 25)
        let versions = (fixture["meta"] as? [String: Any])?["versions"] as? [String: String]
        #expect(versions?["rouge-score"] == "0.1.2")
        #expect(versions?["sacrebleu"] == SacreBLEU.compatibleVersion)
        // The JSONL input the command reads holds the same pairs.
        let url = try #require(Bundle.module.url(forResource: "public", withExtension: "jsonl", subdirectory: "Fixtures"))
        let report = try TextEvaluation(metrics: [.rouge1]).evaluate(file: url.path)
        #expect(report.examples.map(\.id) == pairs.map { $0["id"] as? String ?? "" })
    }

    @Test func rougeWithAndWithoutStemmer() {
        let plain = RougeScorer(useStemmer: false), stemmed = RougeScorer(useStemmer: true)
        for pair in pairs {
            let id = pair["id"] as? String ?? "?", p = pair["prediction"] as? String ?? "", r = pair["reference"] as? String ?? ""
            let rouge = pair["rouge"] as? [String: Any]
            checkRouge(plain, reference: r, prediction: p, expected: rouge?["no_stemmer"] as? [String: Any] ?? [:], "\(id) plain")
            checkRouge(stemmed, reference: r, prediction: p, expected: rouge?["stemmer"] as? [String: Any] ?? [:], "\(id) stem")
            // Each type alone gives the same numbers (rougeLsum alone skips whole-text tokenization).
            for type in RougeType.standard {
                let alone = stemmed.score(type, reference: r, prediction: p)
                let all = stemmed.score(reference: r, prediction: p).first { $0.type == type }?.score
                #expect(alone == all, "\(id) \(type) alone")
            }
        }
    }

    @Test func rougeTokens() {
        let plain = RougeScorer(useStemmer: false), stemmed = RougeScorer(useStemmer: true)
        for pair in pairs {
            let id = pair["id"] as? String ?? "?"
            let tokens = pair["rouge_tokens"] as? [String: Any] ?? [:]
            for side in ["prediction", "reference"] {
                let text = pair[side] as? String ?? ""
                #expect(plain.tokenize(text) == tokens[side] as? [String], "\(id) \(side)")
                #expect(stemmed.tokenize(text) == tokens["\(side)_stemmed"] as? [String], "\(id) \(side) stemmed")
                #expect(plain.sentenceTokens(text) == tokens["\(side)_lsum_sentences"] as? [[String]], "\(id) \(side) lsum")
                #expect(stemmed.sentenceTokens(text) == tokens["\(side)_lsum_sentences_stemmed"] as? [[String]],
                        "\(id) \(side) lsum stemmed")
            }
        }
    }

    @Test func porterStems() {
        let stems = fixture["porter_stems"] as? [String: String] ?? [:]
        #expect(stems.count > 200)
        let stemmer = PorterStemmer()
        for (word, stem) in stems {
            #expect(stemmer.stem(word) == stem, "\(word)")
        }
    }

    @Test func sentenceBLEU() {
        for pair in pairs {
            let id = pair["id"] as? String ?? "?", p = pair["prediction"] as? String ?? "", r = pair["reference"] as? String ?? ""
            checkBLEU(BLEU.sentenceDefault.sentenceScore(hypothesis: p, references: [r]), pair["sentence_bleu"],
                      "\(id) sentence_bleu", formatted: true)
            checkBLEU(BLEU(effectiveOrder: false).sentenceScore(hypothesis: p, references: [r]),
                      pair["sentence_bleu_no_effective_order"], "\(id) no-eff")
            checkBLEU(BLEU(tokenizer: .zh, effectiveOrder: true).sentenceScore(hypothesis: p, references: [r]),
                      pair["sentence_bleu_zh"], "\(id) zh")
            let tokenized = pair["bleu_tokenized"] as? [String: [String: String]] ?? [:]
            for tokenizer in [BLEUTokenizer.thirteenA, .zh] {
                let bleu = BLEU(tokenizer: tokenizer)
                #expect(bleu.preprocess(p) == tokenized[tokenizer.rawValue]?["prediction"], "\(id) \(tokenizer) prediction")
                #expect(bleu.preprocess(r) == tokenized[tokenizer.rawValue]?["reference"], "\(id) \(tokenizer) reference")
            }
        }
    }

    @Test func corpusBLEUAndChrF() throws {
        let predictions = pairs.map { $0["prediction"] as? String ?? "" }
        let references = pairs.map { $0["reference"] as? String ?? "" }
        checkBLEU(try BLEU.corpusDefault.corpusScore(hypotheses: predictions, references: [references]),
                  fixture["corpus_bleu"], "corpus_bleu", formatted: true)
        checkBLEU(try BLEU(tokenizer: .zh).corpusScore(hypotheses: predictions, references: [references]),
                  fixture["corpus_bleu_zh"], "corpus_bleu_zh", formatted: true)

        let chrf = try CHRF().corpusScore(hypotheses: predictions, references: [references])
        let expected = fixture["corpus_chrf"] as? [String: Any] ?? [:]
        expectClose(chrf.score, expected["score"], "corpus chrF")
        #expect(chrf.stats == expected["stats"] as? [[Int]])
        #expect(chrf.signature == expected["signature"] as? String)
        #expect(chrf.shortSignature == expected["signature_short"] as? String)
        #expect(chrf.formatted == expected["formatted"] as? String)
    }

    @Test func sentenceChrF() {
        for pair in pairs {
            let id = pair["id"] as? String ?? "?", p = pair["prediction"] as? String ?? "", r = pair["reference"] as? String ?? ""
            let expected = pair["sentence_chrf"] as? [String: Any] ?? [:]
            let chrf = CHRF().sentenceScore(hypothesis: p, references: [r])
            expectClose(chrf.score, expected["score"], "\(id) chrF")
            #expect(chrf.stats == expected["stats"] as? [[Int]], "\(id) chrF stats")
        }
    }
}

/// Edge cases generated by scripts/make_metric_fixtures.py with the same libraries.
@Suite struct ExtraReferenceTests {
    let fixture: [String: Any]

    init() throws {
        fixture = try MetricFixtures.load("extra_expected")
    }

    @Test func tokenizerCornerCases() {
        let cases = fixture["tokenizer_cases"] as? [[String: Any]] ?? []
        #expect(cases.count >= 20)
        let plain = RougeScorer(), stemmed = RougeScorer(useStemmer: true)
        for c in cases {
            let text = c["text"] as? String ?? ""
            #expect(BLEU(tokenizer: .thirteenA).preprocess(text) == c["13a"] as? String, "13a \(text.debugDescription)")
            #expect(BLEU(tokenizer: .zh).preprocess(text) == c["zh"] as? String, "zh \(text.debugDescription)")
            #expect(plain.tokenize(text) == c["rouge"] as? [String], "rouge \(text.debugDescription)")
            #expect(stemmed.tokenize(text) == c["rouge_stemmed"] as? [String], "rouge stemmed \(text.debugDescription)")
        }
    }

    @Test func porterStemsOfASyntheticVocabulary() {
        let stems = fixture["porter_stems"] as? [String: String] ?? [:]
        #expect(stems.count > 2000)
        let stemmer = PorterStemmer()
        var wrong: [String] = []
        for (word, stem) in stems where stemmer.stem(word) != stem {
            wrong.append("\(word): \(stemmer.stem(word)) != \(stem)")
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(20))")
    }

    @Test func randomPairs() {
        let pairs = fixture["pairs"] as? [[String: Any]] ?? []
        #expect(pairs.count > 50)
        let types: [RougeType] = [.n(1), .n(2), .n(3), .l, .lsum]
        let plain = RougeScorer(types: types), stemmed = RougeScorer(types: types, useStemmer: true)
        for (i, pair) in pairs.enumerated() {
            let p = pair["prediction"] as? String ?? "", r = pair["reference"] as? String ?? ""
            checkRouge(plain, reference: r, prediction: p, expected: pair["rouge"] as? [String: Any] ?? [:], "#\(i) plain")
            checkRouge(stemmed, reference: r, prediction: p, expected: pair["rouge_stemmed"] as? [String: Any] ?? [:], "#\(i) stem")
            checkBLEU(BLEU.sentenceDefault.sentenceScore(hypothesis: p, references: [r]), pair["sentence_bleu"], "#\(i) bleu")
            checkBLEU(BLEU(tokenizer: .zh, effectiveOrder: true).sentenceScore(hypothesis: p, references: [r]),
                      pair["sentence_bleu_zh"], "#\(i) bleu zh")
            let smoothers: [(String, BLEU.Smoothing)] = [("none", .none), ("floor", .floor(0.1)), ("add-k", .addK(1))]
            for (name, smoothing) in smoothers {
                checkBLEU(BLEU(smoothing: smoothing, effectiveOrder: true).sentenceScore(hypothesis: p, references: [r]),
                          pair["sentence_bleu_\(name)"], "#\(i) bleu \(name)")
            }
            expectClose(CHRF().sentenceScore(hypothesis: p, references: [r]).score,
                        (pair["sentence_chrf"] as? [String: Any])?["score"], "#\(i) chrF")
            let plus = CHRF(wordOrder: 2).sentenceScore(hypothesis: p, references: [r])
            let expectedPlus = pair["sentence_chrf_plus"] as? [String: Any]
            expectClose(plus.score, expectedPlus?["score"], "#\(i) chrF++")
            #expect(plus.signature == expectedPlus?["signature"] as? String)
        }
    }

    @Test func corpusScoresAndMultipleReferences() throws {
        let pairs = fixture["pairs"] as? [[String: Any]] ?? []
        let predictions = pairs.map { $0["prediction"] as? String ?? "" }
        let references = pairs.map { $0["reference"] as? String ?? "" }
        checkBLEU(try BLEU.corpusDefault.corpusScore(hypotheses: predictions, references: [references]),
                  fixture["corpus_bleu"], "corpus bleu")
        checkBLEU(try BLEU(tokenizer: .zh).corpusScore(hypotheses: predictions, references: [references]),
                  fixture["corpus_bleu_zh"], "corpus bleu zh")
        let chrf = fixture["corpus_chrf"] as? [String: Any]
        expectClose(try CHRF().corpusScore(hypotheses: predictions, references: [references]).score, chrf?["score"], "corpus chrF")
        let plus = fixture["corpus_chrf_plus"] as? [String: Any]
        expectClose(try CHRF(wordOrder: 2).corpusScore(hypotheses: predictions, references: [references]).score,
                    plus?["score"], "corpus chrF++")

        for (i, row) in (fixture["multi_reference"] as? [[String: Any]] ?? []).enumerated() {
            let p = row["prediction"] as? String ?? "", refs = row["references"] as? [String] ?? []
            checkBLEU(BLEU.sentenceDefault.sentenceScore(hypothesis: p, references: refs), row["sentence_bleu"], "multi #\(i)")
            expectClose(CHRF().sentenceScore(hypothesis: p, references: refs).score,
                        (row["sentence_chrf"] as? [String: Any])?["score"], "multi #\(i) chrF")
            let rougeTypes: [RougeType] = [.n(1), .n(2), .n(3), .l, .lsum]
            let multi = RougeScorer(types: rougeTypes).score(references: refs, prediction: p)
            let expectedMulti = row["rouge_multi"] as? [String: Any] ?? [:]
            for (type, score) in multi {
                let e = expectedMulti[type.description] as? [String: Any]
                expectClose(score.fmeasure, e?["fmeasure"], "multi #\(i) \(type) F")
                expectClose(score.precision, e?["precision"], "multi #\(i) \(type) P")
                expectClose(score.recall, e?["recall"], "multi #\(i) \(type) R")
            }
        }

        // Segments with 1, 2 or 3 references: sacreBLEU's nrefs:var corpus scores.
        let variable = fixture["corpus_variable_references"] as? [String: Any] ?? [:]
        let rows = fixture["multi_reference"] as? [[String: Any]] ?? []
        let sets = variable["reference_sets"] as? [[String]] ?? []
        let hyps = rows.map { $0["prediction"] as? String ?? "" }
        checkBLEU(try BLEU.corpusDefault.corpusScore(hypotheses: hyps, referenceSets: sets), variable["bleu"], "variable refs")
        let chrfVariable = try CHRF().corpusScore(hypotheses: hyps, referenceSets: sets)
        expectClose(chrfVariable.score, (variable["chrf"] as? [String: Any])?["score"], "variable refs chrF")
        #expect(chrfVariable.signature == (variable["chrf"] as? [String: Any])?["signature"] as? String)
    }
}
