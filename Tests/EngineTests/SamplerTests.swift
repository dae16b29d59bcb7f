import Foundation
import Testing
@testable import Engine

/// Logits whose softmax (temperature 1) is exactly `probabilities`.
private func logits(for probabilities: [Double]) -> [Float] { probabilities.map { Float(log($0)) } }

private func distribution(_ settings: SamplerSettings, _ values: [Float], history: [Int32] = []) -> [TokenProbability] {
    var sampler = Sampler(settings: settings)
    var copy = values
    return copy.withUnsafeMutableBufferPointer { sampler.distribution(logits: $0, history: history) }
}

private func penalised(_ settings: SamplerSettings, _ values: [Float], history: [Int32]) -> [Float] {
    var sampler = Sampler(settings: settings)
    var copy = values
    _ = copy.withUnsafeMutableBufferPointer { sampler.sample(logits: $0, history: history) }
    return copy
}

/// Knobs off except the ones a test sets.
private func only(temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0) -> SamplerSettings {
    SamplerSettings(temperature: temperature, topK: topK, topP: topP, minP: minP, seed: 7)
}

/// The straightforward reference: sort everything, apply each filter in llama.cpp's order.
private func referenceDistribution(_ values: [Float], _ s: SamplerSettings) -> [(Int32, Double)] {
    var sorted = values.enumerated().map { (Int32($0.offset), Double($0.element)) }
    sorted.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    if s.topK > 0 { sorted = Array(sorted.prefix(s.topK)) }
    let maxLogit = sorted[0].1
    let z = sorted.reduce(0) { $0 + exp($1.1 - maxLogit) }
    if s.topP < 1 {
        var mass = 0.0
        var keep = sorted.count
        for (i, c) in sorted.enumerated() {
            mass += exp(c.1 - maxLogit) / z
            if mass >= Double(s.topP) { keep = i + 1; break }
        }
        sorted = Array(sorted.prefix(keep))
    }
    if s.minP > 0 { sorted = sorted.enumerated().filter { $0.offset == 0 || exp($0.element.1 - maxLogit) >= Double(s.minP) }.map(\.element) }
    let w = sorted.map { exp(($0.1 - maxLogit) / Double(s.temperature)) }
    let total = w.reduce(0, +)
    return zip(sorted, w).map { ($0.0, $1 / total) }
}

@Suite struct SamplerTests {
    @Test func temperatureZeroIsArgmaxWithLowestIdWinningTies() {
        let d = distribution(only(temperature: 0), [0.5, 3, -1, 3, 2])
        #expect(d == [TokenProbability(token: 1, probability: 1)])
    }

    @Test func topKKeepsExactlyKEvenWithTiesAtTheBoundary() {
        let values: [Float] = [1, 5, 3, 3, 3, 0, 4, 2]
        let d = distribution(only(topK: 3), values)
        #expect(d.map(\.token) == [1, 6, 2])  // the tie among 2, 3, 4 goes to the lowest id
        let three = distribution(only(topK: 4), values)
        #expect(three.map(\.token) == [1, 6, 2, 3])
        let total = [5, 4, 3].map { exp(Double($0)) }.reduce(0, +)
        #expect(abs(d[0].probability - exp(5) / total) < 1e-6)
    }

    @Test func topPKeepsTheSmallestSetReachingP() {
        let values = logits(for: [0.5, 0.2, 0.15, 0.1, 0.05])
        // 0.5 + 0.2 = 0.7 < 0.8, + 0.15 = 0.85 ≥ 0.8: three tokens.
        let d = distribution(only(topP: 0.8), values)
        #expect(d.map(\.token) == [0, 1, 2])
        #expect(abs(d[0].probability - 0.5 / 0.85) < 1e-6)
        // Exactly reaching p is enough: 0.5 + 0.2 = 0.7.
        #expect(distribution(only(topP: 0.7), values).map(\.token) == [0, 1])
        #expect(distribution(only(topP: 0.71), values).map(\.token) == [0, 1, 2])
        #expect(distribution(only(topP: 0.3), values).map(\.token) == [0])
        #expect(distribution(only(topP: 0), values).map(\.token) == [0])
    }

    @Test func topPIsJudgedOnTheTopKSurvivorsRenormalised() {
        let values = logits(for: [0.4, 0.3, 0.2, 0.1])
        // Over the top 2, probabilities are 4/7 and 3/7: p = 0.5 needs only the first.
        #expect(distribution(only(topK: 2, topP: 0.5), values).map(\.token) == [0])
        #expect(distribution(only(topP: 0.5), values).map(\.token) == [0, 1])
    }

    @Test func minPIsRelativeToTheMostLikelyToken() {
        let values = logits(for: [0.5, 0.2, 0.15, 0.1, 0.05])
        // Floor 0.35 × 0.5 = 0.175: keeps 0.5 and 0.2.
        #expect(distribution(only(minP: 0.35), values).map(\.token) == [0, 1])
        // Floor 0.25 × 0.5 = 0.125: keeps 0.5, 0.2, 0.15.
        #expect(distribution(only(minP: 0.25), values).map(\.token) == [0, 1, 2])
        // The same ratio on a flatter distribution keeps more tokens.
        let flat = logits(for: [0.3, 0.25, 0.2, 0.15, 0.1])
        #expect(distribution(only(minP: 0.35), flat).map(\.token) == [0, 1, 2, 3])
    }

    @Test func temperatureReshapesTheSurvivors() {
        let p = [0.5, 0.2, 0.15, 0.1, 0.05]
        for t in [0.5, 1.0, 2.0] {
            let d = distribution(only(temperature: Float(t)), logits(for: p))
            let w = p.map { pow($0, 1 / t) }
            let total = w.reduce(0, +)
            for entry in d {
                #expect(abs(entry.probability - w[Int(entry.token)] / total) < 1e-6, "T=\(t) token \(entry.token)")
            }
        }
    }

