import Foundation

/// What a model file or folder is, read from its header only (for `whet models` and the Models pane).
public struct ModelInfo: Sendable, Codable, Equatable {
    public enum ArchitectureClass: String, Sendable, Codable {
        case decoderOnly = "decoder-only"
        case encoderOnly = "encoder-only"
        case encoderDecoder = "encoder-decoder"
        case unknown
    }

    public var name: String
    public var path: String
    public var format: String
    public var architecture: String
    public var architectureClass: ArchitectureClass
    public var parameters: Int
    /// Tensor element type → number of tensors of that type.
    public var tensorTypes: [String: Int]
    public var contextLength: Int?
    public var fileBytes: Int
    /// Key/value cache bytes per position (fp32), for decoder models whose shape is known.
    public var cacheBytesPerPosition: Int?
    /// Scalar metadata as text; arrays summarised by element count.
    public var metadata: [String: String]

    enum CodingKeys: String, CodingKey {
        case name, path, format, architecture, parameters, metadata
        case architectureClass = "architecture_class"
        case tensorTypes = "tensor_types"
        case contextLength = "context_length"
        case fileBytes = "file_bytes"
        case cacheBytesPerPosition = "cache_bytes_per_position"
    }

    static func architectureClass(of architecture: String) -> ArchitectureClass {
        switch architecture.lowercased() {
        case "bert", "nomic-bert", "jina-bert-v2", "roberta", "xlm-roberta", "distilbert", "electra", "mpnet":
            return .encoderOnly
        case "t5", "bart", "mbart", "marian", "pegasus", "whisper":
            return .encoderDecoder
        case "t5encoder":
            return .encoderOnly
        case "":
            return .unknown
        default:
            // Every other GGUF / Hugging Face causal architecture (llama, gemma*, qwen*, mistral, phi*, gpt2 …).
            return .decoderOnly
        }
    }

    /// Reads a `.gguf` file or a Hugging Face folder (`config.json` + `*.safetensors`).
    public static func inspect(_ url: URL) throws -> ModelInfo {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        return isDirectory.boolValue ? try inspectFolder(url) : try inspectGGUF(url)
    }

    public static func inspectGGUF(_ url: URL) throws -> ModelInfo {
        let file = try GGUFFile(path: url.path)
        let m = file.metadata
        let arch = m.architecture ?? ""
        // Reporting a model as fine means it loads: its tensors' shapes and types and its
        // hyper-parameters are checked the way the engine will use them.
        if TransformerDecoder.supportedArchitectures.contains(arch) { _ = try TransformerDecoder(file: file) }
        var types: [String: Int] = [:]
        var parameters = 0
        for t in file.tensors {
            types[t.type.name, default: 0] += 1
            parameters += t.elementCount
        }
        var metadata: [String: String] = [:]
        for key in m.keys {
            guard let value = m[key] else { continue }
            metadata[key] = value.summary
        }
        var cachePerPosition: Int?
        if let layers = m.int(arch + ".block_count"), let heads = m.int(arch + ".attention.head_count"),
           let d = m.int(arch + ".embedding_length"), heads > 0 {
            let kv = m.int(arch + ".attention.head_count_kv") ?? heads
            let k = m.int(arch + ".attention.key_length") ?? d / heads
            let v = m.int(arch + ".attention.value_length") ?? k
            cachePerPosition = layers * kv * (k + v) * MemoryLayout<Float>.size
        }
        return ModelInfo(name: url.deletingPathExtension().lastPathComponent, path: url.path, format: "gguf v\(file.version)",
                         architecture: arch, architectureClass: architectureClass(of: arch), parameters: parameters,
                         tensorTypes: types, contextLength: m.int(arch + ".context_length"), fileBytes: file.fileSize,
                         cacheBytesPerPosition: cachePerPosition, metadata: metadata)
    }

    public static func inspectFolder(_ url: URL) throws -> ModelInfo {
        let configURL = url.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path),
              let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelInfoError.notAModel(path: url.path)
        }
        let arch = (config["model_type"] as? String) ?? ""
        var metadata: [String: String] = [:]
        for (key, value) in config where !(value is [Any]) && !(value is [String: Any]) {
            metadata[key] = "\(value)"
        }
        var parameters = 0
        var types: [String: Int] = [:]
        var bytes = 0
        let items = (try? FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)) ?? []
        for item in items {
            if let size = try? item.resourceValues(forKeys: [.fileSizeKey]).fileSize { bytes += size }
            guard item.pathExtension == "safetensors" else { continue }
            for (dtype, shape) in try safetensorsHeader(item) {
                types[dtype, default: 0] += 1
                parameters += shape.reduce(1, *)
            }
        }
        let context = (config["max_position_embeddings"] as? Int) ?? (config["n_positions"] as? Int)
        return ModelInfo(name: url.lastPathComponent, path: url.path, format: "safetensors", architecture: arch,
                         architectureClass: architectureClass(of: arch), parameters: parameters, tensorTypes: types,
                         contextLength: context, fileBytes: bytes, cacheBytesPerPosition: nil, metadata: metadata)
    }

    /// (dtype, shape) of every tensor in a safetensors file, from its JSON header.
    static func safetensorsHeader(_ url: URL) throws -> [(String, [Int])] {
        guard let handle = try? FileHandle(forReadingFrom: url) else { throw ModelInfoError.notAModel(path: url.path) }
        defer { try? handle.close() }
        let lengthBytes = handle.readData(ofLength: 8)
        guard lengthBytes.count == 8 else { throw ModelInfoError.badSafetensors(path: url.path) }
        let length = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length < 100_000_000 else { throw ModelInfoError.badSafetensors(path: url.path) }
        let header = handle.readData(ofLength: Int(length))
        guard header.count == Int(length),
              let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw ModelInfoError.badSafetensors(path: url.path)
        }
        return json.compactMap { key, value in
            guard key != "__metadata__", let entry = value as? [String: Any],
                  let dtype = entry["dtype"] as? String, let shape = entry["shape"] as? [Int] else { return nil }
            return (dtype, shape)
        }
    }
}

public enum ModelInfoError: Error, CustomStringConvertible, Equatable {
    case notAModel(path: String)
    case badSafetensors(path: String)

    public var description: String {
        switch self {
        case let .notAModel(path):
            return "\(path) is neither a .gguf file nor a folder with a readable config.json; pass a model file or folder"
        case let .badSafetensors(path):
            return "\(path) has no readable safetensors header; the file is truncated or corrupt — download it again"
        }
    }
}
