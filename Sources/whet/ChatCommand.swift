import ArgumentParser
import Engine
import Foundation
import Synchronization

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a model in the terminal (history kept in the model's context).",
        discussion: """
        Type a message and press Enter. /reset clears the history, /exit or Ctrl-D quits, Ctrl-C
        stops the reply being written. Each turn re-uses the cached conversation, so only the new
        turn is processed. With --json the conversation is printed as one JSON object at the end.
        """
    )

    @OptionGroup var output: OutputOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "System prompt (Gemma folds it into the first user turn).")
    var system: String?
    @Option(help: "Chat template: auto (the model's own Jinja template, else by architecture), jinja, gemma, chatml, llama3.")
    var template: String = "auto"

    struct Transcript: Encodable {
        let messages: [ChatMessage]
        let turns: Int
    }

    mutating func run() throws {
        try reportingErrors {
            let loaded = try modelOptions.open()
            let chat = try loaded.chatTemplate(named: template)
            guard chat.kind != .none else { throw CommandFailure("whet chat needs a chat template; use whet generate for plain text") }
            var settings = SamplerSettings()
            sampling.apply(to: &settings)
            try settings.validate()
            let maxTokens = sampling.maxTokens ?? 512
            let stops = sampling.stop
            let root: [ChatMessage] = system.map { [.system($0)] } ?? []
            var messages = root
            var turns = 0

            let current = CurrentSession()
            signal(SIGINT, SIG_IGN)
            let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            interrupt.setEventHandler {
                if !current.cancel() {
                    FileHandle.standardError.write(Data("\n".utf8))
                    Foundation.exit(130)
                }
            }
            interrupt.resume()
            defer { interrupt.cancel() }

            CommandOutput.progress("chat with \(loaded.url.lastPathComponent) (template \(chat.kind.rawValue)). /reset clears the history, /exit or Ctrl-D quits, Ctrl-C stops a reply.")
            while true {
                FileHandle.standardError.write(Data("> ".utf8))
                guard let line = readLine() else { break }
                let input = line.trimmingCharacters(in: .whitespaces)
                if input.isEmpty { continue }
                if input == "/exit" || input == "/quit" { break }
                if input == "/reset" {
                    messages = root
                    CommandOutput.progress("(history cleared)")
                    continue
                }
                messages.append(.user(input))
                func prepared() throws -> GenerationJob {
                    try loaded.prepare(.messages(messages), template: chat, sampler: settings, maxTokens: maxTokens, stops: stops).job
                }
                var job = try prepared()
                // Keep room for the reply: forget the oldest exchanges first.
                while job.promptTokens.count + maxTokens >= loaded.generator.contextLength, messages.count - root.count > 1 {
                    messages.removeSubrange(root.count..<(root.count + 2))
                    job = try prepared()
                    CommandOutput.progress("(oldest exchange dropped to fit the context)")
                }
                if job.promptTokens.count + 1 >= loaded.generator.contextLength {
                    messages.removeLast()
                    CommandOutput.progress("that message does not fit in the context (\(job.promptTokens.count) tokens of \(loaded.generator.contextLength)); write a shorter one")
                    continue
                }
                let session = loaded.generator.start(job) { event in
                    switch event {
                    case let .token(token): writeStdout(token.text)
                    case let .text(piece): writeStdout(piece)
                    default: break
                    }
                    return .proceed
                }
                current.set(session)
                let result = session.wait()
                current.set(nil)
                writeStdout("\n")
                let summary = try result.get()
                messages.append(.assistant(summary.text))
                turns += 1
                CommandOutput.progress("[" + statisticsLine(summary) + "]")
            }
            if output.json { try CommandOutput.printJSON(Transcript(messages: messages, turns: turns)) }
        }
    }
}

/// The reply being written, so Ctrl-C can stop it (from the signal queue).
private final class CurrentSession: Sendable {
    private let session = Mutex<GenerationSession?>(nil)
    func set(_ s: GenerationSession?) { session.withLock { $0 = s } }
    /// Cancels the running reply; false when none is running.
    func cancel() -> Bool {
        session.withLock { session in
            guard let session else { return false }
            session.cancel()
            return true
        }
    }
}
