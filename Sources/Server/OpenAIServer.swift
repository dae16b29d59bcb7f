import Engine
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Settings of `whet serve`.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// When set, every /v1 request needs `Authorization: Bearer <apiKey>`.
    public var apiKey: String?
    /// Largest request body accepted.
    public var maxBodyBytes: Int = 4 << 20
    /// Largest `max_tokens` / `max_completion_tokens` a request may ask for.
    public var maxTokensLimit = Self.defaultMaxTokensLimit
    /// Seconds one generation may run; then it ends with `finish_reason: "length"`.
    public var requestTimeLimit = Self.defaultRequestTimeLimit
    public static let defaultMaxTokensLimit = 4096
    public static let defaultRequestTimeLimit: Double = 300
    public init() {}
}

/// The OpenAI-compatible HTTP API over an `InferenceBackend`.
public struct OpenAIServer: Sendable {
    public let backend: any InferenceBackend
    public let configuration: ServerConfiguration
    /// Sized by the backend's `concurrency`: the one place requests wait for a session.
    public let queue: AdmissionQueue
    /// When set: every request is recorded there and the HTTP stack logs there instead of stderr.
    public let log: ServerLog?

    public init(backend: any InferenceBackend, configuration: ServerConfiguration, log: ServerLog? = nil) {
        self.backend = backend
        self.configuration = configuration
        self.log = log
        queue = AdmissionQueue(limit: backend.concurrency)
    }

