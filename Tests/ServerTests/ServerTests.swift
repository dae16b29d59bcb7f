import Foundation
import Hummingbird
import HummingbirdTesting
import Engine
import TestSupport
import Testing
@testable import Server

/// A deterministic backend for the HTTP layer's tests: it "generates" the words of a fixed answer,
/// one per piece, and embeds text as letter counts. The real engine backend is tested elsewhere.
final class ScriptedBackend: InferenceBackend {
    let words = ["Hello", " there", ",", " friend", "."]
    func models() -> [ServedModel] {
        [ServedModel(id: "tiny", kind: .generation, contextLength: 32), ServedModel(id: "embedder", kind: .embedding, contextLength: 64)]
    }
    func promptTokens(_ r: GenerationRequest) -> Int {
        switch r.prompt {
        case let .text(t): return t.split(separator: " ").count + 1
        case let .chat(turns): return turns.map { $0.content.split(separator: " ").count + 4 }.reduce(1, +)
        }
    }
    let concurrency = 1
    /// How many times each request's prompt was prepared (the server must tokenize once).
    let preparations = OrderLog()
    func prepare(_ r: GenerationRequest) async throws -> PreparedGeneration {
        guard r.model == "tiny" else { throw BackendError.unknownModel(r.model) }
        let n = promptTokens(r)
        guard n <= 32 else { throw BackendError.promptTooLong(tokens: n, limit: 32) }
        preparations.append(n)
        return PreparedGeneration(request: r, job: GenerationJob(promptTokens: Array(repeating: 1, count: n),
                                                                  sampler: r.sampling, maxTokens: r.maxTokens, stopSequences: r.stop))
    }
    func generate(_ prepared: PreparedGeneration, onText: @escaping @Sendable (String) -> Bool) async throws -> GenerationOutcome {
        let r = prepared.request
        var text = ""
        var count = 0
        for w in words.prefix(r.maxTokens) {
            if r.stop.contains(where: { w.contains($0) }) {
                return GenerationOutcome(text: text, promptTokens: promptTokens(r), completionTokens: count, finishReason: .stop)
            }
            text += w
            count += 1
            if !onText(w) { break }
            try await Task.sleep(nanoseconds: 1_000_000)
        }
        return GenerationOutcome(text: text, promptTokens: promptTokens(r), completionTokens: count,
                                 finishReason: count == words.count ? .stop : .length)
    }
    func embed(model: String, inputs: [String]) async throws -> (vectors: [[Float]], tokens: Int) {
        (inputs.map { [Float($0.count), Float($0.filter { $0 == "a" }.count)] }, inputs.count)
    }
}

private func body(_ object: Any) -> ByteBuffer {
    ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
}

private func decode(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
}

private func errorCode(_ buffer: ByteBuffer) -> String? {
    ((decode(buffer)["error"] as? [String: Any])?["code"]) as? String
}

private func makeApp(apiKey: String? = nil, backend: ScriptedBackend = ScriptedBackend()) -> some ApplicationProtocol {
    var config = ServerConfiguration()
    config.apiKey = apiKey
    let server = OpenAIServer(backend: backend, configuration: config)
    return Application(router: server.router())
}

