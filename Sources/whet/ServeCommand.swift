import ArgumentParser
import Engine
import Foundation
import Server

/// `whet serve`: the OpenAI-compatible HTTP API on a loaded model (docs/server.md).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions, /v1/embeddings).",
        discussion: """
        Binds to 127.0.0.1 by default; pass --host 0.0.0.0 only together with --api-key. Once the
        server listens it prints one line: with --json one JSON object {"url", "host", "port",
        "models", "sessions"} (port 0 picks a free port; read it from this line). Requests beyond
        --sessions wait in arrival order. Ctrl-C (SIGINT) or SIGTERM stops the server.
        """
    )

    @OptionGroup var output: OutputOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("embedding-model"),
            help: "Embedding model folder or installed name for /v1/embeddings; 'none' serves none (default: all-MiniLM-L6-v2 when installed).")
    var embeddingModel: String?
    @Option(help: "Address to bind (default 127.0.0.1, loopback only).")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on; 0 picks a free one (default 8080).")
    var port = 8080
    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on /v1 requests (default: $WHET_API_KEY, else no key).")
    var apiKey: String?
    @Option(help: "Generations running at once, each with its own cache (default 2); further requests queue.")
    var sessions = 2
    @Option(help: "Chat template for /v1/chat/completions: auto, gemma, chatml, llama3 (default auto).")
    var template = "auto"
    @Flag(name: .customLong("prompt-cache"),
          help: "Reuse a session's cached prompt prefix (faster follow-up turns; answers may then differ at near-ties from a fresh run).")
    var promptCache = false

    struct Startup: Encodable {
        let url: String
        let host: String
        let port: Int
        let models: [String]
        let sessions: Int
        let api_key_required: Bool
    }

    func validate() throws {
        guard (1...64).contains(sessions) else { throw ValidationError("--sessions must be between 1 and 64") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() throws {
        try reportingErrors {
            let loaded = try modelOptions.open()
            let modelID = loaded.url.deletingPathExtension().lastPathComponent
            var embedder: SentenceEmbedder?
            var embeddingID = ""
            let embeddingName = embeddingModel ?? ModelLocator.defaultEmbeddingModelName
            if embeddingName.lowercased() != "none" {
                do {
                    let url = try ModelLocator.locate(embeddingName)
                    embedder = try SentenceEmbedder(folder: url)
                    embeddingID = url.lastPathComponent
                } catch {
                    // The default is optional; a model the user named is not.
                    if embeddingModel != nil { throw error }
                    CommandOutput.progress("whet serve: no embedding model (\(embeddingName) is not installed); /v1/embeddings serves none")
                }
            }
            let backend = try EngineBackend(textModel: loaded, textModelID: modelID, sessions: sessions, template: template,
                                            promptCache: promptCache, embedder: embedder, embeddingModelID: embeddingID)
            var config = ServerConfiguration()
            config.host = host
            config.port = port
            config.concurrentSessions = sessions
            let key = apiKey ?? ProcessInfo.processInfo.environment["WHET_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            config.apiKey = key
            if key == nil, !["127.0.0.1", "localhost", "::1"].contains(host) {
                CommandOutput.progress("whet serve: warning: listening on \(host) without --api-key; anyone who can reach it can use it")
            }
            let server = OpenAIServer(backend: backend, configuration: config)
            let models = backend.models().map(\.id)
            let json = output.json
            let host = self.host
            let sessions = self.sessions
            let app = server.application { port in
                let shownHost = host.contains(":") ? "[\(host)]" : host
                let startup = Startup(url: "http://\(shownHost):\(port)/v1", host: host, port: port, models: models,
                                      sessions: sessions, api_key_required: key != nil)
                if json {
                    try? CommandOutput.printJSON(startup)
                } else {
                    writeStdout("whet serve: listening on \(startup.url) — models \(models.joined(separator: ", ")); \(sessions) sessions\n")
                }
            }
            let outcome = BlockingResult()
            Task {
                do {
                    try await app.runService()
                    outcome.set(nil)
                } catch {
                    outcome.set(error)
                }
            }
            if let error = outcome.wait() {
                throw CommandFailure("the server stopped: \(error); is port \(port) already in use? pick another with --port")
            }
        }
    }
}

/// Lets the synchronous command wait for the async server to end.
private final class BlockingResult: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ e: (any Error)?) {
        lock.withLock { error = e }
        done.signal()
    }
    func wait() -> (any Error)? {
        done.wait()
        return lock.withLock { error }
    }
}
