import Foundation

/// Writes GGUF v3 files: used to export models and adapters, and by tests to build small files.
public struct GGUFWriter {
    public struct PendingTensor {
        public let name: String
        public let dimensions: [Int]
        public let type: GGMLType
        public let data: [UInt8]
    }

    public private(set) var metadata: [(String, GGUFValue)] = []
    public private(set) var tensors: [PendingTensor] = []
    public var alignment = 32

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        metadata.removeAll { $0.0 == key }
        metadata.append((key, value))
    }

    /// Adds a tensor with raw (already encoded) data; `dimensions` innermost first.
    public mutating func addTensor(name: String, dimensions: [Int], type: GGMLType, data: [UInt8]) {
        tensors.append(PendingTensor(name: name, dimensions: dimensions, type: type, data: data))
    }

    /// Adds an F32 tensor.
    public mutating func addTensor(name: String, dimensions: [Int], values: [Float]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for v in values { appendLE(&bytes, v.bitPattern) }
        addTensor(name: name, dimensions: dimensions, type: .f32, data: bytes)
    }

    /// The encoded file.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        appendLE(&out, UInt32(0x4655_4747))
        appendLE(&out, UInt32(3))
        appendLE(&out, UInt64(tensors.count))
        appendLE(&out, UInt64(metadata.count + (metadata.contains { $0.0 == "general.alignment" } || alignment == 32 ? 0 : 1)))
        for (key, value) in metadata {
            appendString(&out, key)
            appendValue(&out, value)
        }
        if alignment != 32 && !metadata.contains(where: { $0.0 == "general.alignment" }) {
            appendString(&out, "general.alignment")
            appendValue(&out, .uint32(UInt32(alignment)))
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, off) in zip(tensors, offsets) {
            appendString(&out, t.name)
            appendLE(&out, UInt32(t.dimensions.count))
            for d in t.dimensions { appendLE(&out, UInt64(d)) }
            appendLE(&out, t.type.rawValue)
            appendLE(&out, UInt64(off))
        }
        pad(&out)
        for t in tensors {
            out += t.data
            pad(&out)
        }
        return out
    }

    /// Writes the file atomically (temporary file, then rename).
    public func write(to url: URL) throws {
        try Data(encoded()).write(to: url, options: .atomic)
    }

    private func pad(_ out: inout [UInt8]) {
        while out.count % alignment != 0 { out.append(0) }
    }

    private func appendString(_ out: inout [UInt8], _ s: String) {
        appendLE(&out, UInt64(s.utf8.count))
        out += Array(s.utf8)
    }

    private func typeCode(_ v: GGUFValue) -> GGUFValueType {
        switch v {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    private func appendValue(_ out: inout [UInt8], _ v: GGUFValue) {
        appendLE(&out, typeCode(v).rawValue)
        appendPayload(&out, v)
    }

    private func appendPayload(_ out: inout [UInt8], _ v: GGUFValue) {
        switch v {
        case let .uint8(x): out.append(x)
        case let .int8(x): out.append(UInt8(bitPattern: x))
        case let .uint16(x): appendLE(&out, x)
        case let .int16(x): appendLE(&out, x)
        case let .uint32(x): appendLE(&out, x)
        case let .int32(x): appendLE(&out, x)
        case let .uint64(x): appendLE(&out, x)
        case let .int64(x): appendLE(&out, x)
        case let .float32(x): appendLE(&out, x.bitPattern)
        case let .float64(x): appendLE(&out, x.bitPattern)
        case let .bool(x): out.append(x ? 1 : 0)
        case let .string(s): appendString(&out, s)
        case let .array(a): appendArray(&out, a)
        }
    }

    private func appendArray(_ out: inout [UInt8], _ a: GGUFArray) {
        func header(_ t: GGUFValueType) {
            appendLE(&out, t.rawValue)
            appendLE(&out, UInt64(a.count))
        }
        switch a {
        case let .uint8(xs): header(.uint8); out += xs
        case let .int8(xs): header(.int8); out += xs.map { UInt8(bitPattern: $0) }
        case let .uint16(xs): header(.uint16); xs.forEach { appendLE(&out, $0) }
        case let .int16(xs): header(.int16); xs.forEach { appendLE(&out, $0) }
        case let .uint32(xs): header(.uint32); xs.forEach { appendLE(&out, $0) }
        case let .int32(xs): header(.int32); xs.forEach { appendLE(&out, $0) }
        case let .uint64(xs): header(.uint64); xs.forEach { appendLE(&out, $0) }
        case let .int64(xs): header(.int64); xs.forEach { appendLE(&out, $0) }
        case let .float32(xs): header(.float32); xs.forEach { appendLE(&out, $0.bitPattern) }
        case let .float64(xs): header(.float64); xs.forEach { appendLE(&out, $0.bitPattern) }
        case let .bool(xs): header(.bool); out += xs.map { $0 ? 1 : 0 }
        case let .string(xs): header(.string); xs.forEach { appendString(&out, $0) }
        case let .array(xs): header(.array); xs.forEach { appendArray(&out, $0) }
        }
    }
}

@inline(__always)
func appendLE<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
    withUnsafeBytes(of: value.littleEndian) { out += $0 }
}
