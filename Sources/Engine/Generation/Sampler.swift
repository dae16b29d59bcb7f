#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One token of the distribution the sampler finally draws from.
public struct TokenProbability: Sendable, Equatable {
    public var token: Int32
    public var probability: Double
    public init(token: Int32, probability: Double) {
        self.token = token
        self.probability = probability
    }
}

/// Picks the next token from a logits vector.
///
/// The chain is llama.cpp's default: penalties → top-k → top-p → min-p → temperature → draw.
/// Top-p and min-p are judged on the distribution at temperature 1 over the tokens still in the
/// running (after top-k); temperature then reshapes only the survivors. Temperature 0 is greedy
/// (argmax after the penalties).
///
/// The vocabulary can be large (262,144 for Gemma 3), so no step sorts the whole vocabulary:
/// top-k keeps a k-entry heap; top-p and min-p gather only the tokens above a logit threshold and
/// sort those. Scratch buffers are allocated once per sampler and reused for every token.
public struct Sampler: Sendable {
    public let settings: SamplerSettings
    /// The seed actually in use (settings.seed, or a fresh one when that is nil).
    public let seed: UInt64
    private var generator: SeededGenerator
    private var candidates: [Candidate] = []
    private var window: [Int32] = []

    struct Candidate {
        var token: Int32
        var logit: Float
    }

    public init(settings: SamplerSettings) {
        self.settings = settings
        var system = SystemRandomNumberGenerator()
        seed = settings.seed ?? system.next()
        generator = SeededGenerator(seed: seed)
    }

    /// Draws the next token. `logits` is modified in place (penalties). `history` holds the tokens
    /// so far (prompt and generated), the last `repeatLastN` of which the penalties look at.
    public mutating func sample(logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) -> Int32 {
        switch prepare(logits: logits, history: history) {
        case let .single(token):
            return token
        case let .sorted(count, maxLogit):
            return drawSorted(count: count, maxLogit: maxLogit)
        case let .whole(maxLogit):
            return drawWhole(logits: UnsafeBufferPointer(logits), maxLogit: maxLogit)
        }
    }

    /// The distribution `sample` would draw from, most likely first (for tests and for showing
    /// alternatives). With no truncation at all this lists the whole vocabulary.
    public mutating func distribution(logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) -> [TokenProbability] {
        let temperature = Double(settings.temperature)
        switch prepare(logits: logits, history: history) {
        case let .single(token):
            return [TokenProbability(token: token, probability: 1)]
        case let .sorted(count, maxLogit):
            let weights = (0..<count).map { exp((Double(candidates[$0].logit) - Double(maxLogit)) / temperature) }
            let total = weights.reduce(0, +)
            return (0..<count).map { TokenProbability(token: candidates[$0].token, probability: weights[$0] / total) }
        case let .whole(maxLogit):
            var all = (0..<logits.count).map { i in
                TokenProbability(token: Int32(i), probability: exp((Double(logits[i]) - Double(maxLogit)) / temperature))
            }
            let total = all.reduce(0) { $0 + $1.probability }
            for i in all.indices { all[i].probability /= total }
            all.sort { $0.probability > $1.probability || ($0.probability == $1.probability && $0.token < $1.token) }
            return all
        }
    }

    private enum Prepared {
        /// Only one token can be drawn (greedy, or truncation left one).
        case single(Int32)
        /// `candidates[0..<count]` hold the survivors, sorted by logit, highest first.
        case sorted(count: Int, maxLogit: Float)
        /// Nothing truncates: draw from the whole vocabulary.
        case whole(maxLogit: Float)
    }

