import Foundation
import Testing
import TestSupport
@testable import Training

private func parse(_ text: String, policy: MalformedLinePolicy = .stop) throws -> Dataset {
    try Dataset.parse(Data(text.utf8), path: "data.jsonl", onMalformed: policy)
}

@Suite struct DatasetTests {
    @Test func recognisesEveryLayout() throws {
        #expect(try parse(#"{"text": "hello"}"#).examples.first?.record == .text("hello"))
        #expect(try parse(#"{"prompt": "p", "completion": "c"}"#).examples.first?.record == .promptCompletion(prompt: "p", completion: "c"))
        #expect(try parse(#"{"instruction": "i", "output": "o"}"#).examples.first?.record == .instruction(instruction: "i", input: "", output: "o"))
        #expect(try parse(#"{"prompt": "p", "chosen": "a", "rejected": "b"}"#).examples.first?.record == .preference(prompt: "p", chosen: "a", rejected: "b"))
        let chat = try parse(#"{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "model", "content": "m"}]}"#)
        #expect(chat.examples.first?.record == .conversation([
            .system("s"), .user("u"),
            .assistant("m"),
        ]))
    }

    @Test func malformedLineNamesFileAndLine() throws {
        let text = "{\"text\": \"a\"}\n\n{\"text\": \"b\"\n{\"text\": 3}\n{\"text\": \"c\"}\r\n"
        do {
            _ = try parse(text)
            Issue.record("expected an error")
        } catch let error as DatasetError {
            #expect(error == .malformedLine(path: "data.jsonl", line: 3, reason: "not valid JSON"))
            #expect(error.description.hasPrefix("data.jsonl:3:"))
        }
        let skipped = try parse(text, policy: .skip)
        #expect(skipped.examples.map(\.record) == [.text("a"), .text("c")])
        #expect(skipped.examples.map(\.line) == [1, 5])
        #expect(skipped.warnings.count == 2)
        #expect(skipped.warnings[1].contains("data.jsonl:4"))
        #expect(skipped.warnings[1].contains("\"text\" must be a string"))
    }

    @Test func rejectsMixedLayoutsEmptyFilesAndUnknownRoles() {
        #expect(throws: DatasetError.mixedKinds(path: "data.jsonl", line: 2, expected: .text, found: .promptCompletion)) {
            try parse("{\"text\": \"a\"}\n{\"prompt\": \"p\", \"completion\": \"c\"}")
        }
        #expect(throws: DatasetError.empty(path: "data.jsonl")) { try parse("\n  \n") }
        #expect(throws: DatasetError.self) { try parse(#"{"messages": [{"role": "robot", "content": "x"}]}"#) }
        #expect(throws: DatasetError.self) { try parse(#"{"unrelated": 1}"#) }
        #expect(throws: DatasetError.self) { try Dataset.load(path: "/nonexistent/file.jsonl") }
    }

    @Test func seededSplitIsDeterministicAndDisjoint() throws {
        let text = (0..<20).map { "{\"text\": \"t\($0)\"}" }.joined(separator: "\n")
        let data = try parse(text)
        let a = data.split(validationFraction: 0.2, seed: 7)
        let b = data.split(validationFraction: 0.2, seed: 7)
        #expect(a.train == b.train && a.validation == b.validation)
        #expect(a.validation.count == 4 && a.train.count == 16)
        #expect(Set(a.train.map(\.line)).isDisjoint(with: a.validation.map(\.line)))
        #expect(data.split(validationFraction: 0.2, seed: 8).validation != a.validation)
        #expect(data.split(validationFraction: 0, seed: 7).validation.isEmpty)
    }

    @Test func shippedSamplesLoad() throws {
        let root = TestModels.repositoryRoot.appendingPathComponent("data/samples")
        let sft = try Dataset.load(path: root.appendingPathComponent("sft.jsonl").path)
        #expect(sft.kind == .conversation && sft.count == 48 && sft.warnings.isEmpty)
        let prefs = try Dataset.load(path: root.appendingPathComponent("preferences.jsonl").path)
        #expect(prefs.kind == .preference && prefs.count == 24)
        try prefs.requireKind([.preference])
        #expect(throws: DatasetError.self) { try sft.requireKind([.preference]) }
    }
}
