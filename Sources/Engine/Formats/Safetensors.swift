import Foundation

/// Element types of a safetensors file (the `dtype` strings of the header).
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case truncated(path: String, reason: String)
    case badHeader(path: String, reason: String)
    case invalidTensor(path: String, name: String, reason: String)
    case missingTensor(path: String, name: String)
    case unsupportedConversion(path: String, name: String, dtype: String, to: String)
    case badIndex(path: String, reason: String)
    case noWeights(folder: String)

    public var description: String {
        switch self {
        case let .truncated(path, reason):
            return "\(path) is truncated (\(reason)); the download is incomplete — fetch the file again"
        case let .badHeader(path, reason):
            return "\(path) has an invalid safetensors header: \(reason); the file is corrupt or not a safetensors file"
        case let .invalidTensor(path, name, reason):
            return "\(path): tensor '\(name)' is invalid: \(reason); the file is corrupt"
        case let .missingTensor(path, name):
            return "\(path) has no tensor '\(name)'; the weights do not match the architecture in config.json"
        case let .unsupportedConversion(path, name, dtype, to):
            return "\(path): tensor '\(name)' is \(dtype) and cannot be read as \(to)"
        case let .badIndex(path, reason):
            return "\(path) is not a valid safetensors index: \(reason)"
        case let .noWeights(folder):
            return "\(folder) has neither model.safetensors nor model.safetensors.index.json; pass a Hugging Face model folder"
        }
    }
}

