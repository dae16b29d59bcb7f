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

/// The engine-side request of each generation endpoint, from its checked body.
enum OpenAIRequestParser {
    static func completion(_ data: Data) throws -> (GenerationRequest, stream: Bool) {
        let body = try BodyCoding.decode(CompletionRequestBody.self, from: data)
        let g = body.generation
        let request = GenerationRequest(model: body.model, prompt: .text(body.prompt), maxTokens: g.maxTokens, sampling: g.sampling, stop: g.stop)
        return (request, g.stream)
    }

    static func chat(_ data: Data) throws -> (GenerationRequest, stream: Bool) {
        let body = try BodyCoding.decode(ChatCompletionRequestBody.self, from: data)
        let g = body.generation
        let request = GenerationRequest(model: body.model, prompt: .chat(body.messages), maxTokens: g.maxTokens, sampling: g.sampling, stop: g.stop)
        return (request, g.stream)
    }

    static func embeddings(_ data: Data) throws -> (model: String, inputs: [String]) {
        let body = try BodyCoding.decode(EmbeddingRequestBody.self, from: data)
        return (body.model, body.inputs)
    }
}
