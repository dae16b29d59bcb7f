/// The knobs of the sampler. Defaults follow llama.cpp's (`llama-cli` / `llama-server`), so a
/// user who knows those tools gets the behaviour they expect.
///
/// Stored in prompt files with snake_case keys; a missing key takes its default.
public struct SamplerSettings: Codable, Sendable, Equatable {
    /// 0 picks the most likely token (greedy); higher values flatten the distribution.
    public var temperature: Float = 0.8
    /// Keep only the k most likely tokens; 0 disables.
    public var topK: Int = 40
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 disables, 0 keeps
    /// only the most likely token.
    public var topP: Float = 0.95
    /// Drop tokens whose probability is below `minP` times the most likely token's; 0 disables.
    public var minP: Float = 0.05
    /// llama.cpp-style repetition penalty on tokens in the look-back window: positive logits are
    /// divided by it, negative ones multiplied; 1 disables.
    public var repeatPenalty: Float = 1.0
    /// Subtracted once from the logit of every token present in the look-back window.
    public var presencePenalty: Float = 0
    /// Subtracted from a token's logit once per occurrence in the look-back window.
    public var frequencyPenalty: Float = 0
    /// How many of the last tokens (prompt and generated) the penalties look at; 0 disables the
    /// penalties, -1 looks at the whole context.
    public var repeatLastN: Int = 64
    /// Same seed and same settings give the same output; nil draws a fresh seed per run (the run
    /// reports the seed it used).
    public var seed: UInt64?

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
                repeatPenalty: Float = 1.0, presencePenalty: Float = 0, frequencyPenalty: Float = 0,
                repeatLastN: Int = 64, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repeatPenalty = repeatPenalty
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.repeatLastN = repeatLastN
        self.seed = seed
    }

    /// Greedy decoding: always the most likely token, no randomness.
    public static let greedy = SamplerSettings(temperature: 0, topK: 0, topP: 1, minP: 0)

    enum CodingKeys: String, CodingKey {
        case temperature, topK = "top_k", topP = "top_p", minP = "min_p", repeatPenalty = "repeat_penalty"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case repeatLastN = "repeat_last_n", seed
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SamplerSettings()
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? d.temperature
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? d.topK
        topP = try c.decodeIfPresent(Float.self, forKey: .topP) ?? d.topP
        minP = try c.decodeIfPresent(Float.self, forKey: .minP) ?? d.minP
        repeatPenalty = try c.decodeIfPresent(Float.self, forKey: .repeatPenalty) ?? d.repeatPenalty
        presencePenalty = try c.decodeIfPresent(Float.self, forKey: .presencePenalty) ?? d.presencePenalty
        frequencyPenalty = try c.decodeIfPresent(Float.self, forKey: .frequencyPenalty) ?? d.frequencyPenalty
        repeatLastN = try c.decodeIfPresent(Int.self, forKey: .repeatLastN) ?? d.repeatLastN
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
    }

    /// Checks every knob against its valid range.
    public func validate() throws {
        func fail(_ name: String, _ rule: String, _ value: CustomStringConvertible) throws -> Never {
            throw GenerationError.invalidSetting(name: name, value: value.description, rule: rule)
        }
        if !(temperature.isFinite && temperature >= 0) { try fail("temperature", "a number ≥ 0 (0 = greedy)", temperature) }
        if topK < 0 { try fail("top_k", "an integer ≥ 0 (0 = off)", topK) }
        if !(topP >= 0 && topP <= 1) { try fail("top_p", "in [0, 1] (1 = off)", topP) }
        if !(minP >= 0 && minP <= 1) { try fail("min_p", "in [0, 1] (0 = off)", minP) }
        if !(repeatPenalty.isFinite && repeatPenalty > 0) { try fail("repeat_penalty", "a number > 0 (1 = off)", repeatPenalty) }
        if !presencePenalty.isFinite { try fail("presence_penalty", "a finite number (0 = off)", presencePenalty) }
        if !frequencyPenalty.isFinite { try fail("frequency_penalty", "a finite number (0 = off)", frequencyPenalty) }
        if repeatLastN < -1 { try fail("repeat_last_n", "-1 (whole context), 0 (off) or a positive count", repeatLastN) }
    }

    var penaltiesActive: Bool {
        repeatLastN != 0 && (repeatPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0)
    }
}
