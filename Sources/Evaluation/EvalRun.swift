import Engine
import Foundation

/// One example of an eval-run dataset: the values its prompt template fills in and the reference(s).
///
/// Accepted JSONL lines: `{"id"?, "prompt", "reference" | "references" | "completion"}`,
/// `{"instruction", "input"?, "output"}` and `{"messages": [...]}` (the last assistant message is
/// the reference; the user message before it is the prompt). Every string field is also a
/// `{{variable}}` for the template, so `{"question": …, "reference": …}` works with a template
/// that says `{{question}}`.
public struct EvalRunExample: Sendable, Equatable {
    public var id: String
    public var line: Int
    public var variables: [String: String]
    public var references: [String]

    static func parse(_ line: Data, lineNumber: Int) throws(TextPair.ParseFailure) -> EvalRunExample {
        guard let object = try? JSONSerialization.jsonObject(with: line), let dict = object as? [String: Any] else {
            throw TextPair.ParseFailure("not a JSON object")
        }
        var variables: [String: String] = [:]
        for (key, value) in dict { if let s = value as? String { variables[key] = s } }
        var references: [String] = []
        if let list = dict["references"] {
            guard let strings = list as? [String], !strings.isEmpty else {
                throw TextPair.ParseFailure("\"references\" must be a non-empty array of strings")
            }
            references = strings
        } else if let s = (dict["reference"] ?? dict["completion"] ?? dict["output"]) as? String {
            references = [s]
        }
        if let messages = dict["messages"] {
            guard let turns = messages as? [[String: Any]],
                  let last = turns.last, last["role"] as? String == "assistant", let answer = last["content"] as? String,
                  let question = turns.dropLast().last(where: { $0["role"] as? String == "user" })?["content"] as? String else {
                throw TextPair.ParseFailure("\"messages\" must end with a user turn and then the assistant's reference answer")
            }
            if references.isEmpty { references = [answer] }
            variables["prompt"] = variables["prompt"] ?? question
            if let system = turns.first(where: { $0["role"] as? String == "system" })?["content"] as? String {
                variables["system"] = variables["system"] ?? system
            }
        }
        if variables["prompt"] == nil, let instruction = variables["instruction"] {
            let input = variables["input"] ?? ""
            variables["prompt"] = input.isEmpty ? instruction : instruction + "\n\n" + input
        }
        guard !references.isEmpty else {
            throw TextPair.ParseFailure("missing \"reference\" (or \"references\", \"completion\", \"output\", or an assistant message)")
        }
        var id = String(lineNumber)
        if let s = dict["id"] as? String { id = s } else if let n = dict["id"] as? NSNumber { id = n.stringValue }
        return EvalRunExample(id: id, line: lineNumber, variables: variables, references: references)
    }
}

/// A generated and scored example, as stored in `predictions.jsonl` (itself a valid input of
/// `whet eval text`: it carries `prediction` and `references`).
public struct EvalRunRow: Codable, Sendable, Equatable {
    public var id: String
    public var line: Int
    public var prompt: String
    public var prediction: String
    public var references: [String]
    public var generatedTokens: Int
    public var stopReason: String
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case id, line, prompt, prediction, references, seconds
        case generatedTokens = "generated_tokens", stopReason = "stop_reason"
    }

    public var pair: TextPair { TextPair(id: id, prediction: prediction, references: references, line: line) }
}

public enum EvalRunError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)
    case noExamples(path: String)
    case corruptPredictions(path: String, line: Int)
    case folderInUse(path: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .unwritable(path, reason): return "cannot write \(path): \(reason); check the folder is writable"
        case let .noExamples(path): return "\(path) has no examples; each line needs a prompt and a reference (docs/evaluation.md)"
        case let .corruptPredictions(path, line):
            return "\(path):\(line) is not a prediction row written by an eval run; remove the line or start a new run folder"
        case let .folderInUse(path):
            return "\(path) already holds an eval run; continue it (`whet eval run --resume \(path)`) or choose another folder"
        }
    }
}

/// What an eval run reports while it goes.
public enum EvalRunEvent: Sendable {
    /// `resumed` rows were already in the output from an earlier, interrupted run.
    case started(total: Int, resumed: Int)
    case scored(EvalRunRow, TextExampleScores, done: Int, total: Int)
    case skipped(LineProblem)
    case finished(TextEvaluationReport)
    case failed(String)
}

