/// Reference-counted, 64-byte aligned Float32 buffer shared by a tensor and its views.
// @unchecked Sendable: a fixed-size buffer; writers agree to touch disjoint elements (the parallel kernels split rows), and no one resizes it.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "negative element count")
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        self.count = count
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// An n-dimensional Float32 array: a storage, a shape, strides (in elements) and an offset.
///
/// Views (`reshaped`, `slice`, `transposed`, `row`) share storage with their source, like
/// PyTorch tensors: writing through a view is visible in the source. `Sendable` is unchecked:
/// a tensor may cross threads, but concurrent writers must work on disjoint elements.
// @unchecked Sendable: a view over `TensorStorage` (see there): crossing threads is fine, concurrent writes must be to disjoint elements.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let storage: TensorStorage
    public let shape: [Int]
    public let strides: [Int]
    public let offset: Int

    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        storage = TensorStorage(count: shape.reduce(1, *))
        self.shape = shape
        strides = Tensor.contiguousStrides(shape)
        offset = 0
    }

    public init(shape: [Int], values: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw TensorError.countMismatch(shape: shape, count: values.count)
        }
        self.init(shape: shape)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.pointer.update(from: base, count: values.count) }
        }
    }

    public init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int) {
        precondition(shape.count == strides.count, "shape and strides differ in rank")
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape) }

    public static func filled(_ shape: [Int], with value: Float) -> Tensor {
        let t = Tensor(shape: shape)
        t.storage.pointer.update(repeating: value, count: t.count)
        return t
    }

    /// A 1-D tensor holding `values`.
    public static func vector(_ values: [Float]) -> Tensor {
        // The count always matches a 1-D shape built from it.
        let t = Tensor(shape: [values.count])
        for (i, v) in values.enumerated() { t.storage.pointer[i] = v }
        return t
    }

    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= shape[i]
        }
        return strides
    }

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) || count <= 1 }

    /// Size of the last dimension (1 for a scalar).
    public var lastDimension: Int { shape.last ?? 1 }
    /// Number of rows when the tensor is seen as a matrix `[count / last, last]`.
    public var rowCount: Int { lastDimension == 0 ? 0 : count / lastDimension }

    public var description: String { "Tensor(shape: \(shape))" }

    // MARK: element access (slow path, for tests and setup code)

    private func linearIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) has the wrong rank for \(shape)")
        var at = offset
        for d in 0..<rank {
            precondition(index[d] >= 0 && index[d] < shape[d], "index \(index) out of range for \(shape)")
            at += index[d] * strides[d]
        }
        return at
    }

    public subscript(_ index: Int...) -> Float {
        get { storage.pointer[linearIndex(index)] }
        nonmutating set { storage.pointer[linearIndex(index)] = newValue }
    }

    /// All elements in row-major order (copies).
    public func toArray() -> [Float] {
        if isContiguous {
            return Array(UnsafeBufferPointer(start: storage.pointer + offset, count: count))
        }
        var out = [Float]()
        out.reserveCapacity(count)
        forEachIndex { out.append(storage.pointer[$0]) }
        return out
    }

    private func forEachIndex(_ body: (Int) -> Void) {
        guard count > 0 else { return }
        var index = [Int](repeating: 0, count: rank)
        var at = offset
        while true {
            body(at)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                at += strides[d]
                if index[d] < shape[d] { break }
                at -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }

    // MARK: views

    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        if let wild = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != wild }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError.invalidShape(operation: "reshape", shape: newShape, expected: "a shape with \(count) elements")
            }
            resolved[wild] = count / known
        }
        guard resolved.allSatisfy({ $0 >= 0 }), resolved.reduce(1, *) == count else {
            throw TensorError.invalidShape(operation: "reshape", shape: newShape, expected: "a shape with \(count) elements")
        }
        let base = isContiguous ? self : contiguous()
        return Tensor(storage: base.storage, shape: resolved, strides: Tensor.contiguousStrides(resolved),
                      offset: base.offset)
    }

    /// Elements `range` along dimension `dim` (a view).
    public func slice(dim: Int, _ range: Range<Int>) throws -> Tensor {
        guard dim >= 0 && dim < rank else {
            throw TensorError.indexOutOfRange(operation: "slice", index: dim, bound: rank)
        }
        guard range.lowerBound >= 0, range.upperBound <= shape[dim] else {
            throw TensorError.indexOutOfRange(operation: "slice", index: range.upperBound, bound: shape[dim] + 1)
        }
        var s = shape
        s[dim] = range.count
        return Tensor(storage: storage, shape: s, strides: strides, offset: offset + range.lowerBound * strides[dim])
    }

    /// Row `i` of the first dimension (a view with one dimension less).
    public func row(_ i: Int) -> Tensor {
        precondition(rank >= 1 && i >= 0 && i < shape[0], "row \(i) out of range for \(shape)")
        return Tensor(storage: storage, shape: Array(shape.dropFirst()), strides: Array(strides.dropFirst()),
                      offset: offset + i * strides[0])
    }

    /// Swaps two dimensions (a view; call `contiguous()` before handing it to a kernel).
    public func transposed(_ a: Int = 0, _ b: Int = 1) -> Tensor {
        precondition(a < rank && b < rank, "transpose dims out of range")
        var s = shape, st = strides
        s.swapAt(a, b)
        st.swapAt(a, b)
        return Tensor(storage: storage, shape: s, strides: st, offset: offset)
    }

    /// A contiguous copy (or `self` when it already is contiguous and starts its storage).
    public func contiguous() -> Tensor {
        let out = Tensor(shape: shape)
        var i = 0
        let dst = out.storage.pointer
        forEachIndex { src in
            dst[i] = storage.pointer[src]
            i += 1
        }
        return out
    }

    /// A deep copy that shares nothing with `self`.
    public func copy() -> Tensor { contiguous() }

    // MARK: raw access

    /// Read access to contiguous elements. The tensor must be contiguous.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(isContiguous, "withUnsafeBufferPointer on a non-contiguous view; call contiguous() first")
        return try body(UnsafeBufferPointer(start: storage.pointer + offset, count: count))
    }

    /// Write access to contiguous elements. The tensor must be contiguous.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(isContiguous, "withUnsafeMutableBufferPointer on a non-contiguous view; call contiguous() first")
        return try body(UnsafeMutableBufferPointer(start: storage.pointer + offset, count: count))
    }

    /// Base pointer of a contiguous tensor, for kernels.
    public var basePointer: UnsafeMutablePointer<Float> { storage.pointer + offset }
}
