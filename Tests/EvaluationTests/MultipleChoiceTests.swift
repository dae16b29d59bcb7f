import Foundation
import Testing
@testable import Evaluation

@Suite struct MultipleChoiceTests {
    private func fixture(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: name)
        return try #require(Bundle.module.url(forResource: url.deletingPathExtension().lastPathComponent,
                                              withExtension: url.pathExtension,
                                              subdirectory: "Fixtures/multiple_choice")).path
    }

    @Test func csvReaderHandlesQuotesAndLineBreaks() throws {
        let records = try CSVReader.records("a,\"b,c\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",x\n\nlast")
        #expect(records == [CSVRecord(fields: ["a", "b,c", "say \"hi\""], line: 1),
                            CSVRecord(fields: ["two\nlines", "x"], line: 2),
                            CSVRecord(fields: ["last"], line: 5)])
        #expect(throws: CSVReader.UnterminatedQuote.self) { try CSVReader.records("a,\"open\nb") }
    }

    @Test func loadsHeaderlessMMLUCSV() throws {
        let set = try MultipleChoiceSet.load(path: try fixture("general_knowledge_test.csv"))
        #expect(set.questions.count == 12)
        #expect(set.subject == "general_knowledge")
        let sorted = set.questions[9]
        #expect(sorted.choices == ["3, 1, 2", "1, 2, 3", "2, 3, 1", "3, 2, 1"])
        #expect(sorted.answerLetter == "B")
        #expect(sorted.line == 10)
        let dev = try MultipleChoiceSet.load(path: try fixture("general_knowledge_dev.csv"))
        #expect(dev.questions[4].question == "In the word \"banana\", how many times does the letter a appear?")
        #expect(MultipleChoiceSet.devFile(besides: set.path) == dev.path)
    }

    @Test func loadsCEvalAndCMMLUCSV() throws {
        let val = try MultipleChoiceSet.load(path: try fixture("computer_network_val.csv"))
        #expect(val.questions.map(\.id) == ["0", "1", "2"])
        #expect(val.questions[2].question.contains("\n"))
        #expect(val.questions[2].line == 4)
        #expect(val.questions.map(\.answer) == [2, 2, 2])
        let dev = try MultipleChoiceSet.load(path: try fixture("computer_network_dev.csv"))
        #expect(dev.questions[1].explanation == "DNS 把域名映射到 IP 地址。")
        #expect(MultipleChoiceSet.devFile(besides: val.path) == dev.path)

        let cmmlu = try MultipleChoiceSet.load(path: try fixture("cmmlu_style.csv"))
        #expect(cmmlu.questions.map(\.question) == ["一年有几个季节？", "水的化学式是："])
        #expect(cmmlu.questions.map(\.answer) == [2, 0])
    }

    @Test func loadsJSONLInBothLayouts() throws {
        let set = try MultipleChoiceSet.load(path: try fixture("general_knowledge.jsonl"))
        #expect(set.questions.count == 6)
        #expect(set.questions.map(\.answer) == [2, 1, 2, 1, 1, 2])
        let letters = Data(#"{"question": "Q", "A": "x", "B": "y", "answer": "b", "id": 4}"#.utf8)
        let q = try MultipleChoiceSet.parseJSONL(letters, path: "m.jsonl", onMalformed: .stop).questions[0]
        #expect(q.choices == ["x", "y"])
        #expect(q.answer == 1)
        #expect(q.id == "4")
    }

    @Test func malformedRecordsNameFileAndLine() throws {
        let path = try fixture("broken.csv")
        #expect(throws: MultipleChoiceError.malformed(LineProblem(path: path, line: 3,
                                                                  reason: "3 fields, the header names 6 or more"))) {
            try MultipleChoiceSet.load(path: path)
        }
        let set = try MultipleChoiceSet.load(path: path, onMalformed: .skip)
        #expect(set.questions.map(\.line) == [2, 6])
        #expect(set.questions[1].answer == 3)
        #expect(set.skipped.map(\.line) == [3, 4, 5])
        #expect(set.skipped[1].reason == "answer \"E\" is not one of A–D")
        #expect(set.skipped[2].reason.hasPrefix("no answer"))

        let bad = Data("{\"question\": \"Q\", \"choices\": [\"a\", \"b\"], \"answer\": 2}\nnot json\n".utf8)
        let skipped = try? MultipleChoiceSet.parseJSONL(bad, path: "b.jsonl", onMalformed: .skip)
        #expect(skipped == nil)  // nothing usable is an error too
        #expect(throws: MultipleChoiceError.malformed(LineProblem(path: "b.jsonl", line: 1,
                                                                  reason: "answer index 2 is outside 0..<2"))) {
            try MultipleChoiceSet.parseJSONL(bad, path: "b.jsonl", onMalformed: .stop)
        }
        #expect(throws: MultipleChoiceError.unsupportedFormat(path: "x.txt")) { try MultipleChoiceSet.load(path: "x.txt") }
    }

    @Test func mmluPromptMatchesTheHarnessTemplate() throws {
        let dev = try MultipleChoiceSet.load(path: try fixture("general_knowledge_dev.csv")).questions
        let test = try MultipleChoiceSet.load(path: try fixture("general_knowledge_test.csv")).questions
        let prompt = MultipleChoicePrompt()
        let shots = MultipleChoicePrompt.fewShotExamples(for: test[1], from: dev, k: 2, poolIsEvaluatedSplit: false)
        let expected = """
            The following are multiple choice questions (with answers) about general knowledge.

            How many days are there in a leap year?
            A. 364
            B. 365
            C. 366
            D. 367
            Answer: C

            Which gas do plants take in from the air to make sugar?
            A. Oxygen
            B. Nitrogen
            C. Carbon dioxide
            D. Helium
            Answer: C

            Which planet is closest to the Sun?
            A. Venus
            B. Earth
            C. Mercury
            D. Mars
            Answer:
            """
        #expect(prompt.context(for: test[1], examples: shots, subject: "general_knowledge") == expected)
        #expect(prompt.continuations(for: test[1]) == [" A", " B", " C", " D"])
        // Zero-shot: description and question only; the question is stripped, choices are not.
        let q = MultipleChoiceQuestion(question: "  Why?\n", choices: [" x", "y "], answer: 0)
        #expect(prompt.context(for: q, examples: [], subject: nil)
                == "The following are multiple choice questions (with answers).\n\nWhy?\nA.  x\nB. y \nAnswer:")
    }

    @Test func fewShotFromTheSameSplitLeavesTheQuestionOut() throws {
        let test = try MultipleChoiceSet.load(path: try fixture("general_knowledge_test.csv")).questions
        let shots = MultipleChoicePrompt.fewShotExamples(for: test[1], from: test, k: 2, poolIsEvaluatedSplit: true)
        #expect(shots.map(\.line) == [1, 3])
        let later = MultipleChoicePrompt.fewShotExamples(for: test[8], from: test, k: 2, poolIsEvaluatedSplit: true)
        #expect(later.map(\.line) == [1, 2])
        #expect(MultipleChoicePrompt.fewShotExamples(for: test[0], from: test, k: 0, poolIsEvaluatedSplit: true).isEmpty)
    }

    @Test func cevalPromptUsesChineseDescriptionAndCue() throws {
        let val = try MultipleChoiceSet.load(path: try fixture("computer_network_val.csv")).questions
        let dev = try MultipleChoiceSet.load(path: try fixture("computer_network_dev.csv")).questions
        let prompt = MultipleChoicePrompt(style: .ceval)
        let text = prompt.context(for: val[0], examples: Array(dev.prefix(1)), subject: "computer_network")
        #expect(text == "以下是中国关于计算机网络的单项选择题，请选出其中的正确答案。\n\n"
                + "IPv4 地址的长度是多少位？\nA. 16\nB. 32\nC. 64\nD. 128\n答案： B\n\n"
                + "在 TCP/IP 模型中，IP 协议工作在哪一层？\nA. 应用层\nB. 传输层\nC. 网络层\nD. 链路层\n答案：")
    }
}

