/// A GGUF (v2/v3) model file: metadata, tensor directory and memory-mapped tensor data.
///
/// Layout: magic "GGUF", version, tensor count, metadata count, metadata key/value pairs, tensor
/// infos (name, dims with the innermost first, type, offset), padding to `general.alignment`,
/// then the data section. Everything is little-endian.
// @unchecked Sendable: immutable after parsing: metadata and tensor descriptions are `let`s over a read-only memory map.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: GGUFMetadata
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Offset of the data section within the file.
    public let dataOffset: Int
    private let file: MappedFile
    private let index: [String: Int]

    public convenience init(path: String) throws {
        try self.init(mapped: MappedFile(path: path))
    }

    public init(mapped: MappedFile) throws {
        file = mapped
        path = mapped.path
        var reader = GGUFReader(bytes: mapped.bytes, path: mapped.path)
        let magic = try reader.readUInt32()
        guard magic == 0x4655_4747 else { throw GGUFError.badMagic(path: path, found: magic) }
        version = try reader.readUInt32()
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(path: path, version: version) }
        // A tensor info takes at least 28 bytes (name length, dimension count, one dimension, type,
        // offset); a key/value pair at least 13 (key length, type, one byte of value).
        let tensorCount = try reader.readCount("tensor count", minimumSize: 28)
        let kvCount = try reader.readCount("metadata count", minimumSize: 13)

        var values: [String: GGUFValue] = [:]
        var keys: [String] = []
        for _ in 0..<kvCount {
            let key = try reader.readString()
            let raw = try reader.readUInt32()
            guard let type = GGUFValueType(rawValue: raw) else {
                throw GGUFError.invalidMetadata(path: path, key: key, reason: "unknown value type \(raw)")
            }
            let value = try reader.readValue(type, key: key)
            guard values.updateValue(value, forKey: key) == nil else {
                throw GGUFError.invalidMetadata(path: path, key: key, reason: "the key appears twice, so which value holds is ambiguous")
            }
            keys.append(key)
        }
        metadata = GGUFMetadata(values: values, keys: keys)
        try metadata.checkKnownTypes(path: path)

        let align: Int
        if let value = metadata["general.alignment"] {
            // llama.cpp requires a power of two; anything past 1 MiB is a corrupt field, not a layout.
            guard let a = value.intValue, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw GGUFError.invalidMetadata(path: path, key: "general.alignment",
                                                reason: "\(value.summary) is not a power of two between 1 and 1048576")
            }
            align = a
        } else {
            align = 32
        }
        alignment = align

        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(tensorCount)
        for _ in 0..<tensorCount {
            let name = try reader.readString()
            let dimCount = try reader.readUInt32()
            guard dimCount >= 1 && dimCount <= 4 else {
                throw GGUFError.invalidTensor(path: path, name: name, reason: "\(dimCount) dimensions (1 to 4 allowed)")
            }
            var dims: [Int] = []
            for _ in 0..<dimCount {
                let d = try reader.readUInt64()
                guard d <= UInt64(Int32.max) else {
                    throw GGUFError.invalidTensor(path: path, name: name, reason: "dimension \(d) is too large")
                }
                dims.append(Int(d))
            }
            let rawType = try reader.readUInt32()
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError.unknownTensorType(path: path, name: name, type: rawType)
            }
            let offset = try reader.readUInt64()
            guard dims[0] % type.blockSize == 0 else {
                throw GGUFError.invalidTensor(path: path, name: name,
                                              reason: "row length \(dims[0]) is not a multiple of the \(type) block size \(type.blockSize)")
            }
            var elements = 1
            for d in dims {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= mapped.count * 8 else {
                    throw GGUFError.invalidTensor(path: path, name: name, reason: "dimensions \(dims) hold more values than the file can")
                }
                elements = product
            }
            let byteCount = elements / type.blockSize * type.typeSize
            infos.append(GGUFTensorInfo(name: name, dimensions: dims, type: type,
                                        offset: Int(clamping: offset), byteCount: byteCount))
        }

        let headerEnd = reader.position
        dataOffset = (headerEnd + align - 1) / align * align
        let dataSize = mapped.count - dataOffset
        var names: [String: Int] = [:]
        // As llama.cpp requires: tensors lie back to back in file order, each padded to the alignment,
        // so a tensor whose type or shape was changed (its bytes would mean something else) or two
        // tensors that overlap are caught here.
        var expectedOffset = 0
        for (i, info) in infos.enumerated() {
            guard info.offset % align == 0 else {
                throw GGUFError.invalidTensor(path: path, name: info.name, reason: "data offset \(info.offset) is not aligned to \(align)")
            }
            guard info.offset == expectedOffset else {
                guard i > 0 else {
                    throw GGUFError.invalidTensor(path: path, name: info.name, reason: "the first tensor's data starts at offset \(info.offset), not 0")
                }
                let previous = infos[i - 1]
                throw GGUFError.invalidTensor(path: path, name: previous.name,
                                              reason: "as \(previous.type) with dimensions \(previous.dimensions) it holds \(previous.byteCount) bytes, "
                                                + "but the next tensor '\(info.name)' starts \(info.offset - previous.offset) bytes after it; "
                                                + "its type or shape (or the next offset) is wrong")
            }
            expectedOffset = info.offset + (info.byteCount + align - 1) / align * align
            guard dataSize >= 0, info.offset <= dataSize, info.byteCount <= dataSize - info.offset else {
                throw GGUFError.tensorPastEnd(path: path, name: info.name, end: dataOffset + info.offset + info.byteCount,
                                              fileSize: mapped.count)
            }
            guard names.updateValue(i, forKey: info.name) == nil else {
                throw GGUFError.invalidTensor(path: path, name: info.name, reason: "the name appears twice")
            }
        }
        // The data section ends with the last tensor (and at most its padding): more bytes mean a
        // tensor's type or shape claims less data than the file holds for it.
        if !infos.isEmpty, let last = infos.last {
            let end = dataOffset + last.offset + last.byteCount
            guard mapped.count <= dataOffset + expectedOffset else {
                throw GGUFError.invalidTensor(path: path, name: last.name,
                                              reason: "the file has \(mapped.count - end) bytes after this last tensor's \(last.byteCount) "
                                                + "(\(last.type), dimensions \(last.dimensions)); its type or shape is wrong")
            }
        }
        index = names
        tensors = infos
    }

    public var fileSize: Int { file.count }

    public func info(_ name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The tensor `name`, whose bytes point into the mapping (kept alive by the returned value).
    public func tensor(_ name: String) throws -> GGUFTensor {
        guard let info = info(name) else { throw GGUFError.missingTensor(path: path, name: name) }
        return tensor(info)
    }

    public func tensor(_ info: GGUFTensorInfo) -> GGUFTensor {
        let start = dataOffset + info.offset
        let slice = UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + info.byteCount)])
        return GGUFTensor(info: info, bytes: slice, owner: self)
    }
}

