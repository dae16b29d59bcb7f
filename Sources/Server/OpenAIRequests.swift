import Engine
import Foundation

/// An OpenAI-style API error: HTTP status and the `{"error": {...}}` body.
public struct APIError: Error, Sendable, Equatable {
    public let status: Int
    public let message: String
    public let type: String
    public let param: String?
    public let code: String?

    public init(status: Int, message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    static func badRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, message: message, param: param, code: code)
    }

    var body: [String: Any] {
        ["error": ["message": message, "type": type, "param": param as Any? ?? NSNull(), "code": code as Any? ?? NSNull()]]
    }

    static func from(_ error: BackendError) -> APIError {
        switch error {
        case .unknownModel:
            return APIError(status: 404, message: error.description, param: "model", code: "model_not_found")
        case .promptTooLong:
            return APIError(status: 400, message: error.description, param: "messages", code: "context_length_exceeded")
        case let .invalidParameter(name, _):
            return APIError(status: 400, message: error.description, param: name)
        case .failed:
            return APIError(status: 500, message: error.description, type: "server_error")
        }
    }
}

/// Reads the JSON request bodies of the OpenAI endpoints, with 400s that name the bad field.
enum OpenAIRequestParser {
    static func object(_ data: Data) throws -> [String: Any] {
        guard !data.isEmpty else { throw APIError.badRequest("The request body is empty; send a JSON object") }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw APIError.badRequest("We could not parse the JSON body of your request; send valid JSON")
        }
        guard let dict = parsed as? [String: Any] else { throw APIError.badRequest("The request body must be a JSON object") }
        return dict
    }

    static func string(_ d: [String: Any], _ key: String) throws -> String {
        guard let v = d[key] else { throw APIError.badRequest("Missing required parameter: '\(key)'", param: key) }
        guard let s = v as? String else { throw APIError.badRequest("'\(key)' must be a string", param: key) }
        return s
    }

    static func number(_ d: [String: Any], _ key: String, range: ClosedRange<Double>) throws -> Double? {
        guard let v = d[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, CFGetTypeIDIsBool(n) == false else {
            throw APIError.badRequest("'\(key)' must be a number", param: key)
        }
        let x = n.doubleValue
        guard x.isFinite, range.contains(x) else {
            throw APIError.badRequest("'\(key)' is \(x); it must be between \(range.lowerBound) and \(range.upperBound)", param: key)
        }
        return x
    }

    static func integer(_ d: [String: Any], _ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let x = try number(d, key, range: Double(range.lowerBound)...Double(range.upperBound)) else { return nil }
        guard x == x.rounded() else { throw APIError.badRequest("'\(key)' must be an integer", param: key) }
        return Int(x)
    }

    static func bool(_ d: [String: Any], _ key: String) throws -> Bool {
        guard let v = d[key], !(v is NSNull) else { return false }
        guard let n = v as? NSNumber, CFGetTypeIDIsBool(n) else { throw APIError.badRequest("'\(key)' must be a boolean", param: key) }
        return n.boolValue
    }

    static func stop(_ d: [String: Any]) throws -> [String] {
        guard let v = d["stop"], !(v is NSNull) else { return [] }
        if let s = v as? String { return [s] }
        if let list = v as? [Any], list.count <= 4, let strings = list as? [String] { return strings }
        throw APIError.badRequest("'stop' must be a string or an array of up to 4 strings", param: "stop")
    }

    /// OpenAI's defaults: temperature 1 and no truncation (llama.cpp's top-k 40 / min-p 0.05 are
    /// off unless the request asks for them through the `top_k` / `min_p` extensions).
    static let openAIDefaults = SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1,
                                                presencePenalty: 0, frequencyPenalty: 0)

    static func sampling(_ d: [String: Any]) throws -> SamplerSettings {
        var s = openAIDefaults
        if let t = try number(d, "temperature", range: 0...2) { s.temperature = Float(t) }
        if let p = try number(d, "top_p", range: 0...1) { s.topP = Float(p) }
        if let k = try integer(d, "top_k", range: 0...1_000_000) { s.topK = k }
        if let m = try number(d, "min_p", range: 0...1) { s.minP = Float(m) }
        if let r = try number(d, "repeat_penalty", range: 0...10) { s.repeatPenalty = Float(r) }
        if let p = try number(d, "presence_penalty", range: -2...2) { s.presencePenalty = Float(p) }
        if let f = try number(d, "frequency_penalty", range: -2...2) { s.frequencyPenalty = Float(f) }
        if let seed = try integer(d, "seed", range: Int(Int64.min / 2)...Int(Int64.max / 2)) { s.seed = UInt64(bitPattern: Int64(seed)) }
        if let n = try integer(d, "n", range: 1...128), n != 1 {
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

    static func maxTokens(_ d: [String: Any], default value: Int) throws -> Int {
        if let m = try integer(d, "max_completion_tokens", range: 1...1_000_000) { return m }
        return try integer(d, "max_tokens", range: 1...1_000_000) ?? value
    }

    /// `/v1/completions`: prompt is one string (or an array holding exactly one string).
    static func completion(_ data: Data) throws -> (GenerationRequest, stream: Bool) {
        let d = try object(data)
        let model = try string(d, "model")
        let prompt: String
        switch d["prompt"] {
        case let s as String: prompt = s
        case let list as [Any] where list.count == 1 && list.first is String: prompt = list.first as? String ?? ""
        case nil: throw APIError.badRequest("Missing required parameter: 'prompt'", param: "prompt")
        default: throw APIError.badRequest("'prompt' must be a string (batched prompts are not supported)", param: "prompt")
        }
        let request = GenerationRequest(model: model, prompt: .text(prompt), maxTokens: try maxTokens(d, default: 16),
                                        sampling: try sampling(d), stop: try stop(d))
        return (request, try bool(d, "stream"))
    }

    /// `/v1/chat/completions`.
    static func chat(_ data: Data) throws -> (GenerationRequest, stream: Bool) {
        let d = try object(data)
        let model = try string(d, "model")
        guard let raw = d["messages"] else { throw APIError.badRequest("Missing required parameter: 'messages'", param: "messages") }
        guard let list = raw as? [Any], !list.isEmpty else {
            throw APIError.badRequest("'messages' must be a non-empty array", param: "messages")
        }
        var turns: [ChatMessage] = []
        for (i, item) in list.enumerated() {
            guard let m = item as? [String: Any], let role = m["role"] as? String else {
                throw APIError.badRequest("messages[\(i)] must be an object with a 'role'", param: "messages[\(i)]")
            }
            guard ["system", "developer", "user", "assistant"].contains(role) else {
                throw APIError.badRequest("messages[\(i)].role '\(role)' is not one of system, user, assistant", param: "messages[\(i)].role")
            }
            let content: String
            if let s = m["content"] as? String {
                content = s
            } else if let parts = m["content"] as? [[String: Any]] {
                // The array form: keep the text parts, refuse images and audio.
                var text = ""
                for part in parts {
                    guard part["type"] as? String == "text", let t = part["text"] as? String else {
                        throw APIError.badRequest("messages[\(i)].content: only text parts are supported", param: "messages[\(i)].content")
                    }
                    text += t
                }
                content = text
            } else {
                throw APIError.badRequest("messages[\(i)].content must be a string", param: "messages[\(i)].content")
            }
            let mapped: ChatMessage.Role = role == "user" ? .user : role == "assistant" ? .assistant : .system
            turns.append(ChatMessage(role: mapped, content: content))
        }
        let request = GenerationRequest(model: model, prompt: .chat(turns), maxTokens: try maxTokens(d, default: 256),
                                        sampling: try sampling(d), stop: try stop(d))
        return (request, try bool(d, "stream"))
    }

    /// `/v1/embeddings`.
    static func embeddings(_ data: Data) throws -> (model: String, inputs: [String]) {
        let d = try object(data)
        let model = try string(d, "model")
        switch d["input"] {
        case let s as String: return (model, [s])
        case let list as [Any] where !list.isEmpty && list.count <= 2048:
            guard let strings = list as? [String] else {
                throw APIError.badRequest("'input' must be a string or an array of strings", param: "input")
            }
            return (model, strings)
        case nil: throw APIError.badRequest("Missing required parameter: 'input'", param: "input")
        default: throw APIError.badRequest("'input' must be a string or a non-empty array of up to 2048 strings", param: "input")
        }
    }
}

/// `NSNumber` wraps JSON booleans too; tell them apart from numbers.
private func CFGetTypeIDIsBool(_ n: NSNumber) -> Bool {
    String(cString: n.objCType) == "c" && (n == NSNumber(value: true) || n == NSNumber(value: false))
}