    private mutating func prepare(logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) -> Prepared {
        let vocabulary = logits.count
        guard vocabulary > 0 else { return .single(0) }
        if settings.penaltiesActive { applyPenalties(logits: logits, history: history) }
        if settings.temperature <= 0 { return .single(Self.argmax(UnsafeBufferPointer(logits))) }
        if candidates.count < vocabulary {
            candidates = [Candidate](repeating: Candidate(token: 0, logit: 0), count: vocabulary)
        }

        let topKActive = settings.topK > 0 && settings.topK < vocabulary
        let topPActive = settings.topP < 1
        let minPActive = settings.minP > 0
        let input = UnsafeBufferPointer(logits)
        if !topKActive && !topPActive && !minPActive {
            let maxLogit = input[Int(Self.argmax(input))]
            return maxLogit.isFinite ? .whole(maxLogit: maxLogit) : .single(Self.argmax(input))
        }

        return candidates.withUnsafeMutableBufferPointer { buffer -> Prepared in
            var count: Int
            var maxLogit: Float
            // Sum of exp(logit - max) over the tokens still in the running: top-p's denominator.
            var normalizer: Double
            if topKActive {
                count = Self.selectTopK(input, k: settings.topK, into: buffer)
                Self.sortDescending(buffer, count: count)
                maxLogit = buffer[0].logit
                guard maxLogit.isFinite else { return .single(buffer[0].token) }
                normalizer = 0
                for i in 0..<count { normalizer += exp(Double(buffer[i].logit - maxLogit)) }
            } else {
                maxLogit = input[Int(Self.argmax(input))]
                guard maxLogit.isFinite else { return .single(Self.argmax(input)) }
                normalizer = Self.sumOfExponentials(input, maxLogit: maxLogit)
                // Gather the tokens above a threshold: min-p's own cut when it is on (nothing below
                // it can survive), otherwise widen until the gathered mass reaches top-p.
                var threshold = minPActive ? maxLogit + Float(log(Double(settings.minP))) : maxLogit - 8
                while true {
                    count = Self.gather(input, atLeast: threshold, into: buffer)
                    Self.sortDescending(buffer, count: count)
                    if minPActive || count == vocabulary || !topPActive || threshold == -.infinity { break }
                    if Self.prefixMass(buffer, count: count, maxLogit: maxLogit) >= Self.topPTarget(settings.topP, normalizer) { break }
                    threshold -= 8
                    if threshold < maxLogit - 200 { threshold = -.infinity }
                }
            }
            if topPActive {
                let target = Self.topPTarget(settings.topP, normalizer)
                var mass = 0.0
                var kept = count
                for i in 0..<count {
                    mass += exp(Double(buffer[i].logit - maxLogit))
                    if mass >= target { kept = i + 1; break }
                }
                count = kept
            }
            if minPActive {
                // p_i >= minP * p_max  ⇔  exp(logit_i - max) >= minP.
                let floor = Double(settings.minP)
                var kept = 1
                while kept < count && exp(Double(buffer[kept].logit - maxLogit)) >= floor { kept += 1 }
                count = kept
            }
            return count == 1 ? .single(buffer[0].token) : .sorted(count: count, maxLogit: maxLogit)
        }
    }

    /// llama.cpp's penalties: for each distinct token in the window, a positive logit is divided by
    /// the repeat penalty and a negative one multiplied; then `count × frequency + presence` is
    /// subtracted.
    private mutating func applyPenalties(logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) {
        let span = settings.repeatLastN < 0 ? history.count : min(settings.repeatLastN, history.count)
        guard span > 0 else { return }
        window.removeAll(keepingCapacity: true)
        window.append(contentsOf: history[(history.count - span)...])
        window.sort()
        let repeatPenalty = settings.repeatPenalty
        let frequency = settings.frequencyPenalty
        let presence = settings.presencePenalty
        var i = 0
        while i < window.count {
            let token = window[i]
            var j = i + 1
            while j < window.count && window[j] == token { j += 1 }
            let occurrences = Float(j - i)
            if token >= 0 && Int(token) < logits.count {
                var logit = logits[Int(token)]
                logit = logit <= 0 ? logit * repeatPenalty : logit / repeatPenalty
                logit -= occurrences * frequency + presence
                logits[Int(token)] = logit
            }
            i = j
        }
    }

    private mutating func drawSorted(count: Int, maxLogit: Float) -> Int32 {
        let inverseTemperature = 1 / Double(settings.temperature)
        let u = generator.nextUniformDouble()
        return candidates.withUnsafeBufferPointer { buffer -> Int32 in
            var total = 0.0
            for i in 0..<count { total += exp(Double(buffer[i].logit - maxLogit) * inverseTemperature) }
            let target = u * total
            var mass = 0.0
            for i in 0..<count {
                mass += exp(Double(buffer[i].logit - maxLogit) * inverseTemperature)
                if mass > target { return buffer[i].token }
            }
            return buffer[count - 1].token
        }
    }

