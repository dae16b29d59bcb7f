import Foundation
import Testing
@testable import Evaluation
import Engine

/// Small hand-worked cases; the reference libraries' numbers are in MetricsReferenceTests.
@Suite struct TextMetricsTests {
    @Test func rougeByHand() {
        // "the cat sat on the mat" vs "the cat on the mat": 5 of 5 predicted unigrams match.
        let scorer = RougeScorer()
        let s = Dictionary(uniqueKeysWithValues: scorer.score(reference: "the cat sat on the mat",
                                                              prediction: "the cat on the mat").map { ($0.type.description, $0.score) })
        #expect(s["rouge1"] == RougeScore(precision: 1, recall: 5.0 / 6, fmeasure: 2 * (5.0 / 6) / (1 + 5.0 / 6)))
        // bigrams: prediction {the cat, cat on, on the, the mat}; reference has 3 of them.
        #expect(s["rouge2"]?.precision == 3.0 / 4)
        #expect(s["rouge2"]?.recall == 3.0 / 5)
        #expect(s["rougeL"]?.precision == 1)
        #expect(scorer.score(.l, reference: "", prediction: "x") == .zero)
        #expect(scorer.score(.n(1), reference: "a", prediction: "") == .zero)
    }

    @Test func lcsLengthWithTwoRowsEqualsTheFullTable() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<50 {
            let a = (0..<Int.random(in: 0...40, using: &generator)).map { _ in Int32.random(in: 0..<5, using: &generator) }
            let b = (0..<Int.random(in: 0...40, using: &generator)).map { _ in Int32.random(in: 0..<5, using: &generator) }
            #expect(LCSTable.length(a, b) == LCSTable(a, b).length)
            #expect(LCSTable.length(b, a) == LCSTable(a, b).length)
        }
        // A long document: 20,000 x 20,000 tokens would need 1.6 GB as a full table.
        let long = (0..<20_000).map { Int32($0 % 97) }
        #expect(LCSTable.length(long, Array(long.reversed().prefix(50))) > 0)
    }

    @Test func rougeTypeNames() {
        #expect(RougeType(name: "rouge3") == .n(3))
        #expect(RougeType(name: "rouge0") == nil)
        #expect(RougeType(name: "rouge10") == nil)
        #expect(RougeType(name: "rougeLsum") == .lsum)
        #expect(RougeType.standard.map(\.description) == ["rouge1", "rouge2", "rougeL", "rougeLsum"])
    }

    @Test func rougeTokenizerKeepsOnlyASCIIAlphanumerics() {
        let scorer = RougeScorer()
        #expect(scorer.tokenize("Hello, World! It's 2023-11-23.") == ["hello", "world", "it", "s", "2023", "11", "23"])
        #expect(scorer.tokenize("café naïve") == ["caf", "na", "ve"])
        #expect(RougeScorer(useStemmer: true).tokenize("running dogs ran") == ["run", "dog", "ran"])
        // Lines split on "\n" only; "\r" is dropped by the tokenizer, empty lines vanish.
        #expect(scorer.sentenceTokens("one two\r\n\nthree") == [["one", "two"], ["three"]])
    }

    @Test func rougeLsumCountsEachTokenOnce() {
        // Both prediction lines contain "markets rallied"; the reference has it once, so it counts once.
        let s = RougeScorer(types: [.lsum]).score(.lsum, reference: "markets rallied", prediction: "markets rallied\nmarkets rallied")
        #expect(s.recall == 1)
        #expect(s.precision == 0.5)
    }

    @Test func porterStemmerKnownWords() {
        let stemmer = PorterStemmer()
        let cases = ["caresses": "caress", "ponies": "poni", "ties": "tie", "dies": "die", "dying": "die",
                     "agreed": "agre", "plastered": "plaster", "hopping": "hop", "filing": "file", "happy": "happi",
                     "enjoy": "enjoy", "relational": "relat", "generalization": "gener", "geology": "geolog",
                     "is": "is", "Running": "run", "syzygy": "syzygi", "yyyy": "yyyi"]
        for (word, stem) in cases {
            #expect(stemmer.stem(word) == stem, "\(word)")
        }
    }

    @Test func bleuTokenizers() {
        #expect(BLEUTokenizer.thirteenA.tokenize("Hello, world! 3.14 and 1,000 -- a-b (x)") ==
                "Hello , world ! 3.14 and 1,000 -- a-b ( x )")
        // The entities are replaced one after another, so "&amp;lt;" ends as "<" (as in sacreBLEU).
        #expect(BLEUTokenizer.thirteenA.tokenize("a &amp;lt; b") == "a < b")
        #expect(BLEUTokenizer.zh.tokenize("我喜欢Python。") == "我 喜 欢 Python 。")
        #expect(BLEUTokenizer.none.tokenize(" as is ") == " as is ")
        // sacreBLEU's zh range quirk: general punctuation such as the em dash counts as Chinese.
        #expect(BLEUTokenizer.zh.tokenize("a—b") == "a — b")
    }

    @Test func bleuByHand() throws {
        let identical = BLEU.sentenceDefault.sentenceScore(hypothesis: "a b c d", references: ["a b c d"])
        #expect(abs(identical.score - 100) < 1e-9)
        #expect(identical.counts == [4, 3, 2, 1])
        // One word: effective order stops at unigrams, so sentence BLEU is the unigram precision.
        let oneWord = BLEU.sentenceDefault.sentenceScore(hypothesis: "a", references: ["a"])
        #expect(abs(oneWord.score - 100) < 1e-9)
        #expect(BLEU(effectiveOrder: false).sentenceScore(hypothesis: "a", references: ["a"]).score == 0)
        // Short hypothesis: brevity penalty exp(1 - 4/2).
        let short = BLEU.sentenceDefault.sentenceScore(hypothesis: "a b", references: ["a b c d"])
        #expect(abs(short.bp - exp(-1.0)) < 1e-15)
        #expect(BLEU.closestReferenceLength(5, [3, 7, 9]) == 3)
        #expect(throws: MetricError.self) { try BLEU().corpusScore(hypotheses: ["a"], references: [["a", "b"]]) }
        #expect(BLEU(smoothing: .floor(0.1)).signature(numberOfReferences: 2)
                == "nrefs:2|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:\(SacreBLEU.compatibleVersion)")
    }

    @Test func chrfByHand() {
        let same = CHRF().sentenceScore(hypothesis: "abc", references: ["a b c"])
        #expect(same.score == 100)  // whitespace is removed before character n-grams
        #expect(same.stats[0] == [3, 3, 3])
        #expect(same.stats[3] == [0, 0, 0])
        #expect(CHRF().sentenceScore(hypothesis: "", references: ["abc"]).score == 0)
        #expect(CHRF(wordOrder: 2).name == "chrF2++")
        #expect(CHRF.separatePunctuation(PythonText.scalars("Hello, (world) !")).map { PythonText.string($0) }
                == ["Hello", ",", "(world", ")", "!"])
    }

    @Test func exactMatchNormalisations() {
        #expect(ExactMatch().score(prediction: "Paris", reference: "Paris") == 1)
        #expect(ExactMatch().score(prediction: "Paris ", reference: "Paris") == 0)
        // Code points, not canonical equivalence: precomposed é differs from e + combining accent.
        #expect(ExactMatch().score(prediction: "caf\u{E9}", reference: "cafe\u{301}") == 0)
        #expect(ExactMatch(normalization: .trim).score(prediction: "  Paris\n", reference: "Paris") == 1)
        let squad = ExactMatch(normalization: .squad)
        #expect(squad.score(prediction: "The  Eiffel Tower!", reference: "eiffel tower") == 1)
        #expect(squad.score(prediction: "an apple", reference: "apple") == 1)
        #expect(squad.score(prediction: "theatre", reference: "atre") == 0)
        #expect(PythonText.string(squad.normalize("«The» answer, a test")) == "« » answer test")
    }
}

