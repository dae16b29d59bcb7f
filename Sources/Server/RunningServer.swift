import Engine
import Foundation
import Hummingbird

/// Settings of one server, as `whet serve`'s flags give them.
public struct ServeSettings: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (read it from `RunningServer.port`).
    public var port = 8080
    /// When set, `/v1/*` needs `Authorization: Bearer KEY`.
    public var apiKey: String?
    public var sessions = 2
    public var template = "auto"
    public var promptCache = false
    /// Embedding model for `/v1/embeddings`: nil serves all-MiniLM-L6-v2 when it is installed (and
    /// none, with a note, when not); "none" serves none; any other name must exist.
    public var embeddingModel: String?
    /// Allows a non-loopback `host` without an API key (otherwise refused).
    public var insecure = false
    /// Largest `max_tokens` a request may ask for.
    public var maxTokensLimit = ServerConfiguration.defaultMaxTokensLimit
    /// Seconds a generation may run before it is cut (`finish_reason: "length"`).
    public var requestTimeLimit = ServerConfiguration.defaultRequestTimeLimit
    public init() {}

    var isLoopback: Bool { ["127.0.0.1", "localhost", "::1"].contains(host) }
}

public enum ServeError: Error, CustomStringConvertible {
    case couldNotListen(host: String, port: Int, reason: String)
    case openWithoutKey(host: String)
    public var description: String {
        switch self {
        case let .openWithoutKey(host):
            return "refusing to listen on \(host) without an API key: anyone who can reach it could use it; give --api-key KEY (or $WHET_API_KEY), or --insecure to serve it open anyway"

        case let .couldNotListen(host, port, reason):
            return "the server could not listen on \(host):\(port) (\(reason)); is the port already in use? pick another port"
        }
    }
}

/// An OpenAI-compatible server running in this process: the one way `whet serve` and the
/// workbench's Deploy pane start, watch and stop it.
// @unchecked Sendable: stored properties are `let`s; the state that changes lives in `ServerRunState`, behind its condition.
public final class RunningServer: @unchecked Sendable {
    public let host: String
    public let port: Int
    /// Served model ids (generation first, then embeddings).
    public let models: [String]
    public let sessions: Int
    public let apiKeyRequired: Bool
    public let log: ServerLog?
    private let task: Task<Void, Never>
    private let state: ServerRunState

    /// `http://HOST:PORT/v1`.
    public var url: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/v1" }

    private init(host: String, port: Int, models: [String], sessions: Int, apiKeyRequired: Bool, log: ServerLog?,
                 task: Task<Void, Never>, state: ServerRunState) {
        self.host = host; self.port = port; self.models = models; self.sessions = sessions
        self.apiKeyRequired = apiKeyRequired; self.log = log; self.task = task; self.state = state
    }

    /// Builds the engine backend over `textModel` (plus the embedding model `settings` asks for) and
    /// serves it; returns once the port is bound, throws `ServeError.couldNotListen` if it cannot be.
    /// `handleSignals`: SIGINT / SIGTERM stop the server gracefully (the command line; the workbench
    /// handles its own keys and passes false). `note` gets remarks for the user (no embedding model,
    /// a non-loopback host without a key).
    public static func start(textModel: LoadedTextModel, settings: ServeSettings, log: ServerLog? = nil,
                             handleSignals: Bool, note: (String) -> Void = { _ in }) throws -> RunningServer {
        if settings.apiKey == nil, !settings.isLoopback, !settings.insecure { throw ServeError.openWithoutKey(host: settings.host) }
        let modelID = textModel.url.deletingPathExtension().lastPathComponent
        var embedder: SentenceEmbedder?
        var embeddingID = ""
        let embeddingName = settings.embeddingModel ?? ModelLocator.defaultEmbeddingModelName
        if embeddingName.lowercased() != "none" {
            do {
                let url = try ModelLocator.locate(embeddingName)
                embedder = try SentenceEmbedder(folder: url)
                embeddingID = url.lastPathComponent
            } catch {
                // The default is optional; a model the user named is not.
                if settings.embeddingModel != nil { throw error }
                note("no embedding model (\(embeddingName) is not installed); /v1/embeddings serves none")
            }
        }
        let backend = try EngineBackend(textModel: textModel, textModelID: modelID, sessions: settings.sessions,
                                        template: settings.template, promptCache: settings.promptCache,
                                        embedder: embedder, embeddingModelID: embeddingID)
        var configuration = ServerConfiguration()
        configuration.host = settings.host
        configuration.port = settings.port
        configuration.apiKey = settings.apiKey
        configuration.maxTokensLimit = settings.maxTokensLimit
        configuration.requestTimeLimit = settings.requestTimeLimit
        if settings.apiKey == nil, !settings.isLoopback {
            note("warning: listening on \(settings.host) without an API key (--insecure); anyone who can reach it can use it")
        }
        let server = OpenAIServer(backend: backend, configuration: configuration, log: log)
        let state = ServerRunState()
        let app = server.application { port in state.listening(on: port) }
        let task = Task {
            do {
                if handleSignals { try await app.runService() } else { try await app.runService(gracefulShutdownSignals: []) }
                state.ended(nil)
            } catch {
                state.ended(error)
            }
        }
        guard let port = state.waitUntilListening() else {
            let reason = state.endError.map { "\($0)" } ?? "it stopped at once"
            throw ServeError.couldNotListen(host: settings.host, port: settings.port, reason: reason)
        }
        return RunningServer(host: settings.host, port: port, models: backend.models().map(\.id), sessions: backend.sessions,
                             apiKeyRequired: settings.apiKey != nil, log: log, task: task, state: state)
    }

    /// Whether the server has stopped.
    public var hasEnded: Bool { state.hasEnded }

    /// Stops listening and closes the connections (a generation already running in the engine
    /// finishes on its own); returns whether the server ended within `timeout` seconds.
    @discardableResult
    public func stop(timeout: Double = 10) -> Bool {
        task.cancel()
        return state.waitUntilEnded(timeout: timeout)
    }

    /// Blocks until the server ends; the error it ended with, if any (a stop is not an error).
    public func wait() -> (any Error)? {
        _ = state.waitUntilEnded(timeout: nil)
        return task.isCancelled ? nil : state.endError
    }
}

/// Listening / ended, shared between the server task and the threads that wait for it.
// @unchecked Sendable: `port`, `ended` and `error` are read and written only with `condition` held.
private final class ServerRunState: @unchecked Sendable {
    private let condition = NSCondition()
    private var port: Int?
    private var ended = false
    private var error: (any Error)?

    func listening(on port: Int) { condition.lock(); self.port = port; condition.broadcast(); condition.unlock() }
    func ended(_ error: (any Error)?) { condition.lock(); ended = true; self.error = error; condition.broadcast(); condition.unlock() }

    var hasEnded: Bool { condition.lock(); defer { condition.unlock() }; return ended }
    var endError: (any Error)? { condition.lock(); defer { condition.unlock() }; return error }

    /// The bound port, or nil when the server ended before listening.
    func waitUntilListening() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while port == nil && !ended { condition.wait() }
        return ended ? nil : port
    }

    func waitUntilEnded(timeout: Double?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while !ended {
            if let deadline { if !condition.wait(until: deadline) { return ended } } else { condition.wait() }
        }
        return true
    }
}
