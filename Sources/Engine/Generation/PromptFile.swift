import Foundation

/// `{{name}}` placeholders in prompt text.
public enum PromptVariables {
    /// Replaces every `{{name}}` (spaces inside the braces allowed) with its value, in one pass:
    /// a value that itself contains `{{…}}` is inserted as is. Braces that do not hold a name
    /// (letters, digits, `_`, `-`, `.`) are left alone.
    public static func substitute(_ text: String, _ values: [String: String]) throws -> String {
        var out = ""
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let name = afterOpen[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if isName(name) {
                guard let value = values[name] else { throw GenerationError.missingVariable(name: name) }
                out += value
                rest = afterOpen[close.upperBound...]
            } else {
                out += "{{"
                rest = afterOpen
            }
        }
        out += rest
        return out
    }

    /// The variable names `text` uses, in order of first use.
    public static func names(in text: String) -> [String] {
        var names: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else { break }
            let name = afterOpen[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if isName(name) {
                if !names.contains(name) { names.append(name) }
                rest = afterOpen[close.upperBound...]
            } else {
                rest = afterOpen
            }
        }
        return names
    }

    static func isName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || CharacterSet.letters.contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || $0 == "." || CharacterSet.alphanumerics.contains($0) }
    }
}

public struct FewShotExample: Codable, Sendable, Equatable {
    public var input: String
    public var output: String
    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }
}

/// A saved prompt: everything needed to re-run it (see docs/generation.md for the JSON layout).
public struct PromptFile: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int = PromptFile.currentVersion
    public var name: String?
    /// `auto` (from the model), or a `ChatTemplate.Kind` (`none` = plain text, no chat markup).
    public var chatTemplate: String = "auto"
    public var system: String?
    public var examples: [FewShotExample] = []
    /// The user message; may hold `{{variable}}` placeholders.
    public var template: String
    public var variables: [String: String] = [:]
    public var sampler: SamplerSettings = SamplerSettings()
    public var maxTokens: Int = 256
    public var stop: [String] = []

    public init(template: String, system: String? = nil, examples: [FewShotExample] = [], variables: [String: String] = [:],
                chatTemplate: String = "auto", sampler: SamplerSettings = SamplerSettings(), maxTokens: Int = 256,
                stop: [String] = [], name: String? = nil) {
        self.template = template
        self.system = system
        self.examples = examples
        self.variables = variables
        self.chatTemplate = chatTemplate
        self.sampler = sampler
        self.maxTokens = maxTokens
        self.stop = stop
        self.name = name
    }

    enum CodingKeys: String, CodingKey {
        case version, name, chatTemplate = "chat_template", system, examples, template, variables, sampler
        case maxTokens = "max_tokens", stop
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? Self.currentVersion
        name = try c.decodeIfPresent(String.self, forKey: .name)
        chatTemplate = try c.decodeIfPresent(String.self, forKey: .chatTemplate) ?? "auto"
        system = try c.decodeIfPresent(String.self, forKey: .system)
        examples = try c.decodeIfPresent([FewShotExample].self, forKey: .examples) ?? []
        template = try c.decode(String.self, forKey: .template)
        variables = try c.decodeIfPresent([String: String].self, forKey: .variables) ?? [:]
        sampler = try c.decodeIfPresent(SamplerSettings.self, forKey: .sampler) ?? SamplerSettings()
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens) ?? 256
        stop = try c.decodeIfPresent([String].self, forKey: .stop) ?? []
    }

    /// The conversation this prompt stands for, variables filled in (`overrides` win over the
    /// file's own values): system, then each example as a user / assistant pair, then the template.
    /// With `substitutingVariables: false` every text is taken literally.
    public func messages(overriding overrides: [String: String] = [:], substitutingVariables: Bool = true) throws -> [ChatMessage] {
        let values = variables.merging(overrides) { $1 }
        func fill(_ text: String) throws -> String {
            substitutingVariables ? try PromptVariables.substitute(text, values) : text
        }
        var messages: [ChatMessage] = []
        if let system, !system.isEmpty { messages.append(.system(try fill(system))) }
        for example in examples {
            messages.append(.user(try fill(example.input)))
            messages.append(.assistant(try fill(example.output)))
        }
        messages.append(.user(try fill(template)))
        return messages
    }

    /// The text to tokenize. With the `none` template the parts are joined by blank lines and
    /// each example is its input and output on consecutive lines.
    public func render(with chat: ChatTemplate, overriding overrides: [String: String] = [:],
                       substitutingVariables: Bool = true) throws -> String {
        let messages = try messages(overriding: overrides, substitutingVariables: substitutingVariables)
        guard chat.kind == .none else { return try chat.render(messages, addGenerationPrompt: true) }
        var parts: [String] = []
        var i = 0
        while i < messages.count {
            let m = messages[i]
            if m.role == .user, i + 1 < messages.count, messages[i + 1].role == .assistant {
                parts.append(m.content + "\n" + messages[i + 1].content)
                i += 2
            } else {
                parts.append(m.content)
                i += 1
            }
        }
        return parts.joined(separator: "\n\n")
    }

    public func validate(path: String = "prompt") throws {
        if version > Self.currentVersion {
            throw GenerationError.promptFileInvalid(path: path, reason: "format version \(version) is newer than this build reads (\(Self.currentVersion)); update Whetstone")
        }
        if maxTokens < 0 { throw GenerationError.promptFileInvalid(path: path, reason: "max_tokens is \(maxTokens), must be ≥ 0") }
        if chatTemplate.lowercased() != "auto" && ChatTemplate.Kind(rawValue: chatTemplate.lowercased()) == nil {
            throw GenerationError.promptFileInvalid(path: path, reason: "chat_template '\(chatTemplate)' is unknown (auto, \(ChatTemplate.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        do { try sampler.validate() } catch let error as GenerationError {
            throw GenerationError.promptFileInvalid(path: path, reason: "sampler: \(error)")
        }
    }

    public static func load(from url: URL) throws -> PromptFile {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw GenerationError.promptFileUnreadable(path: url.path, reason: (error as NSError).localizedDescription)
        }
        let file: PromptFile
        do { file = try JSONDecoder().decode(PromptFile.self, from: data) } catch let error as DecodingError {
            throw GenerationError.promptFileInvalid(path: url.path, reason: Self.explain(error))
        } catch {
            throw GenerationError.promptFileInvalid(path: url.path, reason: String(describing: error))
        }
        try file.validate(path: url.path)
        return file
    }

    /// Writes the file atomically: a temporary file in the same folder, then a rename over the target.
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(contentsOf: Array("\n".utf8))
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary)
            if rename(temporary.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw GenerationError.promptFileUnwritable(path: url.path, reason: reason)
            }
        } catch let error as GenerationError {
            throw error
        } catch {
            throw GenerationError.promptFileUnwritable(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    private static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "top level" : p
        }
        switch error {
        case let .keyNotFound(key, context): return "missing key '\(key.stringValue)' at \(path(context))"
        case let .typeMismatch(_, context): return "wrong type at \(path(context)): \(context.debugDescription)"
        case let .valueNotFound(_, context): return "missing value at \(path(context))"
        case let .dataCorrupted(context): return "not valid JSON (\(context.underlyingError.map { String(describing: $0) } ?? context.debugDescription))"
        @unknown default: return String(describing: error)
        }
    }
}
