import Foundation

/// One multiple-choice question with its correct answer.
public struct MultipleChoiceQuestion: Sendable, Equatable, Codable {
    public var id: String?
    public var subject: String?
    public var question: String
    public var choices: [String]
    /// Index into `choices` (0 = A).
    public var answer: Int
    /// C-Eval's dev split explains its answers.
    public var explanation: String?
    /// Line of the file the question starts on (0 when built in code).
    public var line: Int

    public init(id: String? = nil, subject: String? = nil, question: String, choices: [String], answer: Int,
                explanation: String? = nil, line: Int = 0) {
        self.id = id
        self.subject = subject
        self.question = question
        self.choices = choices
        self.answer = answer
        self.explanation = explanation
        self.line = line
    }

    public var answerLetter: String { MultipleChoiceSet.letter(answer) }

    /// Same question, choices and answer (lm-evaluation-harness compares documents by content
    /// when it removes the evaluated question from its own few-shot examples).
    func sameContent(as other: MultipleChoiceQuestion) -> Bool {
        question == other.question && choices == other.choices && answer == other.answer
    }
}

public enum MultipleChoiceError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unsupportedFormat(path: String)
    case empty(path: String)
    case malformed(LineProblem)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .unsupportedFormat(path):
            return "\(path): use a .csv (MMLU question,A,B,C,D,answer; C-Eval; CMMLU) or .jsonl file of questions"
        case let .empty(path):
            return "\(path) has no questions"
        case let .malformed(problem):
            return "\(problem); fix it or pass --on-error skip to leave it out"
        }
    }
}

/// Questions read from one file: MMLU CSV (`question,A,B,C,D,answer`, with or without a header
/// row, as in the original `{subject}_{dev,val,test}.csv` files), C-Eval CSV (`id,question,A,B,C,D,answer[,explanation]`),
/// CMMLU CSV (`,Question,A,B,C,D,Answer`), or JSONL (`{"question", "choices": [...], "answer": 0-based index or letter}`
/// or `{"question", "A", "B", ..., "answer": "B"}`, optional `"id"`, `"subject"`, `"explanation"`).
public struct MultipleChoiceSet: Sendable {
    public let path: String
    /// The subject named by the file (`abstract_algebra_test.csv` → "abstract_algebra"), if any.
    public let subject: String?
    public var questions: [MultipleChoiceQuestion]
    /// Records left out under `EvalLinePolicy.skip`.
    public var skipped: [LineProblem]

    static func letter(_ index: Int) -> String {
        guard index >= 0, index < 26, let scalar = Unicode.Scalar(UInt32(0x41 + index)) else { return "?" }
        return String(Character(scalar))
    }

    /// The subject key of an MMLU / C-Eval file name: the name without extension and without a
    /// trailing `_dev`, `_val`, `_validation` or `_test`.
    public static func subject(fromFileName path: String) -> String? {
        var name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        for suffix in ["_dev", "_val", "_validation", "_test", "_train"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            break
        }
        return name.isEmpty ? nil : name
    }

    /// The file of the few-shot split beside a test or validation file (`x_test.csv` → `x_dev.csv`), if it exists.
    public static func devFile(besides path: String) -> String? {
        let url = URL(fileURLWithPath: path)
        let name = url.deletingPathExtension().lastPathComponent
        for suffix in ["_test", "_val", "_validation"] where name.hasSuffix(suffix) {
            let dev = url.deletingLastPathComponent()
                .appendingPathComponent(String(name.dropLast(suffix.count)) + "_dev")
                .appendingPathExtension(url.pathExtension)
            return FileManager.default.fileExists(atPath: dev.path) ? dev.path : nil
        }
        return nil
    }

    public static func load(path: String, onMalformed policy: EvalLinePolicy = .stop) throws -> MultipleChoiceSet {
        let isCSV: Bool
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "csv": isCSV = true
        case "jsonl", "json": isCSV = false
        default: throw MultipleChoiceError.unsupportedFormat(path: path)
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw MultipleChoiceError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return isCSV ? try parseCSV(data, path: path, onMalformed: policy) : try parseJSONL(data, path: path, onMalformed: policy)
    }

    // MARK: CSV

    private struct Columns {
        var id: Int?, subject: Int?, question: Int, choices: [Int], answer: Int, explanation: Int?
    }

    /// Columns by header name (case-insensitive; choice columns are single letters from A on), or
    /// the headerless MMLU layout: question, choices…, answer.
    private static func columns(header: [String]) -> Columns? {
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let question = names.firstIndex(of: "question"), let answer = names.firstIndex(of: "answer") else { return nil }
        var choices: [Int] = []
        while let index = names.firstIndex(of: letter(choices.count).lowercased()) { choices.append(index) }
        return Columns(id: names.firstIndex(of: "id"), subject: names.firstIndex(of: "subject"), question: question,
                       choices: choices, answer: answer, explanation: names.firstIndex(of: "explanation"))
    }