public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    /// PyTorch order: outermost first (a Linear weight is `[out, in]`).
    public let shape: [Int]
    /// Byte range of the tensor's data within the whole file.
    public let byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file (the one reader for model weights, optimizer state and
/// indexes; `SafetensorsWriter` writes the format).
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the end of the header)
/// plus an optional `"__metadata__"` object of strings, then the data. Tensors are row-major.
// @unchecked Sendable: immutable after parsing: every stored property is a `let` over a read-only map.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public typealias TensorInfo = SafetensorsTensorInfo
    public let metadata: [String: String]
    /// Every tensor by name.
    public let tensors: [String: SafetensorsTensorInfo]
    /// Tensor names in file (data offset) order.
    public let tensorNames: [String]
    private let file: MappedFile

    public convenience init(path: String) throws {
        try self.init(mapped: MappedFile(path: path))
    }

    public init(mapped: MappedFile) throws {
        file = mapped
        path = mapped.path
        let bytes = mapped.bytes
        guard bytes.count >= 8 else {
            throw SafetensorsError.truncated(path: path, reason: "\(bytes.count) bytes, the 8-byte header length is missing")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafetensorsError.truncated(path: path, reason: "header says \(headerLength) bytes of JSON but only \(bytes.count - 8) follow")
        }
        let headerEnd = 8 + Int(headerLength)
        let json = Data(bytes[8..<headerEnd])
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw SafetensorsError.badHeader(path: path, reason: "the header is not JSON")
        }
        guard let header = object as? [String: Any] else {
            throw SafetensorsError.badHeader(path: path, reason: "the header is not a JSON object")
        }
        let dataSize = bytes.count - headerEnd
        var meta: [String: String] = [:]
        var infos: [SafetensorsTensorInfo] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw SafetensorsError.badHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (k, v) in m {
                    guard let s = v as? String else {
                        throw SafetensorsError.badHeader(path: path, reason: "__metadata__ value of '\(k)' is not a string")
                    }
                    meta[k] = s
                }
                continue
            }
            infos.append(try Self.parseEntry(name: name, value: value, path: path, headerEnd: headerEnd, dataSize: dataSize))
        }
        infos.sort { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for (a, b) in zip(infos, infos.dropFirst()) where a.byteRange.upperBound > b.byteRange.lowerBound {
            throw SafetensorsError.invalidTensor(path: path, name: b.name, reason: "its data overlaps tensor '\(a.name)'")
        }
        metadata = meta
        tensorNames = infos.map(\.name)
        var byName: [String: SafetensorsTensorInfo] = [:]
        for t in infos { byName[t.name] = t }
        tensors = byName
    }

    private static func parseEntry(name: String, value: Any, path: String, headerEnd: Int, dataSize: Int) throws -> SafetensorsTensorInfo {
        guard let entry = value as? [String: Any] else {
            throw SafetensorsError.badHeader(path: path, reason: "entry '\(name)' is not an object")
        }
        guard let dtypeName = entry["dtype"] as? String else {
            throw SafetensorsError.invalidTensor(path: path, name: name, reason: "no dtype string")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError.invalidTensor(path: path, name: name, reason: "unsupported dtype \(dtypeName)")
        }
        guard let shapeValues = entry["shape"] as? [Any] else {
            throw SafetensorsError.invalidTensor(path: path, name: name, reason: "no shape array")
        }
        var shape: [Int] = []
        for v in shapeValues {
            guard let d = jsonInteger(v), d >= 0, d <= Int(Int32.max) else {
                throw SafetensorsError.invalidTensor(path: path, name: name, reason: "shape \(shapeValues) is not a list of sizes")
            }
            shape.append(d)
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
              let begin = jsonInteger(offsets[0]), let end = jsonInteger(offsets[1]), begin >= 0, end >= begin else {
            throw SafetensorsError.invalidTensor(path: path, name: name, reason: "data_offsets is not [begin, end]")
        }
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw SafetensorsError.invalidTensor(path: path, name: name, reason: "shape \(shape) is too large") }
            elements = p
        }
        let (needed, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, end - begin == needed else {
            throw SafetensorsError.invalidTensor(path: path, name: name,
                                                 reason: "shape \(shape) of \(dtypeName) needs \(needed) bytes but data_offsets span \(end - begin)")
        }
        guard end <= dataSize else {
            throw SafetensorsError.truncated(path: path, reason: "tensor '\(name)' ends at data byte \(end) but the data section has \(dataSize)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: (headerEnd + begin)..<(headerEnd + end))
    }

    private static func jsonInteger(_ v: Any) -> Int? {
        // JSONSerialization hands back NSNumber; `as? Int` refuses fractions and out-of-range values.
        v as? Int
    }

    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let t = tensors[name] else { throw SafetensorsError.missingTensor(path: path, name: name) }
        return t
    }

    /// The tensor `name` as Float32 (same as `floatTensor`).
    public func tensor(_ name: String) throws -> Tensor { try floatTensor(name) }

    /// The raw little-endian bytes of a tensor, in place in the mapping (valid while `self` lives).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let t = try info(name)
        return UnsafeRawBufferPointer(rebasing: file.bytes[t.byteRange])
    }

    /// A float tensor (F32, F16, BF16 or F64 converted to Float32), shaped as stored.
    public func floatTensor(_ name: String) throws -> Tensor {
        let t = try info(name)
        let out = Tensor(shape: t.shape)
        let n = t.elementCount
        guard n > 0 else { return out }
        let src = UnsafeRawBufferPointer(rebasing: file.bytes[t.byteRange])
        let dst = UnsafeMutableBufferPointer(start: out.basePointer, count: n)
        switch t.dtype {
        case .f32:
            UnsafeMutableRawBufferPointer(dst).copyMemory(from: src)
        case .f16, .bf16:
            // Copy into an aligned buffer first: tensor data in a safetensors file need not be 2-aligned.
            let halves = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: n)
            defer { halves.deallocate() }
            UnsafeMutableRawBufferPointer(halves).copyMemory(from: src)
            if t.dtype == .f16 {
                Precision.halfToFloat(UnsafeBufferPointer(halves), into: dst)
            } else {
                Precision.bfloat16ToFloat(UnsafeBufferPointer(halves), into: dst)
            }
        case .f64:
            for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        default:
            throw SafetensorsError.unsupportedConversion(path: path, name: name, dtype: t.dtype.rawValue, to: "floats")
        }
        return out
    }

    /// An integer tensor (I64, I32, I16, I8, U8, BOOL) as Int values, flattened.
    public func integers(_ name: String) throws -> [Int] {
        let t = try info(name)
        let src = UnsafeRawBufferPointer(rebasing: file.bytes[t.byteRange])
        let n = t.elementCount
        switch t.dtype {
        case .i64: return (0..<n).map { Int(Int64(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
        case .i32: return (0..<n).map { Int(Int32(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
        case .i16: return (0..<n).map { Int(Int16(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
        case .i8: return (0..<n).map { Int(Int8(bitPattern: src[$0])) }
        case .u8, .bool: return (0..<n).map { Int(src[$0]) }
        default:
            throw SafetensorsError.unsupportedConversion(path: path, name: name, dtype: t.dtype.rawValue, to: "integers")
        }
    }
}

/// The weights of a Hugging Face model folder: `model.safetensors`, or shards listed in
/// `model.safetensors.index.json` (`{"weight_map": {tensor: file}}`).
// @unchecked Sendable: immutable after init: the shard list and name index are `let`s over read-only files.
public final class SafetensorsWeights: @unchecked Sendable {
    public let folder: URL
    public let files: [SafetensorsFile]
    private let owner: [String: Int]

    public init(folder: URL) throws {
        self.folder = folder
        let fm = FileManager.default
        let single = folder.appendingPathComponent("model.safetensors")
        let indexURL = folder.appendingPathComponent("model.safetensors.index.json")
        if fm.fileExists(atPath: single.path) {
            let f = try SafetensorsFile(path: single.path)
            files = [f]
            var o: [String: Int] = [:]
            for name in f.tensorNames { o[name] = 0 }
            owner = o
        } else if fm.fileExists(atPath: indexURL.path) {
            let data = try Data(contentsOf: indexURL)
            guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let map = root["weight_map"] as? [String: Any] else {
                throw SafetensorsError.badIndex(path: indexURL.path, reason: "no weight_map object")
            }
            var shardNames: [String] = []
            var shardIndex: [String: Int] = [:]
            var o: [String: Int] = [:]
            for (tensor, value) in map.sorted(by: { $0.key < $1.key }) {
                guard let shard = value as? String, !shard.contains("/") else {
                    throw SafetensorsError.badIndex(path: indexURL.path, reason: "weight_map entry for '\(tensor)' is not a file name")
                }
                if shardIndex[shard] == nil {
                    shardIndex[shard] = shardNames.count
                    shardNames.append(shard)
                }
                o[tensor] = shardIndex[shard]
            }
            files = try shardNames.map { try SafetensorsFile(path: folder.appendingPathComponent($0).path) }
            for (tensor, i) in o where !files[i].contains(tensor) {
                throw SafetensorsError.missingTensor(path: files[i].path, name: tensor)
            }
            owner = o
        } else {
            throw SafetensorsError.noWeights(folder: folder.path)
        }
    }

    public var tensorNames: [String] { owner.keys.sorted() }

    public func contains(_ name: String) -> Bool { owner[name] != nil }

    private func file(for name: String) throws -> SafetensorsFile {
        guard let i = owner[name] else {
            throw SafetensorsError.missingTensor(path: folder.path, name: name)
        }
        return files[i]
    }

    public func info(_ name: String) throws -> SafetensorsTensorInfo { try file(for: name).info(name) }

    public func floatTensor(_ name: String) throws -> Tensor { try file(for: name).floatTensor(name) }

    /// A float tensor that must have `shape`.
    public func floatTensor(_ name: String, shape: [Int]) throws -> Tensor {
        let f = try file(for: name)
        let t = try f.info(name)
        guard t.shape == shape else {
            throw SafetensorsError.invalidTensor(path: f.path, name: name, reason: "shape \(t.shape), expected \(shape) from config.json")
        }
        return try f.floatTensor(name)
    }

    /// A tensor's bytes in place in its shard's mapping, with the object that keeps them mapped.
    public func tensorBytes(_ name: String) throws -> (info: SafetensorsTensorInfo, bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        let f = try file(for: name)
        return (try f.info(name), try f.rawBytes(name), f)
    }

    /// The shard (or single file) path holding `name`, for messages.
    public func path(of name: String) -> String { (try? file(for: name).path) ?? folder.path }

    /// Parameter count over every tensor.
    public var parameterCount: Int {
        files.reduce(0) { $0 + $1.tensors.values.reduce(0) { $0 + $1.elementCount } }
    }
}