/// Generates an answer for every example of a dataset with one configuration (model, prompt file
/// with its template / chat template / sampler), scores it against the references, and appends
/// each row to `predictions.jsonl` as soon as it is done, so an interrupted run loses nothing and
/// `resume` continues where it stopped. Runs on a background queue.
// @unchecked Sendable: every stored property is a `let`; the run's mutable work happens on its own serial `queue`, and stopping goes through a `CancellationFlag`.
public final class EvalRun: @unchecked Sendable {
    public let dataPath: String
    public let outputFolder: URL
    public let prompt: PromptFile
    public let evaluation: TextEvaluation
    private let generator: TextGenerator
    private let chat: ChatTemplate
    private let addBeginningOfSequence: Bool
    private let queue = DispatchQueue(label: "whetstone.eval-run", qos: .userInitiated)
    private let cancellation = CancellationFlag()

    public var predictionsURL: URL { outputFolder.appendingPathComponent("predictions.jsonl") }
    /// The prompt file a run records in its folder, so a resumed run repeats it.
    public static let promptFileName = "prompt.json"

    /// The configuration of a run given no prompt file: the example's prompt as it is, in the
    /// model's chat template, greedy so runs repeat.
    public static var defaultPrompt: PromptFile {
        var greedy = SamplerSettings()
        greedy.temperature = 0
        return PromptFile(template: "{{prompt}}", chatTemplate: "auto", sampler: greedy)
    }