    /// The router with every endpoint; `application()` serves it, tests drive it directly.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        if let log { router.add(middleware: RequestLogMiddleware(log: log)) }
        router.add(middleware: APIErrorMiddleware())
        if let key = configuration.apiKey { router.add(middleware: BearerKeyMiddleware(key: key)) }
        router.get("/health") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}"))) }
        let api = router.group("v1")
        api.get("models") { _, _ in try self.listModels() }
        api.post("completions") { request, context in try await self.completions(request, context: context, chat: false) }
        api.post("chat/completions") { request, context in try await self.completions(request, context: context, chat: true) }
        api.post("embeddings") { request, _ in try await self.embeddings(request) }
        return router
    }

    /// The HTTP application; `onRunning` gets the bound port (useful with port 0). Logs go to
    /// `log` when set, else to stderr so that stdout keeps only what the command prints.
    public func application(onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let log = self.log
        var logger = Logger(label: "whetstone.server", factory: { label in
            if let log { return ServerLogHandler(log: log) }
            return StreamLogHandler.standardError(label: label)
        })
        logger.logLevel = .warning
        return Application(router: router(),
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "whetstone"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) },
                           logger: logger)
    }

    // MARK: endpoints

    func listModels() throws -> Response {
        let created = Int(Date().timeIntervalSince1970)
        let data = backend.models().map { m in
            ModelListBody.Entry(id: m.id, created: created, kind: m.kind.rawValue, contextLength: m.contextLength)
        }
        return try json(ModelListBody(data: data))
    }

    func completions(_ request: Request, context: BasicRequestContext, chat: Bool) async throws -> Response {
        let body = try await readBody(request)
        let (generation, stream) = chat ? try OpenAIRequestParser.chat(body) : try OpenAIRequestParser.completion(body)
        try requireModel(generation.model, kind: .generation)
        guard generation.maxTokens <= configuration.maxTokensLimit else {
            throw APIError.badRequest("max_tokens is \(generation.maxTokens); this server allows at most \(configuration.maxTokensLimit) (whet serve --max-tokens-limit)",
                                      param: "max_tokens")
        }
        let prepared: PreparedGeneration
        do {
            var checked = try await backend.prepare(generation)
            checked.timeLimit = configuration.requestTimeLimit
            prepared = checked
        } catch let e as BackendError {
            throw APIError.from(e)
        }
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
        let created = Int(Date().timeIntervalSince1970)
        if stream {
            return streamingResponse(prepared, id: String(id), created: created, chat: chat)
        }
        let backend = self.backend
        let outcome: GenerationOutcome
        do {
            outcome = try await queue.withSlot { try await backend.generate(prepared) { _ in true } }
        } catch let e as BackendError {
            throw APIError.from(e)
        }
        let promptTokens = max(prepared.promptTokenCount, outcome.promptTokens)
        let usage = UsageBody(promptTokens: promptTokens, completionTokens: outcome.completionTokens,
                              totalTokens: promptTokens + outcome.completionTokens)
        if chat {
            let choice = ChatCompletionResponseBody.Choice(message: .init(content: outcome.text), finishReason: outcome.finishReason.rawValue)
            return try json(ChatCompletionResponseBody(id: String(id), created: created, model: generation.model, choices: [choice],
                                                       usage: usage))
        }
        let choice = CompletionResponseBody.Choice(text: outcome.text, finishReason: Nullable(outcome.finishReason.rawValue))
        return try json(CompletionResponseBody(id: String(id), object: "text_completion", created: created, model: generation.model,
                                               choices: [choice], usage: usage))
    }

    /// Server-sent events: one chunk per text piece, a final chunk with the finish reason, `[DONE]`.
    func streamingResponse(_ prepared: PreparedGeneration, id: String, created: Int, chat: Bool) -> Response {
        let backend = self.backend
        let queue = self.queue
        let model = prepared.request.model
        @Sendable func event(_ body: some Encodable) -> ByteBuffer {
            let data = (try? BodyCoding.encode(body)) ?? Data("{}".utf8)
            return ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n")
        }
        @Sendable func chunk(text: String?, role: Bool, finish: String?) -> ByteBuffer {
            if chat {
                let delta = ChatCompletionChunkBody.Delta(role: role ? "assistant" : nil, content: text)
                return event(ChatCompletionChunkBody(id: id, created: created, model: model,
                                                     choices: [.init(delta: delta, finishReason: Nullable(finish))]))
            }
            return event(CompletionResponseBody(id: id, object: "text_completion", created: created, model: model,
                                                choices: [.init(text: text ?? "", finishReason: Nullable(finish))], usage: nil))
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let (pieces, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
            let clientGone = CancellationFlag()
            let generationTask = Task<Result<GenerationOutcome, any Error>, Never> {
                defer { continuation.finish() }
                do {
                    return .success(try await queue.withSlot {
                        try await backend.generate(prepared) { piece in
                            continuation.yield(piece)
                            return !clientGone.isCancelled
                        }
                    })
                } catch {
                    return .failure(error)
                }
            }
            var writeFailed = false
            do {
                if chat { try await writer.write(chunk(text: nil, role: true, finish: nil)) }
                for await piece in pieces {
                    try await writer.write(chunk(text: piece, role: false, finish: nil))
                }
            } catch {
                writeFailed = true
                clientGone.cancel()
            }
            let result = await generationTask.value
            if writeFailed { return }
            switch result {
            case let .success(outcome):
                try await writer.write(chunk(text: chat ? nil : "", role: false, finish: outcome.finishReason.rawValue))
            case let .failure(error):
                let api = (error as? BackendError).map(APIError.from) ?? APIError(status: 500, message: "\(error)", type: "server_error")
                try await writer.write(event(ErrorBody(api)))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        })
    }

    func embeddings(_ request: Request) async throws -> Response {
        let (model, inputs) = try OpenAIRequestParser.embeddings(try await readBody(request))
        try requireModel(model, kind: .embedding)
        let result: (vectors: [[Float]], tokens: Int)
        do {
            result = try await backend.embed(model: model, inputs: inputs)
        } catch let e as BackendError {
            throw APIError.from(e)
        }
        let data = result.vectors.enumerated().map { i, v in EmbeddingListBody.Entry(index: i, embedding: v.map(Double.init)) }
        return try json(EmbeddingListBody(data: data, model: model,
                                          usage: .init(promptTokens: result.tokens, totalTokens: result.tokens)))
    }

    // MARK: helpers

    func requireModel(_ id: String, kind: ServedModel.Kind) throws {
        let models = backend.models()
        guard let model = models.first(where: { $0.id == id }) else {
            throw APIError.from(.unknownModel(id))
        }
        guard model.kind == kind else {
            throw APIError(status: 400, message: "The model '\(id)' is an \(model.kind.rawValue) model; it cannot serve this endpoint",
                           param: "model", code: "model_not_supported")
        }
    }

    func readBody(_ request: Request) async throws -> Data {
        do {
            var buffer = try await request.body.collect(upTo: configuration.maxBodyBytes)
            return Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch {
            throw APIError(status: 413, message: "The request body is larger than \(configuration.maxBodyBytes) bytes")
        }
    }
}

func json(_ body: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try BodyCoding.encode(body)
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Turns `APIError`s (and Hummingbird's own HTTP errors) into OpenAI-style JSON error bodies.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try json(ErrorBody(error), status: .init(code: error.status))
        } catch let error as HTTPError {
            let api = APIError(status: Int(error.status.code),
                               message: error.status == .notFound ? "Unknown endpoint \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return try json(ErrorBody(api), status: error.status)
        }
    }
}

/// Requires `Authorization: Bearer <key>` on every request but the health check.
struct BearerKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/health" { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), constantTimeEquals(String(header.dropFirst(7)), key) else {
            throw APIError(status: 401, message: header.isEmpty
                           ? "You didn't provide an API key; send 'Authorization: Bearer YOUR_KEY'"
                           : "Incorrect API key provided", code: "invalid_api_key")
        }
        return try await next(request, context)
    }
}

private func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}