    static func parseCSV(_ data: Data, path: String, onMalformed policy: EvalLinePolicy) throws -> MultipleChoiceSet {
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let records: [CSVRecord]
        do {
            records = try CSVReader.records(text)
        } catch {
            throw MultipleChoiceError.malformed(LineProblem(path: path, line: error.line,
                                                            reason: "a quoted field is never closed"))
        }
        guard let first = records.first else { throw MultipleChoiceError.empty(path: path) }
        let header = columns(header: first.fields)
        let subject = subject(fromFileName: path)
        var questions: [MultipleChoiceQuestion] = []
        var skipped: [LineProblem] = []
        for record in header == nil ? records[...] : records.dropFirst() {
            do throws(LineProblem) {
                var q = try question(from: record, columns: header, path: path)
                if q.subject == nil { q.subject = subject }
                questions.append(q)
            } catch {
                if policy == .stop { throw MultipleChoiceError.malformed(error) }
                skipped.append(error)
            }
        }
        guard !questions.isEmpty else { throw MultipleChoiceError.empty(path: path) }
        return MultipleChoiceSet(path: path, subject: subject, questions: questions, skipped: skipped)
    }

    private static func question(from record: CSVRecord, columns: Columns?, path: String) throws(LineProblem) -> MultipleChoiceQuestion {
        let f = record.fields
        func problem(_ reason: String) -> LineProblem { LineProblem(path: path, line: record.line, reason: reason) }
        if let c = columns {
            let needed = ([c.question, c.answer] + c.choices).max() ?? 0
            guard f.count > needed else {
                throw problem("\(f.count) fields, the header names \(needed + 1) or more")
            }
            guard c.choices.count >= 2 else { throw problem("the header names fewer than two choice columns (A, B, …)") }
            let answer = try answerIndex(f[c.answer], choices: c.choices.count, problem)
            func optional(_ index: Int?) -> String? {
                guard let index, index < f.count, !f[index].isEmpty else { return nil }
                return f[index]
            }
            return MultipleChoiceQuestion(id: optional(c.id), subject: optional(c.subject), question: f[c.question],
                                          choices: c.choices.map { f[$0] }, answer: answer,
                                          explanation: optional(c.explanation), line: record.line)
        }
        guard f.count >= 4 else {
            throw problem("\(f.count) fields; expected question,A,B,C,D,answer (or a header row naming the columns)")
        }
        let choices = Array(f[1..<(f.count - 1)])
        let answer = try answerIndex(f[f.count - 1], choices: choices.count, problem)
        return MultipleChoiceQuestion(question: f[0], choices: choices, answer: answer, line: record.line)
    }

    private static func answerIndex(_ raw: String, choices: Int,
                                    _ problem: (String) -> LineProblem) throws(LineProblem) -> Int {
        let text = raw.trimmingCharacters(in: .whitespaces).uppercased()
        guard !text.isEmpty else {
            throw problem("no answer (C-Eval's test split has none; use its val or dev split)")
        }
        guard text.unicodeScalars.count == 1, let v = text.unicodeScalars.first?.value, v >= 0x41,
              Int(v - 0x41) < choices else {
            throw problem("answer \"\(raw)\" is not one of A–\(letter(choices - 1))")
        }
        return Int(v - 0x41)
    }

    // MARK: JSONL

    static func parseJSONL(_ data: Data, path: String, onMalformed policy: EvalLinePolicy) throws -> MultipleChoiceSet {
        var questions: [MultipleChoiceQuestion] = []
        var skipped: [LineProblem] = []
        var lineNumber = 0
        let subject = subject(fromFileName: path)
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            do throws(LineProblem) {
                var q = try question(json: Data(line), line: lineNumber, path: path)
                if q.subject == nil { q.subject = subject }
                questions.append(q)
            } catch {
                if policy == .stop { throw MultipleChoiceError.malformed(error) }
                skipped.append(error)
            }
        }
        guard !questions.isEmpty else { throw MultipleChoiceError.empty(path: path) }
        return MultipleChoiceSet(path: path, subject: subject, questions: questions, skipped: skipped)
    }

    private static func question(json: Data, line: Int, path: String) throws(LineProblem) -> MultipleChoiceQuestion {
        func problem(_ reason: String) -> LineProblem { LineProblem(path: path, line: line, reason: reason) }
        guard let object = try? JSONSerialization.jsonObject(with: json), let dict = object as? [String: Any] else {
            throw problem("not a JSON object")
        }
        guard let question = dict["question"] as? String ?? dict["Question"] as? String else {
            throw problem("missing string \"question\"")
        }
        var choices: [String]
        if let list = dict["choices"] {
            guard let strings = list as? [String] else { throw problem("\"choices\" must be an array of strings") }
            choices = strings
        } else {
            choices = []
            while let c = dict[letter(choices.count)] as? String { choices.append(c) }
        }
        guard choices.count >= 2 else { throw problem("needs \"choices\" (or \"A\", \"B\", …) with at least two options") }
        let answer: Int
        switch dict["answer"] ?? dict["Answer"] {
        case let s as String:
            answer = try answerIndex(s, choices: choices.count, problem)
        case let n as NSNumber where String(cString: n.objCType) != "c" && n.doubleValue == n.doubleValue.rounded():
            guard n.intValue >= 0, n.intValue < choices.count else {
                throw problem("answer index \(n.intValue) is outside 0..<\(choices.count)")
            }
            answer = n.intValue
        case nil:
            throw problem("missing \"answer\"")
        default:
            throw problem("\"answer\" must be a letter or a 0-based index")
        }
        var id: String?
        if let s = dict["id"] as? String { id = s } else if let n = dict["id"] as? NSNumber { id = n.stringValue }
        return MultipleChoiceQuestion(id: id, subject: dict["subject"] as? String, question: question, choices: choices,
                                      answer: answer, explanation: dict["explanation"] as? String, line: line)
    }
}