    /// Creates `folder` for a new run and records `prompt` in it; refuses a folder that already holds a run.
    public static func prepareFolder(_ folder: URL, prompt: PromptFile) throws {
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("predictions.jsonl").path) {
            throw EvalRunError.folderInUse(path: folder.path)
        }
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw EvalRunError.unwritable(path: folder.path, reason: (error as NSError).localizedDescription)
        }
        try prompt.save(to: folder.appendingPathComponent(promptFileName))
    }
    public var reportURL: URL { outputFolder.appendingPathComponent("report.json") }

    /// A run on any generator; `chat` renders the prompt file (its `chatTemplate` is not consulted).
    public init(generator: TextGenerator, chat: ChatTemplate, addBeginningOfSequence: Bool, dataPath: String,
                prompt: PromptFile, evaluation: TextEvaluation, outputFolder: URL) {
        self.generator = generator
        self.chat = chat
        self.addBeginningOfSequence = addBeginningOfSequence
        self.dataPath = dataPath
        self.prompt = prompt
        self.evaluation = evaluation
        self.outputFolder = outputFolder
    }

    /// A run on a loaded model, with the prompt file's chat template resolved for it (`auto`: the model's).
    public convenience init(model: LoadedTextModel, dataPath: String, prompt: PromptFile, evaluation: TextEvaluation,
                            outputFolder: URL) throws {
        self.init(generator: model.generator, chat: try model.chatTemplate(named: prompt.chatTemplate),
                  addBeginningOfSequence: model.addsBeginningOfSequence, dataPath: dataPath, prompt: prompt,
                  evaluation: evaluation, outputFolder: outputFolder)
    }

    /// Asks the run to stop after the example it is generating.
    public func cancel() { cancellation.cancel() }
    private var isCancelled: Bool { cancellation.isCancelled }

    /// Starts on the background queue; `onEvent` is called there. `completion` gets the report.
    public func start(onEvent: @escaping @Sendable (EvalRunEvent) -> Void,
                      completion: @escaping @Sendable (Result<TextEvaluationReport, Error>) -> Void = { _ in }) {
        queue.async { [self] in
            do {
                let report = try run(onEvent: onEvent)
                completion(.success(report))
            } catch {
                onEvent(.failed(String(describing: error)))
                completion(.failure(error))
            }
        }
    }

    /// Runs on the calling thread (command line).
    public func run(onEvent: (EvalRunEvent) -> Void = { _ in }) throws -> TextEvaluationReport {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: dataPath)) } catch {
            throw EvalRunError.unreadable(path: dataPath, reason: (error as NSError).localizedDescription)
        }
        var examples: [EvalRunExample] = []
        var skipped: [LineProblem] = []
        var stoppedAt: LineProblem?
        var lineNumber = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            do throws(TextPair.ParseFailure) {
                examples.append(try EvalRunExample.parse(Data(line), lineNumber: lineNumber))
            } catch {
                let problem = LineProblem(path: dataPath, line: lineNumber, reason: error.message)
                // Under `stop` the examples before the bad line are still run and kept.
                if evaluation.onMalformedLine == .stop { stoppedAt = problem; break }
                skipped.append(problem)
                onEvent(.skipped(problem))
            }
        }
        guard !examples.isEmpty || stoppedAt != nil else { throw EvalRunError.noExamples(path: dataPath) }

        do {
            try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        } catch {
            throw EvalRunError.unwritable(path: outputFolder.path, reason: (error as NSError).localizedDescription)
        }
        var rows = try Self.readRows(predictionsURL)
        let done = Set(rows.map(\.id))
        let pending = examples.filter { !done.contains($0.id) }
        onEvent(.started(total: examples.count, resumed: examples.count - pending.count))
        var scores = rows.map { evaluation.score($0.pair) }

        let handle = try Self.appendHandle(predictionsURL)
        defer { try? handle.close() }
        var wasCancelled = false
        for example in pending {
            if isCancelled { wasCancelled = true; break }
            let prepared = try PromptPreparation.prepare(.promptFile(prompt, variables: example.variables, substitutingVariables: true),
                                                         template: chat, tokenizer: generator.tokenizer,
                                                         addBeginningOfSequence: addBeginningOfSequence, sampler: prompt.sampler,
                                                         maxTokens: prompt.maxTokens, stops: prompt.stop)
            let text = prepared.text
            let job = prepared.job
            let started = Date()
            let summary = try generator.generate(job) { [self] _ in isCancelled ? .stop : .proceed }
            if summary.stopReason == .cancelled { wasCancelled = true; break }
            let row = EvalRunRow(id: example.id, line: example.line, prompt: text,
                                 prediction: summary.text.trimmingCharacters(in: .whitespacesAndNewlines),
                                 references: example.references, generatedTokens: summary.generatedTokens,
                                 stopReason: summary.stopReason.rawValue, seconds: Date().timeIntervalSince(started))
            var line = try Self.encoder.encode(row)
            line.append(UInt8(ascii: "\n"))
            do { try handle.write(contentsOf: line); try handle.synchronize() } catch {
                throw EvalRunError.unwritable(path: predictionsURL.path, reason: (error as NSError).localizedDescription)
            }
            rows.append(row)
            let score = evaluation.score(row.pair)
            scores.append(score)
            onEvent(.scored(row, score, done: rows.count, total: examples.count))
        }

        // Rows come back in dataset order, whatever order earlier runs wrote them in.
        let order = Dictionary(examples.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        let sorted: [(row: EvalRunRow, score: TextExampleScores)] = zip(rows, scores)
            .map { (row: $0.0, score: $0.1) }
            .sorted { (order[$0.row.id] ?? Int.max) < (order[$1.row.id] ?? Int.max) }
        let pairs = sorted.map { $0.row.pair }
        let orderedScores = sorted.map { $0.score }
        let report = TextEvaluationReport(path: dataPath, metrics: evaluation.metrics, useStemmer: evaluation.useStemmer,
                                          sentenceBLEUSignature: evaluation.sentenceBLEUSignatureText(pairs),
                                          examples: orderedScores, corpus: evaluation.corpus(pairs, orderedScores),
                                          skipped: skipped, stoppedAt: stoppedAt, cancelled: wasCancelled)
        try Self.writeAtomically(try Self.reportEncoder.encode(report), to: reportURL)
        onEvent(.finished(report))
        return report
    }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    private static let reportEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    /// Rows of an earlier run. A last line cut short by a crash is dropped (it is generated again);
    /// a bad line anywhere else is an error, since guessing could lose results.
    static func readRows(_ url: URL) throws -> [EvalRunRow] {
        guard let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else { return [] }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var rows: [EvalRunRow] = []
        var kept = 0
        for (index, line) in lines.enumerated() where !line.isEmpty {
            if let row = try? JSONDecoder().decode(EvalRunRow.self, from: Data(line)) {
                rows.append(row)
                kept += line.count + 1
                continue
            }
            let isLast = lines[(index + 1)...].allSatisfy(\.isEmpty)
            guard isLast else { throw EvalRunError.corruptPredictions(path: url.path, line: index + 1) }
            // Cut the torn tail off so the next row starts on a fresh line.
            if let handle = try? FileHandle(forWritingTo: url) {
                try? handle.truncate(atOffset: UInt64(kept))
                try? handle.close()
            }
        }
        return rows
    }

    private static func appendHandle(_ url: URL) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw EvalRunError.unwritable(path: url.path, reason: "the file cannot be created")
            }
        }
        do {
            let handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
            return handle
        } catch {
            throw EvalRunError.unwritable(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    private static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw EvalRunError.unwritable(path: url.path, reason: String(cString: strerror(errno)))
            }
        } catch let error as EvalRunError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            throw EvalRunError.unwritable(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }
}