public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions with the innermost (contiguous) first, as ggml stores them: a PyTorch weight
    /// `[out, in]` is `[in, out]` here.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset from the start of the data section.
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { dimensions.reduce(1, *) }
    /// Length of one row (the innermost dimension).
    public var rowLength: Int { dimensions[0] }
    /// Number of rows (product of the outer dimensions).
    public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
}

/// Tensor bytes inside a mapped GGUF file.
// @unchecked Sendable: a description plus a pointer into the read-only memory map, which outlives it (`file` keeps it).
public struct GGUFTensor: @unchecked Sendable {
    public let info: GGUFTensorInfo
    public let bytes: UnsafeRawBufferPointer
    /// Keeps the mapping alive as long as the bytes are in use.
    public let owner: AnyObject
}

public enum GGUFError: Error, CustomStringConvertible, Equatable {
    case badMagic(path: String, found: UInt32)
    case unsupportedVersion(path: String, version: UInt32)
    case truncated(path: String, offset: Int, needed: Int, fileSize: Int)
    case invalidMetadata(path: String, key: String, reason: String)
    case invalidTensor(path: String, name: String, reason: String)
    case unknownTensorType(path: String, name: String, type: UInt32)
    case tensorPastEnd(path: String, name: String, end: Int, fileSize: Int)
    case missingTensor(path: String, name: String)
    case missingMetadata(path: String, key: String)

    public var description: String {
        switch self {
        case let .badMagic(path, found):
            return "\(path) is not a GGUF file (magic 0x\(String(found, radix: 16)), expected \"GGUF\"); pass a .gguf model file"
        case let .unsupportedVersion(path, version):
            return "\(path) is GGUF version \(version); only versions 2 and 3 are supported — re-convert it with a current llama.cpp"
        case let .truncated(path, offset, needed, size):
            return "\(path) is truncated: needed \(needed) bytes at offset \(offset) but the file has \(size); download it again"
        case let .invalidMetadata(path, key, reason):
            return "\(path): metadata '\(key)' is invalid: \(reason)"
        case let .invalidTensor(path, name, reason):
            return "\(path): tensor '\(name)' is invalid: \(reason)"
        case let .unknownTensorType(path, name, type):
            return "\(path): tensor '\(name)' has unknown type \(type); this build does not know that quantization"
        case let .tensorPastEnd(path, name, end, size):
            return "\(path): tensor '\(name)' ends at byte \(end) but the file has \(size) bytes; the file is truncated or corrupt — download it again"
        case let .missingTensor(path, name):
            return "\(path): tensor '\(name)' is missing; the file is not a complete model of its architecture"
        case let .missingMetadata(path, key):
            return "\(path): metadata '\(key)' is missing; the file is not a complete model of its architecture"
        }
    }
}