    private mutating func drawWhole(logits: UnsafeBufferPointer<Float>, maxLogit: Float) -> Int32 {
        let inverseTemperature = 1 / settings.temperature
        let u = generator.nextUniformDouble()
        var total = 0.0
        for l in logits where l >= -Float.greatestFiniteMagnitude {
            total += Double(expf((l - maxLogit) * inverseTemperature))
        }
        let target = u * total
        var mass = 0.0
        var last = Int32(0)
        for i in 0..<logits.count where logits[i] >= -Float.greatestFiniteMagnitude {
            mass += Double(expf((logits[i] - maxLogit) * inverseTemperature))
            last = Int32(i)
            if mass > target { return last }
        }
        return last
    }

    // MARK: kernels over the vocabulary

    /// Index of the largest logit; the lowest index wins a tie. NaN never wins.
    static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            best = i
            bestValue = logits[i]
        }
        return Int32(best)
    }

    static func sumOfExponentials(_ logits: UnsafeBufferPointer<Float>, maxLogit: Float) -> Double {
        var sum: Float = 0
        var total = 0.0
        // Sum in Float blocks (fast), accumulate blocks in Double (accurate over 262k terms).
        var i = 0
        while i < logits.count {
            let end = min(i + 1024, logits.count)
            sum = 0
            for j in i..<end where logits[j] >= -Float.greatestFiniteMagnitude { sum += expf(logits[j] - maxLogit) }
            total += Double(sum)
            i = end
        }
        return total
    }

    /// Keeps the k largest logits in `out[0..<k]` with a min-heap (ties: lower token id kept).
    static func selectTopK(_ logits: UnsafeBufferPointer<Float>, k: Int, into out: UnsafeMutableBufferPointer<Candidate>) -> Int {
        @inline(__always) func less(_ a: Candidate, _ b: Candidate) -> Bool {
            a.logit < b.logit || (a.logit == b.logit && a.token > b.token)
        }
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1
                if left >= k { return }
                var smallest = left
                if left + 1 < k && less(out[left + 1], out[left]) { smallest = left + 1 }
                if !less(out[smallest], out[parent]) { return }
                out.swapAt(parent, smallest)
                parent = smallest
            }
        }
        for i in 0..<k {
            let l = logits[i]
            out[i] = Candidate(token: Int32(i), logit: l.isNaN ? -.infinity : l)
        }
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
        for i in k..<logits.count {
            let l = logits[i]
            // Later indices lose ties, so only a strictly larger logit enters.
            if l > out[0].logit {
                out[0] = Candidate(token: Int32(i), logit: l)
                siftDown(0)
            }
        }
        return k
    }

    static func gather(_ logits: UnsafeBufferPointer<Float>, atLeast threshold: Float, into out: UnsafeMutableBufferPointer<Candidate>) -> Int {
        var n = 0
        for i in 0..<logits.count where logits[i] >= threshold {
            out[n] = Candidate(token: Int32(i), logit: logits[i])
            n += 1
        }
        return n
    }

    static func sortDescending(_ buffer: UnsafeMutableBufferPointer<Candidate>, count: Int) {
        guard let base = buffer.baseAddress, count > 1 else { return }
        var prefix = UnsafeMutableBufferPointer(start: base, count: count)
        prefix.sort {
            $0.logit > $1.logit || ($0.logit == $1.logit && $0.token < $1.token)
        }
    }

    /// The mass top-p must reach; the slack absorbs rounding in the Float sums so a set whose
    /// probabilities add up to exactly p counts as reaching it.
    static func topPTarget(_ topP: Float, _ normalizer: Double) -> Double {
        Double(topP) * normalizer * (1 - 1e-6)
    }

    static func prefixMass(_ buffer: UnsafeMutableBufferPointer<Candidate>, count: Int, maxLogit: Float) -> Double {
        var mass = 0.0
        for i in 0..<count { mass += exp(Double(buffer[i].logit - maxLogit)) }
        return mass
    }
}
