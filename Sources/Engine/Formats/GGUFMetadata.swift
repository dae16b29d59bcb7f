/// Metadata value types as numbered in GGUF.
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12
}

public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFArray)

    /// Any integer value (bools too) as Int, when it fits.
    public var intValue: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(exactly: v)
        case let .bool(v): return v ? 1 : 0
        default: return nil
        }
    }

    /// Any numeric value as Double.
    public var doubleValue: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return intValue.map(Double.init)
        }
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    /// A short human-readable rendering (arrays summarised), for `whet models show`.
    public var summary: String {
        switch self {
        case let .string(s): return s.count > 80 ? String(s.prefix(77)) + "…" : s
        case let .bool(b): return b ? "true" : "false"
        case let .float32(v): return "\(v)"
        case let .float64(v): return "\(v)"
        case let .array(a): return "[\(a.count) × \(a.elementTypeName)]"
        default: return intValue.map { "\($0)" } ?? "?"
        }
    }
}

public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16]), uint32([UInt32]), int32([Int32])
    case uint64([UInt64]), int64([Int64]), float32([Float]), float64([Double]), bool([Bool]), string([String])
    case array([GGUFArray])

    public var count: Int {
        switch self {
        case let .uint8(a): return a.count
        case let .int8(a): return a.count
        case let .uint16(a): return a.count
        case let .int16(a): return a.count
        case let .uint32(a): return a.count
        case let .int32(a): return a.count
        case let .uint64(a): return a.count
        case let .int64(a): return a.count
        case let .float32(a): return a.count
        case let .float64(a): return a.count
        case let .bool(a): return a.count
        case let .string(a): return a.count
        case let .array(a): return a.count
        }
    }

    public var elementTypeName: String {
        switch self {
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .uint64: return "u64"
        case .int64: return "i64"
        case .float32: return "f32"
        case .float64: return "f64"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        }
    }

    /// Integer elements as Int (any integer element type).
    public var intValues: [Int]? {
        switch self {
        case let .uint8(a): return a.map(Int.init)
        case let .int8(a): return a.map(Int.init)
        case let .uint16(a): return a.map(Int.init)
        case let .int16(a): return a.map(Int.init)
        case let .uint32(a): return a.map(Int.init)
        case let .int32(a): return a.map(Int.init)
        case let .int64(a): return a.map(Int.init)
        case let .uint64(a): return a.compactMap { Int(exactly: $0) }.count == a.count ? a.map { Int($0) } : nil
        default: return nil
        }
    }

    /// Float elements (f32 or f64 arrays).
    public var floatValues: [Float]? {
        switch self {
        case let .float32(a): return a
        case let .float64(a): return a.map(Float.init)
        default: return nil
        }
    }

    public var stringValues: [String]? {
        if case let .string(a) = self { return a }
        return nil
    }
}

/// The key/value metadata of a GGUF file, with typed accessors.
public struct GGUFMetadata: Sendable {
    public let values: [String: GGUFValue]
    /// Keys in file order.
    public let keys: [String]

    public subscript(key: String) -> GGUFValue? { values[key] }

    public func int(_ key: String) -> Int? { values[key]?.intValue }
    public func double(_ key: String) -> Double? { values[key]?.doubleValue }
    public func float(_ key: String) -> Float? { double(key).map(Float.init) }
    public func string(_ key: String) -> String? { values[key]?.stringValue }
    public func bool(_ key: String) -> Bool? { values[key]?.boolValue }

    public func array(_ key: String) -> GGUFArray? {
        if case let .array(a)? = values[key] { return a }
        return nil
    }

    /// `general.architecture`, e.g. "gemma3".
    public var architecture: String? { string("general.architecture") }
}

extension GGUFMetadata {
    /// The kind of value a well-known key must hold.
    enum ExpectedKind: String {
        case integer = "an integer", number = "a float", bool = "a bool", string = "a string"
        case strings = "an array of strings", numbers = "an array of floats", integers = "an array of integers"
        case integerOrIntegers = "an integer or an array of integers"

        func accepts(_ value: GGUFValue) -> Bool {
            switch self {
            case .integer: return value.intValue != nil
            case .number:
                if case .float32 = value { return true }
                if case .float64 = value { return true }
                return false
            case .bool: return value.boolValue != nil
            case .string: return value.stringValue != nil
            case .strings: if case let .array(a) = value { return a.stringValues != nil }; return false
            case .numbers: if case let .array(a) = value { return a.floatValues != nil }; return false
            case .integers: if case let .array(a) = value { return a.intValues != nil }; return false
            case .integerOrIntegers:
                if value.intValue != nil { return true }
                if case let .array(a) = value { return a.intValues != nil }
                return false
            }
        }
    }

    /// What each key llama.cpp reads with a fixed type must hold (`<arch>.` keys by their suffix).
    static func expectedKind(of key: String, architecture: String?) -> ExpectedKind? {
        switch key {
        case "general.alignment", "general.file_type", "general.quantization_version": return .integer
        case "general.architecture", "general.name", "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.chat_template":
            return .string
        case "tokenizer.ggml.tokens", "tokenizer.ggml.merges": return .strings
        case "tokenizer.ggml.scores": return .numbers
        case "tokenizer.ggml.token_type": return .integers
        default: break
        }
        if key.hasPrefix("tokenizer.ggml.") {
            if key.hasSuffix("_token_id") { return .integer }
            if key.hasPrefix("tokenizer.ggml.add_") { return .bool }
            return nil
        }
        guard let architecture, key.hasPrefix(architecture + ".") else { return nil }
        switch String(key.dropFirst(architecture.count + 1)) {
        case "context_length", "embedding_length", "block_count", "vocab_size", "attention.key_length",
             "attention.value_length", "attention.sliding_window", "attention.sliding_window_pattern", "rope.dimension_count":
            return .integer
        case "feed_forward_length", "attention.head_count", "attention.head_count_kv": return .integerOrIntegers
        case "attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon", "rope.freq_base", "rope.freq_base_swa", "rope.freq_scale",
             "rope.scaling.factor", "attn_logit_softcapping", "final_logit_softcapping":
            return .number
        default: return nil
        }
    }

    /// A well-known key whose value has the wrong type is an error, not a value silently ignored.
    func checkKnownTypes(path: String) throws {
        let architecture = values["general.architecture"]?.stringValue
        for key in keys {
            guard let value = values[key], let kind = Self.expectedKind(of: key, architecture: architecture) else { continue }
            guard kind.accepts(value) else {
                throw GGUFError.invalidMetadata(path: path, key: key, reason: "it must be \(kind.rawValue) but holds \(value.typeName)")
            }
        }
    }
}

extension GGUFValue {
    /// The GGUF type name of this value, for error messages.
    var typeName: String {
        switch self {
        case .uint8: return "a uint8"
        case .int8: return "an int8"
        case .uint16: return "a uint16"
        case .int16: return "an int16"
        case .uint32: return "a uint32"
        case .int32: return "an int32"
        case .uint64: return "a uint64"
        case .int64: return "an int64"
        case .float32: return "a float32"
        case .float64: return "a float64"
        case .bool: return "a bool"
        case .string: return "a string"
        case .array: return "an array"
        }
    }
}