@Suite struct MultipleChoiceScoringTests {
    private let question = MultipleChoiceQuestion(subject: "s", question: "Q", choices: ["a", "b", "c", "d"], answer: 2)

    @Test func picksTheMostLikelyChoiceLikeNumpyArgmax() {
        let o = MultipleChoiceScoring.outcome(for: question, logLikelihoods: [-3, -1, -1, -2])
        #expect(o.predicted == 1)  // first of the tied maxima
        #expect(!o.correct)
        #expect(MultipleChoiceScoring.argmax([-1, .nan, 0]) == 1)
        // With different choice lengths acc_norm divides by characters.
        let long = MultipleChoiceScoring.outcome(for: question, logLikelihoods: [-8, -3, -6, -9],
                                                 choiceTexts: ["aaaa", "b", "cccccc", "ddd"])
        #expect(long.predicted == 1)
        #expect(long.predictedNormalized == 2)
        #expect(long.correctNormalized)
    }

    @Test func summaryBySubject() {
        let other = MultipleChoiceQuestion(subject: "t", question: "Q", choices: ["a", "b"], answer: 0)
        let outcomes = [MultipleChoiceScoring.outcome(for: question, logLikelihoods: [0, 0, 1, 0]),
                        MultipleChoiceScoring.outcome(for: question, logLikelihoods: [1, 0, 0, 0]),
                        MultipleChoiceScoring.outcome(for: other, logLikelihoods: [0, -1])]
        let summary = MultipleChoiceScoring.summary(outcomes)
        #expect(summary.overall.n == 3)
        #expect(summary.overall.accuracy == 2.0 / 3)
        #expect(summary.bySubject["s"]?.accuracy == 0.5)
        #expect(summary.bySubject["t"]?.n == 1)
        #expect(MultipleChoiceScoring.summary([]).overall.n == 0)
    }

    @Test func logSoftmaxIsStableAndNormalised() {
        let logits: [Float] = [1000, 1000, 998]
        logits.withUnsafeBufferPointer { buf in
            let lp0 = MultipleChoiceScoring.logProbability(of: 0, logits: buf) ?? .nan
            let lp2 = MultipleChoiceScoring.logProbability(of: 2, logits: buf) ?? .nan
            let z = 2 + exp(-2.0)
            #expect(abs(lp0 - -log(z)) < 1e-12)
            #expect(abs(lp2 - (-2 - log(z))) < 1e-12)
            #expect(abs(exp(lp0) * 2 + exp(lp2) - 1) < 1e-12)
            #expect(MultipleChoiceScoring.logProbability(of: 3, logits: buf) == nil)
            #expect(MultipleChoiceScoring.logProbability(of: -1, logits: buf) == nil)
        }
    }
}