@Suite struct OpenAIServerTests {
    @Test func listsModels() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect(response.status == .ok)
                let data = decode(response.body)["data"] as? [[String: Any]]
                #expect(data?.compactMap { $0["id"] as? String } == ["tiny", "embedder"])
            }
        }
    }

    @Test func completesAndChats() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/v1/completions", method: .post,
                                     body: body(["model": "tiny", "prompt": "Say hi", "max_tokens": 3])) { response in
                #expect(response.status == .ok)
                let json = decode(response.body)
                let choice = (json["choices"] as? [[String: Any]])?.first
                #expect(choice?["text"] as? String == "Hello there,")
                #expect(choice?["finish_reason"] as? String == "length")
                #expect((json["usage"] as? [String: Any])?["completion_tokens"] as? Int == 3)
                #expect(json["object"] as? String == "text_completion")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: body(["model": "tiny", "messages": [["role": "user", "content": "hi"]], "stop": ["."]])) { response in
                #expect(response.status == .ok)
                let choice = (decode(response.body)["choices"] as? [[String: Any]])?.first
                #expect((choice?["message"] as? [String: Any])?["content"] as? String == "Hello there, friend")
                #expect(choice?["finish_reason"] as? String == "stop")
            }
        }
    }

    @Test func streamsServerSentEvents() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: body(["model": "tiny", "stream": true, "messages": [["role": "user", "content": "hi"]]])) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = String(buffer: response.body)
                let events = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
                #expect(events.last == "data: [DONE]")
                var content = ""
                var finish: String?
                for event in events.dropLast() {
                    let json = (try? JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8))) as? [String: Any]
                    #expect(json?["object"] as? String == "chat.completion.chunk")
                    let choice = (json?["choices"] as? [[String: Any]])?.first
                    content += ((choice?["delta"] as? [String: Any])?["content"] as? String) ?? ""
                    if let f = choice?["finish_reason"] as? String { finish = f }
                }
                #expect(content == "Hello there, friend.")
                #expect(finish == "stop")
            }
        }
    }

    @Test func embeds() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/v1/embeddings", method: .post, body: body(["model": "embedder", "input": ["banana", "kiwi"]])) { response in
                #expect(response.status == .ok)
                let data = decode(response.body)["data"] as? [[String: Any]]
                #expect(data?.count == 2)
                #expect((data?.first?["embedding"] as? [Double]) == [6, 3])
            }
        }
    }

    @Test func badRequestsGetOpenAIStyleErrors() async throws {
        try await makeApp(apiKey: "sekret").test(.router) { client in
            let auth: HTTPFields = [.authorization: "Bearer sekret"]
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(errorCode(response.body) == "invalid_api_key")
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer wrong"]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/completions", method: .post, headers: auth, body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
                let err = decode(response.body)["error"] as? [String: Any]
                #expect(err?["type"] as? String == "invalid_request_error")
                #expect((err?["message"] as? String)?.contains("JSON") == true)
            }
            try await client.execute(uri: "/v1/completions", method: .post, headers: auth, body: body(["model": "nope", "prompt": "x"])) { response in
                #expect(response.status == .notFound)
                #expect(errorCode(response.body) == "model_not_found")
            }
            try await client.execute(uri: "/v1/completions", method: .post, headers: auth,
                                     body: body(["model": "tiny", "prompt": Array(repeating: "word", count: 40).joined(separator: " ")])) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response.body) == "context_length_exceeded")
            }
            try await client.execute(uri: "/v1/completions", method: .post, headers: auth,
                                     body: body(["model": "tiny", "prompt": "x", "temperature": 7])) { response in
                #expect(response.status == .badRequest)
                #expect((decode(response.body)["error"] as? [String: Any])?["param"] as? String == "temperature")
            }
            try await client.execute(uri: "/v1/completions", method: .post, headers: auth,
                                     body: body(["model": "tiny", "prompt": "x", "stream": "yes"])) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/v1/embeddings", method: .post, headers: auth, body: body(["model": "tiny", "input": "x"])) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response.body) == "model_not_supported")
            }
            try await client.execute(uri: "/v1/nothing", method: .get, headers: auth) { response in
                #expect(response.status == .notFound)
                #expect((decode(response.body)["error"] as? [String: Any]) != nil)
            }
        }
    }

    @Test func eachRequestIsPreparedOnce() async throws {
        let backend = ScriptedBackend()
        try await makeApp(backend: backend).test(.router) { client in
            try await client.execute(uri: "/v1/completions", method: .post,
                                     body: body(["model": "tiny", "prompt": "Say hi", "max_tokens": 3])) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: body(["model": "tiny", "messages": [["role": "user", "content": "Hi there"]],
                                                 "stream": true])) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("[DONE]"))
            }
        }
        // One preparation per request: 3 tokens ("Say hi" + 1), then 7 (2 words + 4 + 1).
        #expect(backend.preparations.values == [3, 7])
    }

    @Test func fairQueueAdmitsInArrivalOrder() async throws {
        let queue = AdmissionQueue(limit: 1)
        await queue.acquire()
        let order = OrderLog()
        let first = Task { await queue.acquire(); order.append(1); await queue.release() }
        while await queue.waiting < 1 { await Task.yield() }
        let second = Task { await queue.acquire(); order.append(2); await queue.release() }
        while await queue.waiting < 2 { await Task.yield() }
        await queue.release()
        _ = await (first.value, second.value)
        #expect(order.values == [1, 2])
        #expect(await queue.running == 0)
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func append(_ v: Int) { lock.lock(); items.append(v); lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return items }
}

@Suite struct ServerLimitTests {
    static var tinyModel: URL {
        TestModels.repositoryRoot.appendingPathComponent("Tests/EngineTests/Fixtures/families/qwen2-f32.gguf")
    }

