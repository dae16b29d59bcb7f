import Engine
import Foundation

// The request and response bodies of the OpenAI endpoints, as Codable types.

/// Any JSON value. Requests are decoded into it first so that each field's check can answer with
/// OpenAI's 400 that names the field (a synthesized decoder would only say "type mismatch").
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .number(n): try c.encode(n)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    var string: String? { if case let .string(s) = self { s } else { nil } }
    var isNull: Bool { self == .null }
}

/// A field OpenAI always sends, `null` when it has no value (a synthesized encoder would leave it out).
struct Nullable<Wrapped: Encodable & Sendable>: Encodable, Sendable {
    var value: Wrapped?
    init(_ value: Wrapped?) { self.value = value }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value { try c.encode(value) } else { try c.encodeNil() }
    }
}

/// Field readers for request objects, each failing with the 400 OpenAI gives for that field.
struct RequestFields {
    let fields: [String: JSONValue]

    init(_ value: JSONValue) throws {
        guard case let .object(fields) = value else { throw APIError.badRequest("The request body must be a JSON object") }
        self.fields = fields
    }

    func present(_ key: String) -> JSONValue? {
        guard let v = fields[key], !v.isNull else { return nil }
        return v
    }

    func string(_ key: String) throws -> String {
        guard let v = fields[key] else { throw APIError.badRequest("Missing required parameter: '\(key)'", param: key) }
        guard let s = v.string else { throw APIError.badRequest("'\(key)' must be a string", param: key) }
        return s
    }

    func number(_ key: String, range: ClosedRange<Double>) throws -> Double? {
        guard let v = present(key) else { return nil }
        guard case let .number(x) = v else { throw APIError.badRequest("'\(key)' must be a number", param: key) }
        guard x.isFinite, range.contains(x) else {
            throw APIError.badRequest("'\(key)' is \(x); it must be between \(range.lowerBound) and \(range.upperBound)", param: key)
        }
        return x
    }

    func integer(_ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let x = try number(key, range: Double(range.lowerBound)...Double(range.upperBound)) else { return nil }
        guard x == x.rounded() else { throw APIError.badRequest("'\(key)' must be an integer", param: key) }
        return Int(x)
    }

    func bool(_ key: String) throws -> Bool {
        guard let v = present(key) else { return false }
        guard case let .bool(b) = v else { throw APIError.badRequest("'\(key)' must be a boolean", param: key) }
        return b
    }

    func stop() throws -> [String] {
        guard let v = present("stop") else { return [] }
        if let s = v.string { return [s] }
        if case let .array(list) = v, list.count <= 4 {
            let strings = list.compactMap(\.string)
            if strings.count == list.count { return strings }
        }
        throw APIError.badRequest("'stop' must be a string or an array of up to 4 strings", param: "stop")
    }

    /// OpenAI's defaults: temperature 1 and no truncation (llama.cpp's top-k 40 / min-p 0.05 are
    /// off unless the request asks for them through the `top_k` / `min_p` extensions).
    static let openAIDefaults = SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1,
                                                presencePenalty: 0, frequencyPenalty: 0)

    func sampling() throws -> SamplerSettings {
        var s = Self.openAIDefaults
        if let t = try number("temperature", range: 0...2) { s.temperature = Float(t) }
        if let p = try number("top_p", range: 0...1) { s.topP = Float(p) }
        if let k = try integer("top_k", range: 0...1_000_000) { s.topK = k }
        if let m = try number("min_p", range: 0...1) { s.minP = Float(m) }
        if let r = try number("repeat_penalty", range: 0...10) { s.repeatPenalty = Float(r) }
        if let p = try number("presence_penalty", range: -2...2) { s.presencePenalty = Float(p) }
        if let f = try number("frequency_penalty", range: -2...2) { s.frequencyPenalty = Float(f) }
        if let seed = try integer("seed", range: Int(Int64.min / 2)...Int(Int64.max / 2)) { s.seed = UInt64(bitPattern: Int64(seed)) }
        if let n = try integer("n", range: 1...128), n != 1 {
            throw APIError.badRequest("Only n = 1 is supported; send one request per completion", param: "n")
        }
        // The engine's own rules (e.g. repeat_penalty > 0) decide what is valid.
        do {
            try s.validate()
        } catch let GenerationError.invalidSetting(name, value, rule) {
            throw APIError.badRequest("'\(name)' is \(value); it must be \(rule)", param: name)
        }
        return s
    }

    func maxTokens(default value: Int) throws -> Int {
        if let m = try integer("max_completion_tokens", range: 1...1_000_000) { return m }
        return try integer("max_tokens", range: 1...1_000_000) ?? value
    }
}

/// A request body decoded as a `JSONValue`, then checked field by field.
protocol CheckedRequestBody: Decodable {
    init(checking fields: RequestFields) throws
}

extension CheckedRequestBody {
    init(from decoder: any Decoder) throws {
        try self.init(checking: RequestFields(try JSONValue(from: decoder)))
    }
}

/// The generation settings both completion endpoints take.
struct GenerationFields: Sendable {
    var maxTokens: Int
    var sampling: SamplerSettings
    var stop: [String]
    var stream: Bool

    init(_ d: RequestFields, defaultMaxTokens: Int) throws {
        maxTokens = try d.maxTokens(default: defaultMaxTokens)
        sampling = try d.sampling()
        stop = try d.stop()
        stream = try d.bool("stream")
    }
}

/// `POST /v1/completions`: prompt is one string (or an array holding exactly one string).
struct CompletionRequestBody: CheckedRequestBody {
    var model: String
    var prompt: String
    var generation: GenerationFields

