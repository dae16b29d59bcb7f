import CBLAS
import CKernels
import Foundation

/// One conversation with a `TransformerDecoder` (of any architecture): the key/value cache and every
/// scratch buffer. `Gemma3Session` is this type.
///
/// Buffers are allocated when the session is made (sized for `maximumBatchSize` tokens) and
/// when the cache grows (capacity doubles up to `contextLength`); evaluating tokens allocates
/// nothing. Keys and values are fp32. Global layers keep every position; sliding-window layers keep
/// a ring of `slidingWindow + maximumBatchSize` positions (position p in slot p mod ring length),
/// enough for a full batch whose first query still sees its whole window, so their memory stays
/// bounded on long contexts. `truncate(to:)` therefore rolls back exactly as long as the rings still
/// hold the window before the new end (up to `maximumBatchSize` positions back once a ring has
/// wrapped); further back it empties the cache and says so. A session is used from one thread at
/// a time.
// @unchecked Sendable: one caller at a time: a session (cache and scratch buffers) is driven by one `TextGenerator` on its serial queue, or by one test or command.
public final class DecoderSession: @unchecked Sendable {
    public let model: TransformerDecoder
    /// Most positions this session can hold.
    public let contextLength: Int
    /// Most tokens run through the layers at once; longer inputs are split.
    public let maximumBatchSize: Int
    public let rounding: DecoderRounding
    /// The SIMD level of every kernel this session calls (`KernelLevel`); the best one the CPU
    /// runs unless a test asks for a lower one. Every level gives bit-identical results.
    let kernelLevel: KernelLevel
    /// Positions in the cache.
    public private(set) var count = 0

    private let hp: DecoderConfiguration
    private var capacity = 0
    private var keyCache: [UnsafeMutablePointer<Float>]
    private var valueCache: [UnsafeMutablePointer<Float>]
    /// Slots allocated per layer (≤ `capacity`; ≤ `ringLength` in sliding-window layers).
    private var layerSlots: [Int]
    /// Slots of a sliding-window layer's ring.
    private let ringLength: Int
    /// Positions `ringFloor ..< count` are intact in every ring (older ones may be overwritten).
    private var ringFloor = 0
    /// Attention scores, one region of `capacity` per head.
    private var scores: UnsafeMutablePointer<Float>

    private let hidden: UnsafeMutablePointer<Float>
    private let normed: UnsafeMutablePointer<Float>
    private let query: UnsafeMutablePointer<Float>
    private let attention: UnsafeMutablePointer<Float>
    private let projected: UnsafeMutablePointer<Float>
    private let gate: UnsafeMutablePointer<Float>
    private let up: UnsafeMutablePointer<Float>
    /// cos / sin of every rotary pair for the batch's positions: local base, then global base.
    private let ropeTables: UnsafeMutablePointer<Float>
    /// Two logits buffers: `evaluate` writes into one the caller no longer holds, so a decode loop
    /// that keeps the previous step's `Logits` while asking for the next allocates nothing.
    private var logitsBuffer: LogitsStorage
    private var spareLogitsBuffer: LogitsStorage
    /// Logits of several rows at once, for `evaluateAll` (allocated on first use).
    private var blockLogits: UnsafeMutablePointer<Float>?
    private static let logitBlockRows = 16

