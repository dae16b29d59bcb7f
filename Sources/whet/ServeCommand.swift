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
    @Option(help: "Chat template for /v1/chat/completions: auto, jinja, gemma, chatml, llama3 (default auto).")
    var template = "auto"
    @Flag(name: .customLong("prompt-cache"),
          help: "Reuse a session's cached prompt prefix (faster follow-up turns; answers may then differ at near-ties from a fresh run).")
    var promptCache = false
    @Flag(help: "Allow a non-loopback --host without --api-key (refused otherwise).")
    var insecure = false
    @Option(name: .customLong("max-tokens-limit"), help: "Largest max_tokens a request may ask for (default 4096).")
    var maxTokensLimit = ServerConfiguration.defaultMaxTokensLimit
    @Option(name: .customLong("request-time-limit"), help: "Seconds one generation may run before it is cut with finish_reason \"length\" (default 300).")
    var requestTimeLimit = ServerConfiguration.defaultRequestTimeLimit

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
        guard maxTokensLimit >= 1 else { throw ValidationError("--max-tokens-limit must be at least 1") }
        guard requestTimeLimit.isFinite, requestTimeLimit > 0 else { throw ValidationError("--request-time-limit must be a positive number of seconds") }
    }

    func run() throws {
        try reportingErrors {
            let loaded = try modelOptions.open()
            var settings = ServeSettings()
            settings.host = host
            settings.port = port
            settings.apiKey = apiKey ?? ProcessInfo.processInfo.environment["WHET_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            settings.sessions = sessions
            settings.template = template
            settings.promptCache = promptCache
            settings.embeddingModel = embeddingModel
            settings.insecure = insecure
            settings.maxTokensLimit = maxTokensLimit
            settings.requestTimeLimit = requestTimeLimit
            let server = try RunningServer.start(textModel: loaded, settings: settings, handleSignals: true) { note in
                CommandOutput.progress("whet serve: \(note)")
            }
            let startup = Startup(url: server.url, host: host, port: server.port, models: server.models,
                                  sessions: server.sessions, api_key_required: server.apiKeyRequired)
            if output.json {
                try CommandOutput.printJSON(startup)
            } else {
                writeStdout("whet serve: listening on \(startup.url) — models \(server.models.joined(separator: ", ")); \(server.sessions) sessions\n")
            }
            if let error = server.wait() {
                throw CommandFailure("the server stopped: \(error)")
            }
        }
    }
}