@Suite struct TextEvaluationTests {
    private func data(_ lines: [String]) -> Data { Data(lines.joined(separator: "\n").utf8) }

    @Test func scoresPairsAndCorpus() {
        let lines = [#"{"id": "a", "prediction": "the cat sat", "reference": "the cat sat"}"#,
                     "",
                     #"{"prediction": "a dog", "reference": "the cat", "id": 7}"#]
        let report = TextEvaluation().evaluate(data: data(lines), path: "pairs.jsonl")
        #expect(report.isComplete)
        #expect(report.examples.map(\.id) == ["a", "7"])
        #expect(report.examples.map(\.line) == [1, 3])
        #expect(report.examples[0].exactMatch == 1)
        #expect(report.corpus.exactMatch == 0.5)
        #expect(report.corpus.rouge.first?.score.fmeasure == 0.5)
        #expect(report.corpus.bleu?.signature.contains("eff:no") == true)
        #expect(report.sentenceBLEUSignature?.contains("eff:yes") == true)
    }

    @Test func malformedLineStopsButKeepsWhatWasScored() {
        let lines = [#"{"prediction": "x", "reference": "x"}"#, "{not json", #"{"prediction": "y", "reference": "y"}"#]
        let report = TextEvaluation(metrics: [.exactMatch]).evaluate(data: data(lines), path: "p.jsonl")
        #expect(!report.isComplete)
        #expect(report.stoppedAt == LineProblem(path: "p.jsonl", line: 2, reason: "not valid JSON"))
        #expect(report.stoppedAt?.description == "p.jsonl:2: not valid JSON")
        #expect(report.examples.count == 1)
        #expect(report.corpus.count == 1)
    }

    @Test func malformedLinesCanBeSkipped() {
        let lines = [#"{"prediction": "x"}"#, #"{"prediction": 3, "reference": "x"}"#, "[1]",
                     #"{"prediction": "x", "reference": "x", "id": true}"#, #"{"prediction": "y", "reference": "y"}"#]
        let report = TextEvaluation(metrics: [.exactMatch], onMalformedLine: .skip).evaluate(data: data(lines), path: "p.jsonl")
        #expect(report.isComplete)
        #expect(report.examples.map(\.line) == [5])
        #expect(report.skipped.map(\.line) == [1, 2, 3, 4])
        #expect(report.skipped.map(\.reason) == ["missing \"reference\"", "\"prediction\" must be a string",
                                                  "expected a JSON object", "\"id\" must be a string or a number"])
    }

    @Test func callbackCanStopTheRun() {
        let lines = (0..<5).map { #"{"prediction": "p\#($0)", "reference": "r"}"# }
        var seen = 0
        let report = TextEvaluation(metrics: [.bleu]).evaluate(data: data(lines), path: "p.jsonl") { _ in
            seen += 1
            return seen == 2 ? .stop : .proceed
        }
        #expect(report.cancelled)
        #expect(report.examples.count == 2)
    }

    @Test func severalReferencesPerPair() {
        let lines = [#"{"id": "m", "prediction": "the cat sat", "references": ["a dog ran", "the cat sat"]}"#,
                     #"{"id": "s", "prediction": "hello", "reference": "hello"}"#,
                     #"{"prediction": "x", "references": []}"#]
        let report = TextEvaluation(onMalformedLine: .skip).evaluate(data: data(lines), path: "p.jsonl")
        #expect(report.examples.count == 2)
        #expect(report.examples[0].exactMatch == 1)  // matches the second reference
        #expect(report.examples[0].rouge.first?.score.fmeasure == 1)
        #expect(report.examples[0].bleu?.signature.hasPrefix("nrefs:2|") == true)
        #expect(report.corpus.bleu?.signature.hasPrefix("nrefs:var|") == true)
        #expect(report.sentenceBLEUSignature?.hasPrefix("nrefs:var|") == true)
        #expect(report.skipped.first?.reason == "\"references\" must be a non-empty array of strings")
    }

    @Test func metricListParsing() throws {
        #expect(try TextMetric.parseList("rouge1, bleu,rouge1,em") == [.rouge1, .bleu, .exactMatch])
        #expect(throws: TextEvaluationError.unknownMetric("meteor")) { try TextMetric.parseList("bleu,meteor") }
    }

    @Test func unreadableFileNamesThePath() {
        #expect(throws: TextEvaluationError.self) { try TextEvaluation().evaluate(file: "/nonexistent/pairs.jsonl") }
    }

    @Test func jsonHasTheContractShape() throws {
        let report = TextEvaluation(metrics: [.rouge1, .bleu, .chrf, .exactMatch])
            .evaluate(data: data([#"{"id": "x", "prediction": "a b c", "reference": "a b c"}"#]), path: "p.jsonl")
        let encoded = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        let example = try #require((object["examples"] as? [[String: Any]])?.first)
        #expect(example["id"] as? String == "x")
        #expect((example["rouge1"] as? [String: Any])?["fmeasure"] as? Double == 1)
        #expect((example["bleu"] as? [String: Any])?["counts"] as? [Int] == [3, 2, 1, 0])
        #expect(example["exact_match"] as? Double == 1)
        let corpus = try #require(object["corpus"] as? [String: Any])
        #expect((corpus["bleu"] as? [String: Any])?["signature"] as? String != nil)
        #expect((corpus["chrf"] as? [String: Any])?["score"] as? Double == 100)
        #expect(object["complete"] as? Bool == true)
    }
}