    @Test func repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsInTheWindow() {
        let values: [Float] = [2, -2, 1, 0.5, 3]
        var s = SamplerSettings(temperature: 0, repeatPenalty: 2, repeatLastN: 3)
        // Window = last 3 tokens: 1, 0, 1 (token 4 is outside it).
        let out = penalised(s, values, history: [4, 1, 0, 1])
        #expect(out == [1, -4, 1, 0.5, 3])
        s.repeatLastN = 0
        #expect(penalised(s, values, history: [4, 1, 0, 1]) == values)
        s.repeatLastN = -1
        #expect(penalised(s, values, history: [4, 1, 0, 1]) == [1, -4, 1, 0.5, 1.5])
    }

    @Test func presenceAndFrequencyPenaltiesCountOccurrences() {
        let values: [Float] = [0, 0, 0, 0]
        let s = SamplerSettings(temperature: 0, presencePenalty: 1, frequencyPenalty: 0.5, repeatLastN: 64)
        let out = penalised(s, values, history: [3, 3, 3, 1])
        #expect(out == [0, -1.5, 0, -2.5])
    }

    @Test func penaltiesChangeTheGreedyChoice() {
        let values: [Float] = [3, 2.5, 0]
        let s = SamplerSettings(temperature: 0, repeatPenalty: 1.5, repeatLastN: 8)
        var sampler = Sampler(settings: s)
        var copy = values
        let token = copy.withUnsafeMutableBufferPointer { sampler.sample(logits: $0, history: [0]) }
        #expect(token == 1)
    }

    @Test func largeVocabularyMatchesTheFullSortReference() {
        var g = SeededGenerator(seed: 11)
        let vocabulary = 262_144
        var values = (0..<vocabulary).map { _ in g.nextNormal() * 1.5 }
        for i in 0..<30 { values[(i * 7919) % vocabulary] = 9 + Float(i) * 0.1 }
        let cases: [SamplerSettings] = [
            only(topK: 40, topP: 0.95, minP: 0.05),
            only(temperature: 0.7, topP: 0.9),
            only(topP: 0.999),         // forces the threshold to widen several times
            only(minP: 0.01),
            only(temperature: 1.3, topK: 100),
        ]
        for s in cases {
            let got = distribution(s, values)
            let want = referenceDistribution(values, s)
            if s.topP < 1 && s.minP == 0 && s.topK == 0 {
                // Where top-p cuts a flat tail of ~1e-7 probabilities, Float rounding of the logits
                // moves the cut by a few tokens: require the kept mass to agree within 1e-5.
                let all = referenceDistribution(values, only(temperature: 1))
                func mass(_ n: Int) -> Double { all.prefix(n).reduce(0) { $0 + $1.1 } }
                #expect(abs(mass(got.count) - mass(want.count)) < 1e-5, "\(s): \(got.count) vs \(want.count)")
            } else {
                #expect(got.count == want.count, "\(s)")
            }
            for (a, b) in zip(got, want).prefix(1000) {
                #expect(a.token == b.0)
                #expect(abs(a.probability - b.1) < 1e-5)
            }
        }
    }

    @Test func drawsFollowTheDistribution() {
        let p = [0.5, 0.2, 0.15, 0.1, 0.05]
        var sampler = Sampler(settings: only(seed: 3))
        var counts = [Int](repeating: 0, count: p.count)
        let draws = 40_000
        for _ in 0..<draws {
            var values = logits(for: p)
            let t = values.withUnsafeMutableBufferPointer { sampler.sample(logits: $0, history: []) }
            counts[Int(t)] += 1
        }
        // Standard error at n = 40,000 is at most 0.0025; 0.01 is four of them.
        for i in p.indices { #expect(abs(Double(counts[i]) / Double(draws) - p[i]) < 0.01) }
    }

    @Test func sameSeedRepeatsAndOtherSeedsDiffer() {
        func run(_ seed: UInt64) -> [Int32] {
            var sampler = Sampler(settings: SamplerSettings(temperature: 1.2, topK: 0, topP: 1, minP: 0, seed: seed))
            var g = SeededGenerator(seed: 99)
            return (0..<200).map { _ in
                var values = (0..<1000).map { _ in g.nextNormal() }
                return values.withUnsafeMutableBufferPointer { sampler.sample(logits: $0, history: []) }
            }
        }
        #expect(run(5) == run(5))
        #expect(run(5) != run(6))
    }

    @Test func validationNamesTheKnobAndItsRange() {
        #expect(throws: GenerationError.invalidSetting(name: "top_p", value: "1.5", rule: "in [0, 1] (1 = off)")) {
            try SamplerSettings(topP: 1.5).validate()
        }
        #expect(throws: GenerationError.self) { try SamplerSettings(temperature: -1).validate() }
        #expect(throws: GenerationError.self) { try SamplerSettings(repeatPenalty: 0).validate() }
        #expect(throws: Never.self) { try SamplerSettings().validate() }
    }

    @Test func settingsDecodeWithDefaultsForMissingKeys() throws {
        let s = try JSONDecoder().decode(SamplerSettings.self, from: Data(#"{"temperature": 0.2, "top_k": 5}"#.utf8))
        #expect(s.temperature == 0.2 && s.topK == 5)
        #expect(s.topP == 0.95 && s.minP == 0.05 && s.repeatLastN == 64 && s.seed == nil)
    }
}

private func only(seed: UInt64) -> SamplerSettings {
    SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0, seed: seed)
}