    @Test func maxTokensAboveTheServersLimitIsRefused() async throws {
        var config = ServerConfiguration()
        config.maxTokensLimit = 4
        let app = Application(router: OpenAIServer(backend: ScriptedBackend(), configuration: config).router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/completions", method: .post,
                                     body: body(["model": "tiny", "prompt": "Say hi", "max_tokens": 5])) { response in
                #expect(response.status == .badRequest)
                let error = decode(response.body)["error"] as? [String: Any]
                #expect(error?["param"] as? String == "max_tokens")
                #expect((error?["message"] as? String)?.contains("at most 4") == true)
            }
            try await client.execute(uri: "/v1/completions", method: .post,
                                     body: body(["model": "tiny", "prompt": "Say hi", "max_tokens": 4])) { response in
                #expect(response.status == .ok)
            }
        }
    }

    /// A generation past its time limit ends at the next token, reported as `length`.
    @Test func aGenerationPastItsTimeLimitIsCut() async throws {
        let loaded = try LoadedTextModel.open(Self.tinyModel, contextLength: 256)
        let backend = try EngineBackend(textModel: loaded, textModelID: "tiny", sessions: 1, template: "chatml",
                                        embedder: nil, embeddingModelID: "")
        var sampling = SamplerSettings(temperature: 0)
        sampling.seed = 1
        var prepared = try await backend.prepare(GenerationRequest(model: "tiny", prompt: .text("hello world"), maxTokens: 64,
                                                                   sampling: sampling, stop: []))
        let unlimited = try await backend.generate(prepared) { _ in true }
        prepared.timeLimit = 0
        let cut = try await backend.generate(prepared) { _ in true }
        #expect(cut.finishReason == .length)
        #expect(cut.completionTokens <= 1)
        #expect(unlimited.completionTokens > cut.completionTokens)
    }

    @Test func anOpenHostNeedsAKeyOrInsecure() async throws {
        let loaded = try LoadedTextModel.open(Self.tinyModel, contextLength: 64)
        var settings = ServeSettings()
        settings.host = "0.0.0.0"
        settings.port = 0
        settings.embeddingModel = "none"
        settings.template = "chatml"
        do {
            _ = try RunningServer.start(textModel: loaded, settings: settings, handleSignals: false)
            Issue.record("an open host without a key started")
        } catch let error as ServeError {
            #expect(error.description.contains("--insecure"))
        }
        settings.insecure = true
        let open = settings
        // `start` waits for the listener on its thread: keep that off the test's cooperative pool,
        // which the server's own tasks need.
        let port: Int = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let server = try RunningServer.start(textModel: loaded, settings: open, handleSignals: false)
                    let port = server.port
                    _ = server.stop()
                    continuation.resume(returning: port)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        #expect(port > 0)
    }
}

/// The server on every architecture's tiny fixture GGUF (random weights, the family's real chat
/// template embedded): a chat request is rendered with the model's own Jinja template and answered.
@Suite struct FamilyChatTests {
    static func fixture(_ family: String) -> URL {
        TestModels.repositoryRoot.appendingPathComponent("Tests/EngineTests/Fixtures/families/\(family)-f32.gguf")
    }

    @Test(arguments: ["gemma2", "gemma3", "llama-bpe", "llama-spm", "phi3", "qwen2", "qwen3"])
    func chatUsesTheModelsOwnTemplate(family: String) async throws {
        let loaded = try LoadedTextModel.open(Self.fixture(family), contextLength: 256)
        let backend = try EngineBackend(textModel: loaded, textModelID: "tiny", sessions: 1, embedder: nil, embeddingModelID: "")
        let template = try #require(backend.chatTemplate)
        #expect(template.kind == .jinja, "\(family) serves \(template.kind), not its own template")
        let messages: [ChatMessage] = [.user("Hello, who are you?")]
        let prepared = try await backend.prepare(GenerationRequest(model: "tiny", prompt: .chat(messages), maxTokens: 4,
                                                                   sampling: SamplerSettings(temperature: 0), stop: []))
        let rendered = try template.render(messages, addGenerationPrompt: true)
        #expect(prepared.job.promptTokens == (try loaded.prepare(.messages(messages), template: template,
                                                                 sampler: SamplerSettings(), maxTokens: 4).tokens))
        #expect(rendered.contains("Hello, who are you?"))
        if let marker = template.endOfTurnText { #expect(prepared.job.stopSequences.contains(marker)) }

        let app = Application(router: OpenAIServer(backend: backend, configuration: ServerConfiguration()).router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: body(["model": "tiny", "messages": [["role": "user", "content": "Hello, who are you?"]],
                                                 "max_tokens": 4, "temperature": 0])) { response in
                #expect(response.status == .ok, "\(family): \(String(buffer: response.body))")
                let json = decode(response.body)
                let choice = (json["choices"] as? [[String: Any]])?.first
                #expect((choice?["message"] as? [String: Any])?["content"] is String)
                #expect(["stop", "length"].contains(choice?["finish_reason"] as? String ?? ""))
                #expect((json["usage"] as? [String: Any])?["prompt_tokens"] as? Int == prepared.promptTokenCount)
            }
        }
    }
}