    init(model: TransformerDecoder, contextLength: Int, maximumBatchSize: Int, rounding: DecoderRounding = .fp32,
         kernelLevel: KernelLevel = .best) {
        self.model = model
        self.rounding = rounding
        self.kernelLevel = kernelLevel
        hp = model.configuration
        self.contextLength = max(1, contextLength)
        self.maximumBatchSize = max(1, min(maximumBatchSize, self.contextLength))
        let b = self.maximumBatchSize
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        hidden = buffer(b * hp.embeddingLength)
        normed = buffer(b * max(hp.embeddingLength, hp.attentionWidth))
        query = buffer(b * hp.queryWidth)
        attention = buffer(b * hp.attentionWidth)
        projected = buffer(b * hp.embeddingLength)
        gate = buffer(b * hp.feedForwardLength)
        up = buffer(b * hp.feedForwardLength)
        ropeTables = buffer(4 * b * (hp.keyLength / 2))
        logitsBuffer = LogitsStorage(count: hp.vocabularySize)
        spareLogitsBuffer = LogitsStorage(count: hp.vocabularySize)
        keyCache = []
        valueCache = []
        layerSlots = []
        let hasRings = model.blocks.contains { $0.slidingWindow }
        // Without sliding-window layers nothing wraps: a ring as long as the context never does.
        let context = max(1, contextLength)
        ringLength = hasRings ? min(context, hp.slidingWindow + b) : context
        scores = buffer(1)
    }

    deinit {
        for p in [hidden, normed, query, attention, projected, gate, up, ropeTables, scores] {
            p.deallocate()
        }
        blockLogits?.deallocate()
        for p in keyCache { p.deallocate() }
        for p in valueCache { p.deallocate() }
    }

    public var vocabularySize: Int { hp.vocabularySize }

    /// Bytes held by the key/value cache now.
    public var cacheBytes: Int { layerSlots.reduce(0, +) * (hp.keyWidth + hp.valueWidth) * MemoryLayout<Float>.size }

    /// Keeps the first `length` positions (a prefix shared with the next prompt) and drops the rest.
    /// Returns the number of positions now cached.
    @discardableResult
    public func truncate(to length: Int) -> Int {
        let target = max(0, min(count, length))
        // The next query (at `target`) needs positions target - window + 1 ..< target in the rings.
        if max(0, target - hp.slidingWindow + 1) >= ringFloor {
            count = target
        } else {
            count = 0
            ringFloor = 0
        }
        return count
    }

    public func reset() {
        count = 0
        ringFloor = 0
    }

    /// Slot of `position` in a layer's key/value buffers.
    @inline(__always)
    private func slot(_ position: Int, sliding: Bool) -> Int { sliding ? position % ringLength : position }

    /// Splits positions `start ..< start + length` into runs of consecutive slots (at most two:
    /// a ring wraps once), without allocating.
    @inline(__always)
    private func slotRuns(_ start: Int, _ length: Int, sliding: Bool) -> SlotRuns {
        let first = slot(start, sliding: sliding)
        guard sliding, first + length > ringLength else { return SlotRuns(SlotRun(offset: 0, length: length, slot: first), nil) }
        let head = ringLength - first
        return SlotRuns(SlotRun(offset: 0, length: head, slot: first), SlotRun(offset: head, length: length - head, slot: 0))
    }

    /// Runs `tokens` after the cached positions and returns the logits of the last one. The
    /// result owns its values: later calls on the session never change it.
    public func evaluate(_ tokens: [Int32]) throws -> Logits {
        try tokens.withUnsafeBufferPointer { try evaluate($0) }
    }

