import Foundation

public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case truncated(path: String)
    case badHeader(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case unsupportedDType(path: String, name: String, dtype: String)

    public var description: String {
        switch self {
        case let .truncated(path):
            return "\(path) is shorter than its safetensors header says; the file is incomplete — copy or write it again"
        case let .badHeader(path, reason):
            return "\(path) is not a valid safetensors file (\(reason))"
        case let .missingTensor(path, name):
            return "\(path) has no tensor named \(name); it was written for a different model or configuration"
        case let .unsupportedDType(path, name, dtype):
            return "\(path): tensor \(name) has dtype \(dtype); only F32, F16 and BF16 are read"
        }
    }
}

/// A memory-mapped safetensors file: header parsed up front, tensors converted to Float32 on request.
public final class SafetensorsFile: @unchecked Sendable {
    public struct TensorInfo: Sendable, Equatable {
        public let dtype: String
        public let shape: [Int]
        public let begin: Int
        public let end: Int
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    public init(path: String) throws {
        file = try MappedFile(path: path)
        self.path = path
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw SafetensorsError.truncated(path: path) }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(bytes.count - 8) else { throw SafetensorsError.truncated(path: path) }
        dataStart = 8 + Int(length)
        let headerData = Data(bytes[8..<dataStart])
        guard let object = try? JSONSerialization.jsonObject(with: headerData), let header = object as? [String: Any] else {
            throw SafetensorsError.badHeader(path: path, reason: "the header is not a JSON object")
        }
        var infos: [String: TensorInfo] = [:]
        var meta: [String: String] = [:]
        let payload = bytes.count - dataStart
        for (name, value) in header {
            if name == "__metadata__" {
                meta = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw SafetensorsError.badHeader(path: path, reason: "entry \(name) lacks dtype, shape or data_offsets") }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], shape.allSatisfy({ $0 >= 0 }) else {
                throw SafetensorsError.badHeader(path: path, reason: "entry \(name) has invalid offsets or shape")
            }
            guard offsets[1] <= payload else { throw SafetensorsError.truncated(path: path) }
            infos[name] = TensorInfo(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
        tensors = infos
        metadata = meta
    }

    /// The tensor `name` as Float32.
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = tensors[name] else { throw SafetensorsError.missingTensor(path: path, name: name) }
        let count = info.shape.reduce(1, *)
        let width: Int
        switch info.dtype {
        case "F32": width = 4
        case "F16", "BF16": width = 2
        default: throw SafetensorsError.unsupportedDType(path: path, name: name, dtype: info.dtype)
        }
        guard info.end - info.begin == count * width else {
            throw SafetensorsError.badHeader(path: path, reason: "entry \(name) holds \(info.end - info.begin) bytes for \(count) \(info.dtype) values")
        }
        let out = Tensor(shape: info.shape)
        let src = file.bytes.baseAddress.map { $0 + dataStart + info.begin }
        guard let src, count > 0 else { return out }
        let dst = out.basePointer
        switch info.dtype {
        case "F32":
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case "F16":
            for i in 0..<count { dst[i] = Precision.halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        default:
            for i in 0..<count { dst[i] = Precision.bfloat16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        }
        return out
    }
}