/// Bounds-checked little-endian cursor over the mapped header.
struct GGUFReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var position = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    private func need(_ n: Int) throws {
        guard n >= 0, position <= bytes.count, n <= bytes.count - position else {
            throw GGUFError.truncated(path: path, offset: position, needed: n, fileSize: bytes.count)
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try need(MemoryLayout<T>.size)
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return v
    }

    mutating func readUInt32() throws -> UInt32 { try load(UInt32.self) }
    mutating func readUInt64() throws -> UInt64 { try load(UInt64.self) }

    /// A count of items of at least `minimumSize` bytes each that must fit in the rest of the file,
    /// so a corrupt count cannot make the reader reserve more memory than the file could describe.
    mutating func readCount(_ what: String, minimumSize: Int = 1) throws -> Int {
        let n = try readUInt64()
        let left = UInt64(bytes.count - min(position, bytes.count))
        guard n <= left / UInt64(max(1, minimumSize)) else {
            throw GGUFError.truncated(path: path, offset: position, needed: Int(clamping: n.multipliedReportingOverflow(by: UInt64(max(1, minimumSize))).partialValue),
                                      fileSize: bytes.count)
        }
        return Int(n)
    }

    mutating func readString() throws -> String {
        let length = try readUInt64()
        guard length <= UInt64(bytes.count) else {
            throw GGUFError.truncated(path: path, offset: position, needed: Int(clamping: length), fileSize: bytes.count)
        }
        let n = Int(length)
        try need(n)
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)]), as: UTF8.self)
        position += n
        return s
    }

    mutating func readValue(_ type: GGUFValueType, key: String) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try load(UInt8.self))
        case .int8: return .int8(try load(Int8.self))
        case .uint16: return .uint16(try load(UInt16.self))
        case .int16: return .int16(try load(Int16.self))
        case .uint32: return .uint32(try load(UInt32.self))
        case .int32: return .int32(try load(Int32.self))
        case .uint64: return .uint64(try load(UInt64.self))
        case .int64: return .int64(try load(Int64.self))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self)))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self)))
        case .bool:
            let b = try load(UInt8.self)
            guard b <= 1 else { throw GGUFError.invalidMetadata(path: path, key: key, reason: "bool value \(b)") }
            return .bool(b == 1)
        case .string: return .string(try readString())
        case .array: return .array(try readArray(key: key))
        }
    }

    /// Arrays inside arrays, at most this deep (real files nest at most once; unbounded nesting
    /// would recurse until the stack runs out).
    static let arrayDepthLimit = 3

    mutating func readArray(key: String, depth: Int = 1) throws -> GGUFArray {
        let raw = try readUInt32()
        guard let type = GGUFValueType(rawValue: raw) else {
            throw GGUFError.invalidMetadata(path: path, key: key, reason: "unknown array element type \(raw)")
        }
        if type == .array, depth >= Self.arrayDepthLimit {
            throw GGUFError.invalidMetadata(path: path, key: key,
                                            reason: "arrays are nested more than \(Self.arrayDepthLimit) deep, which no model file does")
        }
        // Each string takes at least its 8-byte length, each inner array its 12-byte header.
        let count = try readCount("array length", minimumSize: type == .string ? 8 : (type == .array ? 12 : 1))
        switch type {
        case .uint8: return .uint8(try readNumbers(count, UInt8.self))
        case .int8: return .int8(try readNumbers(count, Int8.self))
        case .uint16: return .uint16(try readNumbers(count, UInt16.self))
        case .int16: return .int16(try readNumbers(count, Int16.self))
        case .uint32: return .uint32(try readNumbers(count, UInt32.self))
        case .int32: return .int32(try readNumbers(count, Int32.self))
        case .uint64: return .uint64(try readNumbers(count, UInt64.self))
        case .int64: return .int64(try readNumbers(count, Int64.self))
        case .float32: return .float32(try readNumbers(count, UInt32.self).map { Float(bitPattern: $0) })
        case .float64: return .float64(try readNumbers(count, UInt64.self).map { Double(bitPattern: $0) })
        case .bool: return .bool(try readNumbers(count, UInt8.self).map { $0 != 0 })
        case .string:
            var out: [String] = []
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try readString()) }
            return .string(out)
        case .array:
            var out: [GGUFArray] = []
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try readArray(key: key, depth: depth + 1)) }
            return .array(out)
        }
    }

    mutating func readNumbers<T: FixedWidthInteger>(_ count: Int, _: T.Type) throws -> [T] {
        let size = MemoryLayout<T>.size
        guard count <= (bytes.count - min(position, bytes.count)) / size else {
            throw GGUFError.truncated(path: path, offset: position, needed: count * size, fileSize: bytes.count)
        }
        let start = position
        let out = [T](unsafeUninitializedCapacity: count) { buf, initialized in
            for i in 0..<count {
                buf[i] = T(littleEndian: bytes.loadUnaligned(fromByteOffset: start + i * size, as: T.self))
            }
            initialized = count
        }
        position += count * size
        return out
    }
}