    init(checking d: RequestFields) throws {
        model = try d.string("model")
        switch d.fields["prompt"] {
        case let .string(s)?: prompt = s
        case let .array(list)? where list.count == 1 && list.first?.string != nil: prompt = list.first?.string ?? ""
        case nil: throw APIError.badRequest("Missing required parameter: 'prompt'", param: "prompt")
        default: throw APIError.badRequest("'prompt' must be a string (batched prompts are not supported)", param: "prompt")
        }
        generation = try GenerationFields(d, defaultMaxTokens: 16)
    }
}

/// `POST /v1/chat/completions`.
struct ChatCompletionRequestBody: CheckedRequestBody {
    var model: String
    var messages: [ChatMessage]
    var generation: GenerationFields

    init(checking d: RequestFields) throws {
        model = try d.string("model")
        guard let raw = d.fields["messages"] else {
            throw APIError.badRequest("Missing required parameter: 'messages'", param: "messages")
        }
        guard case let .array(list) = raw, !list.isEmpty else {
            throw APIError.badRequest("'messages' must be a non-empty array", param: "messages")
        }
        messages = try list.enumerated().map { i, item in try Self.message(item, index: i) }
        generation = try GenerationFields(d, defaultMaxTokens: 256)
    }

    static func message(_ item: JSONValue, index i: Int) throws -> ChatMessage {
        guard case let .object(m) = item, let role = m["role"]?.string else {
            throw APIError.badRequest("messages[\(i)] must be an object with a 'role'", param: "messages[\(i)]")
        }
        guard ["system", "developer", "user", "assistant"].contains(role) else {
            throw APIError.badRequest("messages[\(i)].role '\(role)' is not one of system, user, assistant", param: "messages[\(i)].role")
        }
        let content: String
        switch m["content"] {
        case let .string(s)?:
            content = s
        case let .array(parts)?:
            // The array form: keep the text parts, refuse images and audio.
            var text = ""
            for part in parts {
                guard case let .object(p) = part, p["type"]?.string == "text", let t = p["text"]?.string else {
                    throw APIError.badRequest("messages[\(i)].content: only text parts are supported", param: "messages[\(i)].content")
                }
                text += t
            }
            content = text
        default:
            throw APIError.badRequest("messages[\(i)].content must be a string", param: "messages[\(i)].content")
        }
        let mapped: ChatMessage.Role = role == "user" ? .user : role == "assistant" ? .assistant : .system
        return ChatMessage(role: mapped, content: content)
    }
}

/// `POST /v1/embeddings`.
struct EmbeddingRequestBody: CheckedRequestBody {
    var model: String
    var inputs: [String]

    init(checking d: RequestFields) throws {
        model = try d.string("model")
        switch d.fields["input"] {
        case let .string(s)?:
            inputs = [s]
        case let .array(list)? where !list.isEmpty && list.count <= 2048:
            let strings = list.compactMap(\.string)
            guard strings.count == list.count else {
                throw APIError.badRequest("'input' must be a string or an array of strings", param: "input")
            }
            inputs = strings
        case nil: throw APIError.badRequest("Missing required parameter: 'input'", param: "input")
        default: throw APIError.badRequest("'input' must be a string or a non-empty array of up to 2048 strings", param: "input")
        }
    }
}

// MARK: responses (keys are converted to snake_case when encoded)

struct ModelListBody: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var id: String
        var object = "model"
        var created: Int
        var ownedBy = "whetstone"
        var kind: String
        var contextLength: Int
    }
    var object = "list"
    var data: [Entry]
}

struct UsageBody: Encodable, Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
}

struct CompletionResponseBody: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var index = 0
        var text: String
        var finishReason: Nullable<String>
        var logprobs = Nullable<String>(nil)
    }
    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    /// Absent in stream chunks.
    var usage: UsageBody?
}

struct ChatCompletionResponseBody: Encodable, Sendable {
    struct Message: Encodable, Sendable {
        var role = "assistant"
        var content: String
    }
    struct Choice: Encodable, Sendable {
        var index = 0
        var message: Message
        var finishReason: String
        var logprobs = Nullable<String>(nil)
    }
    var id: String
    var object = "chat.completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: UsageBody
}

struct ChatCompletionChunkBody: Encodable, Sendable {
    struct Delta: Encodable, Sendable {
        var role: String?
        var content: String?
    }
    struct Choice: Encodable, Sendable {
        var index = 0
        var delta: Delta
        var finishReason: Nullable<String>
        var logprobs = Nullable<String>(nil)
    }
    var id: String
    var object = "chat.completion.chunk"
    var created: Int
    var model: String
    var choices: [Choice]
}

struct EmbeddingListBody: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var object = "embedding"
        var index: Int
        var embedding: [Double]
    }
    struct Usage: Encodable, Sendable {
        var promptTokens: Int
        var totalTokens: Int
    }
    var object = "list"
    var data: [Entry]
    var model: String
    var usage: Usage
}

struct ErrorBody: Encodable, Sendable {
    struct Detail: Encodable, Sendable {
        var message: String
        var type: String
        var param: Nullable<String>
        var code: Nullable<String>
    }
    var error: Detail

    init(_ error: APIError) {
        self.error = Detail(message: error.message, type: error.type, param: Nullable(error.param), code: Nullable(error.code))
    }
}

enum BodyCoding {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    static func encode(_ body: some Encodable) throws -> Data { try encoder().encode(body) }

    /// Decodes a request body; a body that is not JSON gets OpenAI's parse error.
    static func decode<Body: CheckedRequestBody>(_ type: Body.Type, from data: Data) throws -> Body {
        guard !data.isEmpty else { throw APIError.badRequest("The request body is empty; send a JSON object") }
        do {
            return try JSONDecoder().decode(Body.self, from: data)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("We could not parse the JSON body of your request; send valid JSON")
        }
    }
}
