import CBLAS
import CKernels
import Foundation

/// Why a GGUF tensor cannot be used as a quantized weight matrix.
public enum QuantizedMatrixError: Error, Equatable, CustomStringConvertible {
    case unsupportedType(tensor: String, type: GGMLType)
    case invalidShape(tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedType(tensor, type):
            return "tensor '\(tensor)' is \(type), which this build cannot compute with "
                + "(supported: \(QuantizedMatrix.supportedTypes.map(\.name).joined(separator: ", "))); "
                + "re-quantize the model to one of those types"
        case let .invalidShape(tensor, reason):
            return "tensor '\(tensor)' cannot be used as a weight matrix: \(reason)"
        }
    }
}

/// A weight matrix of `rows` × `cols` kept in its GGML blocks (each row is `cols` values; in GGUF
/// terms cols = info.rowLength, rows = info.rowCount). Never dequantizes the whole model at load.
// @unchecked Sendable: points at read-only blocks in a memory map (or an owned copy) that no one writes after load.
public struct QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    /// Bytes of one row of blocks.
    public let rowBytes: Int
    /// The blocks, row after row (points into the memory-mapped file).
    public let bytes: UnsafeRawPointer
    /// Keeps the mapping alive.
    private let owner: AnyObject

    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q5_0, .q4_K, .q5_K, .q6_K]

    public init(tensor: GGUFTensor) throws {
        let info = tensor.info
        guard whet_quant_supported(info.type.rawValue) != 0 else {
            throw QuantizedMatrixError.unsupportedType(tensor: info.name, type: info.type)
        }
        guard info.dimensions.count <= 2 else {
            throw QuantizedMatrixError.invalidShape(tensor: info.name, reason: "it has \(info.dimensions.count) dimensions \(info.dimensions), expected 1 or 2")
        }
        let cols = info.rowLength, rows = info.rowCount
        guard cols > 0, rows > 0 else {
            throw QuantizedMatrixError.invalidShape(tensor: info.name, reason: "it is empty (dimensions \(info.dimensions))")
        }
        guard cols % info.type.blockSize == 0 else {
            throw QuantizedMatrixError.invalidShape(tensor: info.name,
                                                    reason: "row length \(cols) is not a multiple of the \(info.type) block size \(info.type.blockSize)")
        }
        let rowBytes = info.type.rowByteCount(cols)
        guard tensor.bytes.count >= rowBytes * rows, let base = tensor.bytes.baseAddress else {
            throw QuantizedMatrixError.invalidShape(tensor: info.name,
                                                    reason: "it holds \(tensor.bytes.count) bytes but \(rows) rows of \(cols) \(info.type) values need \(rowBytes * rows)")
        }
        self.type = info.type
        self.rows = rows
        self.cols = cols
        self.rowBytes = rowBytes
        self.bytes = base
        self.owner = tensor.owner
    }

    /// An F32 matrix over a tensor's storage (`[rows, cols]`, contiguous), e.g. a base weight with a
    /// LoRA delta merged in. The matrix keeps the storage alive.
    public init(float32 tensor: Tensor) throws {
        guard tensor.rank == 2, tensor.shape[0] > 0, tensor.shape[1] > 0 else {
            throw QuantizedMatrixError.invalidShape(tensor: "fp32 matrix", reason: "shape \(tensor.shape) is not [rows, cols]")
        }
        let t = tensor.isContiguous ? tensor : tensor.contiguous()
        type = .f32
        rows = t.shape[0]
        cols = t.shape[1]
        rowBytes = cols * MemoryLayout<Float>.size
        bytes = UnsafeRawPointer(t.basePointer)
        owner = t.storage
    }

    /// A matrix over `rows × cols` values of a float `type` (F32, F16, BF16) at `bytes`, e.g. a
    /// safetensors tensor in its mapping; `owner` keeps the bytes alive. The bytes must be aligned to
    /// the element size (the kernels load whole elements).
    init(type: GGMLType, rows: Int, cols: Int, bytes: UnsafeRawBufferPointer, owner: AnyObject, name: String) throws {
        guard type == .f32 || type == .f16 || type == .bf16 else {
            throw QuantizedMatrixError.unsupportedType(tensor: name, type: type)
        }
        guard rows > 0, cols > 0 else {
            throw QuantizedMatrixError.invalidShape(tensor: name, reason: "it is empty (\(rows) × \(cols))")
        }
        let rowBytes = type.rowByteCount(cols)
        guard bytes.count >= rowBytes * rows, let base = bytes.baseAddress, Int(bitPattern: base) % type.typeSize == 0 else {
            throw QuantizedMatrixError.invalidShape(tensor: name,
                                                    reason: "it holds \(bytes.count) bytes (\(rows) rows of \(cols) \(type) values need \(rowBytes * rows)) or is not aligned to \(type.typeSize) bytes")
        }
        self.type = type
        self.rows = rows
        self.cols = cols
        self.rowBytes = rowBytes
        self.bytes = base
        self.owner = owner
    }

    /// Rows `range` as a matrix of their own over the same bytes (the parts of a fused projection).
    func rows(_ range: Range<Int>) -> QuantizedMatrix? {
        guard range.lowerBound >= 0, range.upperBound <= rows, !range.isEmpty else { return nil }
        return QuantizedMatrix(type: type, rows: range.count, cols: cols, rowBytes: rowBytes,
                               bytes: bytes + range.lowerBound * rowBytes, owner: owner)
    }

    private init(type: GGMLType, rows: Int, cols: Int, rowBytes: Int, bytes: UnsafeRawPointer, owner: AnyObject) {
        self.type = type
        self.rows = rows
        self.cols = cols
        self.rowBytes = rowBytes
        self.bytes = bytes
        self.owner = owner
    }

    /// Whether both matrices read the same bytes (a tied output head).
    func sharesStorage(with other: QuantizedMatrix) -> Bool {
        bytes == other.bytes && type == other.type && rows == other.rows && cols == other.cols
    }

    /// Pointer to the first block of row `r`.
    @inline(__always)
    public func rowPointer(_ r: Int) -> UnsafeRawPointer { bytes + r * rowBytes }

    /// Row r as Float32 (embedding lookup).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "row \(r) outside 0..<\(rows)")
        _ = whet_dequantize(type.rawValue, rowPointer(r), out, Int64(cols))
    }

    /// Dequantizes the block-aligned column span `c0..<c1` of rows `r0..<r1` into `out`
    /// (row-major, leading dimension `c1 - c0`).
    func dequantize(rows r0: Int, _ r1: Int, columns c0: Int, _ c1: Int, into out: UnsafeMutablePointer<Float>) {
        let blockOffset = c0 / type.blockSize * type.typeSize
        let width = c1 - c0
        for r in r0..<r1 {
            _ = whet_dequantize(type.rawValue, rowPointer(r) + blockOffset, out + (r - r0) * width, Int64(width))
        }
    }

    /// The whole matrix as a [rows, cols] Tensor (tests, small tensors).
    public func dequantized() -> Tensor {
        let t = Tensor(shape: [rows, cols])
        dequantize(rows: 0, rows, columns: 0, cols, into: t.basePointer)
        return t
    }

    /// Rows dequantized together before one sgemm call (float types, and the transposed product):
    /// large enough to amortise the call, small enough that the tile stays in L2.
    private static let tileRows = 32

    /// The SIMD level the integer kernels use on this CPU (portable C, AVX2, AVX-512 VNNI).
    public static let kernelLevel = Int32(whet_quant_best_level())

    /// True for the block formats multiplied with integer kernels on 8-bit activations.
    public var usesIntegerKernels: Bool { type.blockSize > 1 }

    /// y[t*rows + r] = Σ_c W[r, c] · x[t*cols + c] for t in 0..<tokens. x: [tokens, cols], y: [tokens, rows],
    /// row-major contiguous. Splits the work over cores. Must be fast both for tokens == 1 (decode)
    /// and tokens == 128+ (prompt processing).
    ///
    /// Block formats round each 32 values of x to int8 with an fp32 scale once per call (as
    /// llama.cpp does), then multiply the weight blocks in integers; float formats use fp32.
    public func multiply(_ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>) {
        multiply(x, tokens: tokens, into: y, level: QuantizedMatrix.kernelLevel)
    }

    /// `multiply` with an explicit kernel level (tests compare the SIMD levels with the portable one).
    func multiply(_ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>, level: Int32) {
        guard tokens > 0 else { return }
        if usesIntegerKernels {
            multiplyQuantized(x, tokens: tokens, into: y, level: min(level, QuantizedMatrix.kernelLevel))
        } else {
            multiplyFloat(x, tokens: tokens, into: y)
        }
    }

    private func multiplyQuantized(_ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>, level: Int32) {
        let rows = rows, cols = cols, rowBytes = rowBytes, typeCode = type.rawValue
        let byteCount = whet_act_bytes(level, Int64(cols), Int64(tokens))
        ActivationScratch.with(bytes: byteCount) { activations in
            let xBox = UncheckedSendableBox(x), yBox = UncheckedSendableBox(y), aBox = UncheckedSendableBox(activations)
            // Rounding a token's activations costs about as much as 16 weight rows of its product.
            Parallel.forRanges(tokens, minimumPerLane: 16) { range in
                whet_act_prepare(typeCode, level, xBox.value, Int64(cols), Int64(range.lowerBound), Int64(range.upperBound),
                                 aBox.value)
            }
            let wBox = UncheckedSendableBox(bytes)
            // About 32 rows of 640 values per lane at least, so tiny projections stay on one thread.
            let minimumRows = max(8, 20_000 / max(1, cols * tokens))
            Parallel.forRanges(rows, minimumPerLane: minimumRows, piecesPerLane: 4) { range in
                _ = whet_quant_matmul(typeCode, level, Int64(cols), wBox.value + range.lowerBound * rowBytes, rowBytes,
                                      Int64(range.count), aBox.value, Int64(tokens), yBox.value + range.lowerBound, rows)
            }
        }
    }

    private func multiplyFloat(_ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>) {
        let rows = rows, cols = cols
        let xBox = UncheckedSendableBox(x), yBox = UncheckedSendableBox(y)
        let tile = QuantizedMatrix.tileRows
        let tiles = (rows + tile - 1) / tile
        let direct = type == .f32 ? UncheckedSendableBox(bytes.assumingMemoryBound(to: Float.self)) : nil
        Parallel.forRanges(tiles, minimumPerLane: 4) { range in
            let x = xBox.value, y = yBox.value
            let buffer = direct == nil ? UnsafeMutablePointer<Float>.allocate(capacity: tile * cols) : nil
            defer { buffer?.deallocate() }
            for t in range {
                let r0 = t * tile, r1 = min(rows, r0 + tile)
                let w: UnsafePointer<Float>
                if let direct { w = direct.value + r0 * cols } else if let buffer {
                    dequantize(rows: r0, r1, columns: 0, cols, into: buffer)
                    w = UnsafePointer(buffer)
                } else { return }
                if tokens == 1 {
                    for r in r0..<r1 { y[r] = Kernels.dot(w + (r - r0) * cols, x, cols) }
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                Int32(tokens), Int32(r1 - r0), Int32(cols), 1,
                                x, Int32(cols), w, Int32(cols), 0, y + r0, Int32(rows))
                }
            }
        }
    }

    /// dx[t*cols + c] = Σ_r W[r, c] · dy[t*rows + r]  (backward through a frozen weight; for QLoRA later).
    /// Lanes split the columns (at block boundaries), so no two lanes write the same output.
    public func multiplyTransposed(_ dy: UnsafePointer<Float>, tokens: Int, into dx: UnsafeMutablePointer<Float>) {
        guard tokens > 0 else { return }
        let rows = rows, cols = cols, blockSize = type.blockSize
        let dyBox = UncheckedSendableBox(dy), dxBox = UncheckedSendableBox(dx)
        let tile = QuantizedMatrix.tileRows
        let columnBlocks = cols / blockSize
        Parallel.forRanges(columnBlocks, minimumPerLane: max(1, 256 / blockSize)) { range in
            let dy = dyBox.value, dx = dxBox.value
            let c0 = range.lowerBound * blockSize, c1 = range.upperBound * blockSize
            let width = c1 - c0
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: tile * width)
            defer { buffer.deallocate() }
            var r0 = 0
            while r0 < rows {
                let r1 = min(rows, r0 + tile)
                dequantize(rows: r0, r1, columns: c0, c1, into: buffer)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                            Int32(tokens), Int32(width), Int32(r1 - r0), 1,
                            dy + r0, Int32(rows), buffer, Int32(width),
                            r0 == 0 ? 0 : 1, dx + c0, Int32(cols))
                r0 = r1
            }
        }
    }
}

/// Reusable buffers for rounded activations, so a matrix product allocates nothing in steady state
/// (a decode step runs over a hundred products). Buffers are checked out under a lock, so
/// concurrent sessions each get their own.
enum ActivationScratch {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []

    static func with<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
        let needed = max(bytes, 64)
        lock.lock()
        var buffer: (pointer: UnsafeMutableRawPointer, bytes: Int)?
        if let i = free.lastIndex(where: { $0.bytes >= needed }) { buffer = free.remove(at: i) }
        lock.unlock()
        let taken = buffer ?? (UnsafeMutableRawPointer.allocate(byteCount: needed, alignment: 64), needed)
        defer {
            lock.lock()
            if free.count < 8 { free.append(taken) } else { taken.pointer.deallocate() }
            lock.unlock()
        }
        return body(taken.pointer)
    }
}
