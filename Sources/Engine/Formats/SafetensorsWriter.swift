import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}`
/// padded with spaces to a multiple of 8 bytes, then the raw little-endian tensor bytes.
/// Tensors are laid out in name order, so the same tensors always give the same file.
public struct SafetensorsWriter {
    public enum DType: String, Sendable {
        case f32 = "F32"
        case f16 = "F16"
        case bf16 = "BF16"

        var byteWidth: Int { self == .f32 ? 4 : 2 }
    }

    private struct Entry {
        let name: String
        let shape: [Int]
        let dtype: DType
        let bytes: Data
    }

    private var entries: [String: Entry] = [:]
    public var metadata: [String: String] = [:]

    public init() {}

    public var tensorNames: [String] { entries.keys.sorted() }

    /// Adds (or replaces) a tensor, converted to `dtype`.
    public mutating func add(_ name: String, _ tensor: Tensor, as dtype: DType = .f32) {
        let values = tensor.toArray()
        var bytes = Data(capacity: values.count * dtype.byteWidth)
        switch dtype {
        case .f32:
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        case .f16:
            for v in values { withUnsafeBytes(of: Precision.floatToHalf(v).littleEndian) { bytes.append(contentsOf: $0) } }
        case .bf16:
            for v in values { withUnsafeBytes(of: Precision.floatToBFloat16(v).littleEndian) { bytes.append(contentsOf: $0) } }
        }
        entries[name] = Entry(name: name, shape: tensor.shape, dtype: dtype, bytes: bytes)
    }

    /// The whole file.
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for name in tensorNames {
            guard let e = entries[name] else { continue }
            header[name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [offset, offset + e.bytes.count]]
            offset += e.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in tensorNames { if let e = entries[name] { out.append(e.bytes) } }
        return out
    }

    /// Writes atomically: a temporary file in the same folder, then a rename, so a crash leaves either
    /// the old file or the new one, never a torn one.
    public func write(to url: URL) throws {
        let data = try encoded()
        let folder = url.deletingLastPathComponent()
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
        do {
            try data.write(to: temp)
            // rename(2) replaces an existing file atomically.
            guard rename(temp.path, url.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path,
                                                               NSLocalizedDescriptionKey: String(cString: strerror(errno))])
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }
}