    /// One decode step without building an array.
    public func evaluate(token: Int32) throws -> Logits {
        try withUnsafePointer(to: token) { try evaluate(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    public func evaluate(_ all: UnsafeBufferPointer<Int32>) throws -> Logits {
        guard !all.isEmpty else { throw ModelError.emptyInput }
        try check(all)
        let out = writableLogits()
        var start = 0
        while start < all.count {
            let n = min(maximumBatchSize, all.count - start)
            let isFinal = start + n == all.count
            runLayers(UnsafeBufferPointer(rebasing: all[start..<(start + n)]), firstOutput: isFinal ? n - 1 : n)
            start += n
        }
        let last = (all.count - 1) % maximumBatchSize
        logits(rows: last..<(last + 1), into: out.pointer)
        return Logits(storage: out)
    }

    /// A logits buffer no `Logits` value refers to any more (a new one when the caller holds both).
    private func writableLogits() -> LogitsStorage {
        if isKnownUniquelyReferenced(&logitsBuffer) { return logitsBuffer }
        swap(&logitsBuffer, &spareLogitsBuffer)
        if isKnownUniquelyReferenced(&logitsBuffer) { return logitsBuffer }
        logitsBuffer = LogitsStorage(count: hp.vocabularySize)
        return logitsBuffer
    }

    /// `CausalLanguageModel`-style entry: `position` must equal the cached count.
    public func forward(tokens: [Int32], startingAt position: Int, logits: UnsafeMutableBufferPointer<Float>) throws {
        guard position == count else { throw ModelError.positionMismatch(expected: count, given: position) }
        let result = try evaluate(tokens)
        result.withUnsafeBufferPointer { src in
            guard let dst = logits.baseAddress, let src = src.baseAddress else { return }
            dst.update(from: src, count: min(logits.count, result.count))
        }
    }

    /// Runs `tokens` after the cached positions and calls `body(i, logits)` with the logits after
    /// token `i`, for every i ≥ `firstRow`, in order (for perplexity). The buffer is reused.
    public func evaluateAll(_ tokens: [Int32], from firstRow: Int = 0,
                            _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard !tokens.isEmpty else { throw ModelError.emptyInput }
        try tokens.withUnsafeBufferPointer { try check($0) }
        let block: UnsafeMutablePointer<Float>
        if let existing = blockLogits {
            block = existing
        } else {
            block = UnsafeMutablePointer<Float>.allocate(capacity: Self.logitBlockRows * hp.vocabularySize)
            blockLogits = block
        }
        let v = hp.vocabularySize
        try tokens.withUnsafeBufferPointer { all in
            var start = 0
            while start < all.count {
                let n = min(maximumBatchSize, all.count - start)
                var row = min(max(0, firstRow - start), n)
                runLayers(UnsafeBufferPointer(rebasing: all[start..<(start + n)]), firstOutput: row)
                while row < n {
                    let rows = min(Self.logitBlockRows, n - row)
                    logits(rows: row..<(row + rows), into: block)
                    for r in 0..<rows {
                        try body(start + row + r, UnsafeBufferPointer(start: block + r * v, count: v))
                    }
                    row += rows
                }
                start += n
            }
        }
    }

    private func check(_ tokens: UnsafeBufferPointer<Int32>) throws {
        for t in tokens where t < 0 || Int(t) >= hp.vocabularySize {
            throw ModelError.tokenOutOfRange(token: t, vocabularySize: hp.vocabularySize)
        }
        guard count + tokens.count <= contextLength else {
            throw ModelError.contextFull(needed: count + tokens.count, limit: contextLength)
        }
        ensureCapacity(count + tokens.count)
    }

    private func ensureCapacity(_ needed: Int) {
        guard needed > capacity else { return }
        let newCapacity = min(contextLength, max(needed, capacity * 2, 256))
        // A ring smaller than its full length has never wrapped (every position < its slot count),
        // so copying the first `count` slots keeps every cached position.
        func grow(_ old: UnsafeMutablePointer<Float>?, oldSlots: Int, slots: Int, width: Int) -> UnsafeMutablePointer<Float> {
            guard let old else { return UnsafeMutablePointer<Float>.allocate(capacity: slots * width) }
            guard slots > oldSlots else { return old }
            let p = UnsafeMutablePointer<Float>.allocate(capacity: slots * width)
            p.update(from: old, count: min(count, oldSlots) * width)
            old.deallocate()
            return p
        }
        var keys: [UnsafeMutablePointer<Float>] = []
        var values: [UnsafeMutablePointer<Float>] = []
        var slots: [Int] = []
        for layer in 0..<hp.layerCount {
            let exists = layer < keyCache.count
            let oldSlots = exists ? layerSlots[layer] : 0
            let newSlots = model.blocks[layer].slidingWindow ? min(newCapacity, ringLength) : newCapacity
            keys.append(grow(exists ? keyCache[layer] : nil, oldSlots: oldSlots, slots: newSlots, width: hp.keyWidth))
            values.append(grow(exists ? valueCache[layer] : nil, oldSlots: oldSlots, slots: newSlots, width: hp.valueWidth))
            slots.append(max(oldSlots, newSlots))
        }
        keyCache = keys
        valueCache = values
        layerSlots = slots
        scores.deallocate()
        scores = UnsafeMutablePointer<Float>.allocate(capacity: hp.headCount * newCapacity)
        capacity = newCapacity
    }

    // MARK: the layers

    /// Runs `tokens` (at most `maximumBatchSize`) at positions `count ..< count + n` through every
    /// block, appending their keys and values; leaves the last block's output of rows
    /// `firstOutput ..< n` in `hidden` (`firstOutput == n`: no row is wanted).
    private func runLayers(_ tokens: UnsafeBufferPointer<Int32>, firstOutput: Int) {
        let n = tokens.count
        let d = hp.embeddingLength
        let p0 = count
        let hidden = self.hidden, normed = self.normed, query = self.query
        let embedding = model.tokenEmbedding
        let embeddingScale = hp.embeddingScale
        forRows(n) { range in
            for t in range {
                embedding.dequantizeRow(Int(tokens[t]), into: hidden + t * d)
                if let embeddingScale { Kernels.scale(hidden + t * d, by: embeddingScale, output: hidden + t * d, d) }
            }
        }
        fillRopeTables(positions: p0..<(p0 + n))

        let eps = hp.rmsEpsilon
        let dk = hp.keyLength
        let heads = hp.headCount, kvHeads = hp.kvHeadCount
        let qScale = hp.attentionScale
        let half = dk / 2
        let tableStride = n * half
        let neox = hp.ropeLayout == .neox
        let lastLayer = model.blocks.count - 1
        for (layer, block) in model.blocks.enumerated() {
            // The last block's output matters only for rows whose logits are wanted; every row
            // still needs its keys and values in the cache.
            let r0 = layer == lastLayer ? min(max(0, firstOutput), n) : 0
            let m = n - r0
            let keys = keyCache[layer], values = valueCache[layer]
            let sliding = block.slidingWindow
            rmsnormRows(hidden, weight: block.attentionNorm, into: normed, rows: n, width: d)
            let halfCache = rounding == .llamaCpp
            for run in slotRuns(p0, n, sliding: sliding) {
                block.key.multiply(normed + run.offset * d, tokens: run.length, into: keys + run.slot * hp.keyWidth, level: kernelLevel.quantized)
                block.value.multiply(normed + run.offset * d, tokens: run.length, into: values + run.slot * hp.valueWidth, level: kernelLevel.quantized)
                if let bias = block.valueBias {
                    let b = UnsafePointer(bias.basePointer)
                    for r in 0..<run.length {
                        let row = values + (run.slot + r) * hp.valueWidth
                        Kernels.add(row, b, output: row, hp.valueWidth)
                    }
                }
                if halfCache { whet_round_to_fp16_row(values + run.slot * hp.valueWidth, run.length * hp.valueWidth) }
            }
            if m > 0 { block.query.multiply(normed + r0 * d, tokens: m, into: query, level: kernelLevel.quantized) }

            let tables = ropeTables + (block.slidingWindow || !distinctRopeBases ? 0 : 2 * tableStride)
            let qNorm = block.queryNorm.map { UnsafePointer($0.basePointer) }
            let kNorm = block.keyNorm.map { UnsafePointer($0.basePointer) }
            let qBias = block.queryBias.map { UnsafePointer($0.basePointer) }
            let kBias = block.keyBias.map { UnsafePointer($0.basePointer) }
            forRows(n) { range in
                for t in range {
                    let cosines = UnsafePointer(tables + t * half), sines = UnsafePointer(tables + tableStride + t * half)
                    let keyRow = keys + self.slot(p0 + t, sliding: sliding) * kvHeads * dk
                    if let kBias { Kernels.add(keyRow, kBias, output: keyRow, kvHeads * dk) }
                    for h in 0..<kvHeads {
                        let x = keyRow + h * dk
                        if let kNorm { Kernels.rmsnorm(x, weight: kNorm, eps: eps, output: x, dk) }
                        if neox {
                            Self.rotate(x, cosines: cosines, sines: sines, half: half)
                        } else {
                            Self.rotateAdjacent(x, cosines: cosines, sines: sines, half: half)
                        }
                        if halfCache { whet_round_to_fp16_row(x, dk) }
                    }
                    guard t >= r0 else { continue }
                    let queryRow = query + (t - r0) * heads * dk
                    if let qBias { Kernels.add(queryRow, qBias, output: queryRow, heads * dk) }
                    for h in 0..<heads {
                        let x = queryRow + h * dk
                        if let qNorm { Kernels.rmsnorm(x, weight: qNorm, eps: eps, output: x, dk) }
                        if neox {
                            Self.rotate(x, cosines: cosines, sines: sines, half: half)
                        } else {
                            Self.rotateAdjacent(x, cosines: cosines, sines: sines, half: half)
                        }
                        Kernels.scale(x, by: qScale, output: x, dk)
                        if halfCache { whet_round_to_fp16_row(x, dk) }
                    }
                }
            }
            guard m > 0 else { continue }
            let rows = hidden + r0 * d

            attend(layer: layer, slidingWindow: block.slidingWindow, start: p0 + r0, tokens: m)
            block.output.multiply(attention, tokens: m, into: projected, level: kernelLevel.quantized)
            addResidual(projected, norm: block.postAttentionNorm, into: rows, rows: m, width: d)

            rmsnormRows(rows, weight: block.feedForwardNorm, into: normed, rows: m, width: d)
            block.gate.multiply(normed, tokens: m, into: gate, level: kernelLevel.quantized)
            block.up.multiply(normed, tokens: m, into: up, level: kernelLevel.quantized)
            let ff = hp.feedForwardLength
            let gate = self.gate, up = self.up
            let activation = hp.activation
            forRows(m, work: ff) { range in
                for t in range {
                    switch activation {
                    case .geluTanh:
                        if halfCache {
                            whet_gelu_fp16_table_product(gate + t * ff, up + t * ff, gate + t * ff, ff)
                        } else {
                            Kernels.geluTanhProduct(gate: gate + t * ff, up: up + t * ff, output: gate + t * ff, ff)
                        }
                    case .silu:
                        Self.siluProduct(gate: gate + t * ff, up: up + t * ff, ff)
                    }
                }
            }
            block.down.multiply(gate, tokens: m, into: projected, level: kernelLevel.quantized)
            addResidual(projected, norm: block.postFeedForwardNorm, into: rows, rows: m, width: d)
        }
        count = p0 + n
        ringFloor = max(ringFloor, count - ringLength)
    }

    /// Final norm of rows `rows` of `hidden` and their logits through the output projection
    /// (the token embedding when tied).
    private func logits(rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let d = hp.embeddingLength
        rmsnormRows(hidden + rows.lowerBound * d, weight: model.outputNorm, into: normed, rows: rows.count, width: d)
        model.output.multiply(normed, tokens: rows.count, into: out, level: kernelLevel.quantized)
        if let cap = hp.finalLogitSoftcap { Self.softcap(out, rows.count * hp.vocabularySize, cap: cap) }
    }

    /// x = cap · tanh(x · (1/cap)), as ggml's scale, tanh, scale.
    private static func softcap(_ x: UnsafeMutablePointer<Float>, _ n: Int, cap: Float) {
        let inverse = 1 / cap
        for i in 0..<n { x[i] = cap * tanhf(x[i] * inverse) }
    }

    /// gate = silu(gate) · up (SwiGLU), in place.
    @inline(__always)
    private static func siluProduct(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { gate[i] = Kernels.silu(gate[i]) * up[i] }
    }

    /// Rotates NEOX-style pairs (i, i + half) of one head by the precomputed angles.
    @inline(__always)
    private static func rotate(_ x: UnsafeMutablePointer<Float>, cosines: UnsafePointer<Float>,
                               sines: UnsafePointer<Float>, half: Int) {
        for i in 0..<half {
            let a = x[i], b = x[i + half]
            let c = cosines[i], s = sines[i]
            x[i] = a * c - b * s
            x[i + half] = a * s + b * c
        }
    }

    /// Rotates llama.cpp's NORM pairs (2i, 2i + 1) of one head by the precomputed angles.
    @inline(__always)
    private static func rotateAdjacent(_ x: UnsafeMutablePointer<Float>, cosines: UnsafePointer<Float>,
                                       sines: UnsafePointer<Float>, half: Int) {
        for i in 0..<half {
            let a = x[2 * i], b = x[2 * i + 1]
            let c = cosines[i], s = sines[i]
            x[2 * i] = a * c - b * s
            x[2 * i + 1] = a * s + b * c
        }
    }

    /// Whether sliding-window and global layers rotate with different bases (two tables).
    private var distinctRopeBases: Bool { hp.localRopeBase != hp.globalRopeBase }

    /// cos/sin tables for the batch positions: [local cos | local sin | global cos | global sin],
    /// each `n × half` (`Kernels.ropeAngles`: p · base^(-2i/d) in double; with per-pair frequency
    /// factors, each angle divided by its factor). One base: the local half only.
    private func fillRopeTables(positions: Range<Int>) {
        let half = hp.keyLength / 2
        let stride = positions.count * half
        for which in 0..<(distinctRopeBases ? 2 : 1) {
            let base = which == 0 ? hp.localRopeBase : hp.globalRopeBase
            let cosines = ropeTables + which * 2 * stride
            for (t, p) in positions.enumerated() {
                if let factors = hp.ropeFrequencyFactors {
                    let position = Double(p)
                    let dims = Double(hp.keyLength)
                    for i in 0..<half {
                        let frequency = pow(Double(base), -2.0 * Double(i) / dims) / Double(hp.ropeFrequencyScale)
                        let angle = position * frequency / Double(factors[i])
                        cosines[t * half + i] = Float(cos(angle))
                        cosines[stride + t * half + i] = Float(sin(angle))
                    }
                } else {
                    Kernels.ropeAngles(position: p, rotaryDim: hp.keyLength, base: base, frequencyScale: hp.ropeFrequencyScale,
                                       cos: cosines + t * half, sin: cosines + stride + t * half)
                }
            }
        }
    }

    /// Causal (and, in sliding-window layers, windowed) attention of the `tokens` queries at
    /// positions `start ..< start + tokens` over the cache, into `attention` ([tokens, heads·dv]).
    /// Each query runs on its own over exactly the keys it sees (dot products, softmax, weighted
    /// sum of values) with the canonical-order fp32 kernels of CKernels, so a position's result is
    /// the same whether it came in a prompt batch or one token at a time, on every CPU.
    private func attend(layer: Int, slidingWindow: Bool, start p0: Int, tokens n: Int) {
        let dk = hp.keyLength, dv = hp.valueLength
        let heads = hp.headCount, kvHeads = hp.kvHeadCount
        let group = heads / kvHeads
        let window = slidingWindow ? hp.slidingWindow : Int.max
        let keys = UnsafePointer(keyCache[layer]), values = UnsafePointer(valueCache[layer])
        let query = UnsafePointer(self.query), attention = self.attention
        let scoreRegion = capacity
        let scores = self.scores
        let keyStride = kvHeads * dk, valueStride = kvHeads * dv
        let queryStride = heads * dk, outStride = heads * dv
        let level = kernelLevel.float
        let longest = min(p0 + n, window)
        let softcap = hp.attentionSoftcap
        Parallel.forRanges(heads, minimumPerLane: n > 1 || longest >= 256 ? 1 : heads) { range in
            for h in range {
                let g = h / group
                let s = scores + h * scoreRegion
                for t in 0..<n {
                    let position = p0 + t
                    let lo = max(0, position - window + 1)
                    let keyCount = position - lo + 1
                    let q = query + t * queryStride + h * dk
                    for run in self.slotRuns(lo, keyCount, sliding: slidingWindow) {
                        whet_f32_dots(level, q, keys + run.slot * keyStride + g * dk, keyStride, Int64(run.length), Int64(dk),
                                      s + run.offset)
                    }
                    if let cap = softcap { Self.softcap(s, keyCount, cap: cap) }
                    Kernels.softmaxInPlace(s, keyCount)
                    let out = attention + t * outStride + h * dv
                    for (i, run) in self.slotRuns(lo, keyCount, sliding: slidingWindow).enumerated() {
                        whet_f32_weighted_sum(level, s + run.offset, values + run.slot * valueStride + g * dv, valueStride,
                                              Int64(run.length), Int64(dv), out, i == 0 ? 0 : 1)
                    }
                }
            }
        }
    }

    // MARK: row helpers

    /// Splits `n` rows over the cores when there are enough of them to pay for it.
    @inline(__always)
    private func forRows(_ n: Int, work: Int = 1024, _ body: (Range<Int>) -> Void) {
        Parallel.forRanges(n, minimumPerLane: max(1, 8192 / max(1, work)), body)
    }

    private func rmsnormRows(_ x: UnsafeMutablePointer<Float>, weight: Tensor, into y: UnsafeMutablePointer<Float>,
                             rows: Int, width: Int) {
        let w = UnsafePointer(weight.basePointer)
        let eps = hp.rmsEpsilon
        forRows(rows, work: width) { range in
            for r in range { Kernels.rmsnorm(x + r * width, weight: w, eps: eps, output: y + r * width, width) }
        }
    }

    /// residual += rmsnorm(x) · norm (x is overwritten), or residual += x without a norm, row by row.
    private func addResidual(_ x: UnsafeMutablePointer<Float>, norm: Tensor?, into residual: UnsafeMutablePointer<Float>,
                             rows: Int, width: Int) {
        let w = norm.map { UnsafePointer($0.basePointer) }
        let eps = hp.rmsEpsilon
        forRows(rows, work: width) { range in
            for r in range {
                if let w { Kernels.rmsnorm(x + r * width, weight: w, eps: eps, output: x + r * width, width) }
                Kernels.add(residual + r * width, x + r * width, output: residual + r * width, width)
            }
        }
    }
}

/// Positions `offset ..< offset + length` (relative to a run's start) live in slots `slot ..< slot + length`.
struct SlotRun {
    let offset: Int
    let length: Int
    let slot: Int
}

/// One or two `SlotRun`s.
struct SlotRuns: Sequence, IteratorProtocol {
    private let first: SlotRun
    private let second: SlotRun?
    private var index = 0

    init(_ first: SlotRun, _ second: SlotRun?) {
        self.first = first
        self.second = second
    }

    mutating func next() -> SlotRun? {
        defer { index += 1 }
        return index == 0 ? first : (index == 1 ? second : nil)
    }
}

/// The logits of one position (`DecoderSession.evaluate`): `vocabularySize` values that stay as they
/// are for as long as this value lives. The session reuses the storage only once no `Logits`
/// refers to it, so holding one costs nothing and reading it is a plain memory access.
// @unchecked Sendable: the storage is written before the value is handed out and never while a `Logits` refers to it (`isKnownUniquelyReferenced`).
public struct Logits: RandomAccessCollection, @unchecked Sendable {
    let storage: LogitsStorage

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }
    public subscript(position: Int) -> Float {
        precondition(position >= 0 && position < storage.count, "logit index \(position) outside 0..<\(storage.count)")
        return storage.pointer[position]
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }
}

// @unchecked Sendable: a fixed buffer; the session writes it only while no `Logits` refers to it.
final class LogitsStorage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }
}

extension DecoderSession: CausalLanguageModel {
    /// Rolls back exactly while the sliding-window rings still hold the window (see `truncate(to:)`).
    public func truncateCache(to count: Int) -> Int { truncate(to: count) }
}
