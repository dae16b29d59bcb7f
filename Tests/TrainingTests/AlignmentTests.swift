import Foundation
import Testing
import TestSupport
@testable import Engine
@testable import Training

/// A bigram model whose log-probabilities can be written down by hand: the logits after token t are
/// row t of a table `[V, V]`. The reference is a second, frozen table.
final class BigramModel: AlignmentModel {
    let table: Parameter
    let referenceTable: Parameter
    let contextLength = 64

    init(table: [[Float]], reference: [[Float]]) throws {
        let v = table.count
        self.table = Parameter(name: "table", value: try Tensor(shape: [v, v], values: table.flatMap { $0 }))
        referenceTable = Parameter(name: "reference", value: try Tensor(shape: [v, v], values: reference.flatMap { $0 }),
                                   trainable: false)
    }

    var hiddenSize: Int { table.shape[0] }
    var trainableParameters: [Parameter] { [table] }

    func hiddenStates(_ g: Graph, tokens: [Int], sequenceLength: Int, reference: Bool) throws -> Value {
        try g.embedding(g.parameter(reference ? referenceTable : table), ids: tokens)
    }

    func tokenLogProbs(_ g: Graph, tokens: [Int], targets: [Int], sequenceLength: Int, reference: Bool) throws -> Value {
        try g.targetLogProbs(logits: hiddenStates(g, tokens: tokens, sequenceLength: sequenceLength, reference: reference),
                            targets: targets)
    }

    func makeSamplingModel() throws -> any CausalLanguageModel {
        throw RunError.invalidConfiguration("the bigram test model does not sample")
    }
}

/// log softmax(row)[j] in Float64, written out.
private func logSoftmax(_ row: [Float], _ j: Int) -> Double {
    let m = Double(row.max() ?? 0)
    let lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
    return Double(row[j]) - lse
}

private func softmax(_ row: [Float]) -> [Double] { row.indices.map { exp(logSoftmax(row, $0)) } }

private let policyTable: [[Float]] = [[0.2, 1.0, -0.5], [0.3, -0.4, 0.9], [1.2, 0.1, -0.3]]
private let referenceTable: [[Float]] = [[0.0, 0.5, 0.0], [0.1, 0.0, 0.4], [0.6, 0.2, 0.0]]

private func repositoryFile(_ path: String) -> String {
    TestModels.repositoryRoot.appendingPathComponent(path).path
}

private func tinyDecoder(seed: UInt64) throws -> DecoderAlignmentModel {
    let config = DecoderConfig(vocabularySize: ByteTokenizer.vocabularySize, hiddenSize: 32, layers: 2, heads: 4, kvHeads: 2,
                               headDim: 8, intermediateSize: 64, ropeBase: 10_000)
    return try DecoderAlignmentModel(policy: DecoderModel(config: config, seed: seed))
}

private func shippedPreferences(maxResponseTokens: Int = 48) throws -> [EncodedPreference] {
    let data = try Dataset.load(path: repositoryFile("data/samples/preferences.jsonl"))
    try data.requireKind([.preference])
    let format = ConversationFormat(tokenizer: ByteTokenizer(), template: nil, responseEnd: [Int(ByteTokenizer.endOfSequence)],
                                    maxPromptTokens: 64, maxResponseTokens: maxResponseTokens)
    return try data.examples.map(format.encode)
}

private func temporaryFolder() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("whet-align-\(UUID().uuidString)")
}

@Suite struct TokenLogProbTests {
    @Test func valuesAreLogSoftmaxAndGradientsMatchFiniteDifferences() throws {
        let logits = Parameter(name: "logits", value: try Tensor(shape: [3, 4], values: [0.3, -1, 2, 0.5, 1, 1, -0.2, 0, -2, 0.7, 0.1, 1.5]))
        let targets = [2, Graph.ignoreIndex, 3]
        let g = Graph(recording: false)
        let out = g.value(try g.targetLogProbs(logits: g.parameter(logits), targets: targets)).toArray()
        let rows = logits.value.toArray()
        #expect(abs(Double(out[0]) - logSoftmax(Array(rows[0..<4]), 2)) < 1e-6)
        #expect(out[1] == 0)
        #expect(abs(Double(out[2]) - logSoftmax(Array(rows[8..<12]), 3)) < 1e-6)
        let results = try GradientCheck.run(parameters: [logits]) { g in
            try g.targetLogProbs(logits: g.parameter(logits), targets: targets)
        }
        for r in results { #expect(r.relativeError < 1e-3, "\(r)") }
        let bad = Graph()
        let input = bad.input(logits.value)
        #expect(throws: TensorError.self) { try bad.targetLogProbs(logits: input, targets: [0, 9, 1]) }
    }

    @Test func batchMarksOnlyResponseTokens() throws {
        let batch = try ResponseBatch([PromptResponse(prompt: [5, 6], response: [7, 8]), PromptResponse(prompt: [5], response: [9])])
        #expect(batch.sequenceLength == 4)
        #expect(batch.tokens == [5, 6, 7, 8, 5, 9, 0, 0])
        let i = Graph.ignoreIndex
        #expect(batch.targets == [i, 7, 8, i, 9, i, i, i])
        #expect(batch.responseRows == [[1, 2], [4]])
        #expect(batch.lastRows == [3, 5])
    }
}

@Suite struct DPOTaskTests {
    @Test func lossAndGradientEqualTheHandComputedValueOnABigramModel() throws {
        let model = try BigramModel(table: policyTable, reference: referenceTable)
        let pair = EncodedPreference(chosen: PromptResponse(prompt: [0], response: [1, 2]),
                                     rejected: PromptResponse(prompt: [0], response: [2, 2]), line: 1)
        let beta = 0.5
        let task = try DPOTask(model: model, train: [pair],
                               settings: DPOSettings(beta: beta, pairsPerStep: 1, optimization: AlignmentOptimization(schedule: .constant(1e-3))))
        model.table.zeroGrad()
        let (result, _) = try task.accumulateGradients(indices: [0])

        // By hand: chosen 0→1→2, rejected 0→2→2.
        func logp(_ t: [[Float]], _ path: [Int]) -> Double { zip(path, path.dropFirst()).reduce(0) { $0 + logSoftmax(t[$1.0], $1.1) } }
        let pc = logp(policyTable, [0, 1, 2]), pr = logp(policyTable, [0, 2, 2])
        let rc = logp(referenceTable, [0, 1, 2]), rr = logp(referenceTable, [0, 2, 2])
        let h = (pc - rc) - (pr - rr)
        let loss = log(1 + exp(-beta * h))
        #expect(abs(result.loss - loss) < 1e-5)
        #expect(abs(result.metrics["rewards/chosen"]! - beta * (pc - rc)) < 1e-5)
        #expect(abs(result.metrics["rewards/rejected"]! - beta * (pr - rr)) < 1e-5)
        #expect(abs(result.metrics["logps/chosen"]! - pc) < 1e-5)
        #expect(abs(result.metrics["logps/rejected"]! - pr) < 1e-5)

        // ∂loss/∂h = −β σ(−βh); ∂log p(n | t)/∂W[t, j] = 1[j = n] − softmax(W[t])_j.
        let dh = -beta / (1 + exp(beta * h))
        var expected = [[Double]](repeating: [0, 0, 0], count: 3)
        for (path, sign) in [([0, 1, 2], 1.0), ([0, 2, 2], -1.0)] {
            for (t, n) in zip(path, path.dropFirst()) {
                let p = softmax(policyTable[t])
                for j in 0..<3 { expected[t][j] += sign * dh * ((j == n ? 1 : 0) - p[j]) }
            }
        }
        let grad = try #require(model.table.grad).toArray()
        for t in 0..<3 { for j in 0..<3 { #expect(abs(Double(grad[t * 3 + j]) - expected[t][j]) < 1e-5, "W[\(t),\(j)]") } }
    }

    @Test func gradientOnATinyTransformerMatchesFiniteDifferencesOfTheLoss() throws {
        let model = try tinyDecoder(seed: 5)
        // Move the policy away from the reference so the loss is not at its symmetric point.
        var generator = SeededGenerator(seed: 6)
        for p in model.policy.parameters where p.value.rank == 2 {
            for i in 0..<p.value.count { p.value.basePointer[i] += 0.05 * generator.nextNormal() }
        }
        let pairs = Array(try shippedPreferences(maxResponseTokens: 12).prefix(2))
        let task = try DPOTask(model: model, train: pairs,
                               settings: DPOSettings(beta: 0.5, pairsPerStep: 2, optimization: AlignmentOptimization(schedule: .constant(1e-3))))
        for p in model.trainableParameters { p.zeroGrad() }
        _ = try task.accumulateGradients(indices: [0, 1])
        let probe = try #require(model.policy.parameter("model.layers.1.mlp.down_proj.weight"))
        let analytic = try #require(probe.grad).toArray()
        let h: Float = 1e-2
        for index in [0, 17, 301, 777] {
            let original = probe.value.basePointer[index]
            probe.value.basePointer[index] = original + h
            let up = try task.evaluate(pairs).loss
            probe.value.basePointer[index] = original - h
            let down = try task.evaluate(pairs).loss
            probe.value.basePointer[index] = original
            let numeric = (up - down) / Double(2 * h)
            #expect(abs(numeric - Double(analytic[index])) < 2e-3 * max(1, abs(numeric)) + 1e-4, "element \(index): \(numeric) vs \(analytic[index])")
        }
    }

    @Test func atTheStartTheLossIsLn2AndTheRewardsZero() throws {
        let model = try tinyDecoder(seed: 7)
        let pairs = try shippedPreferences()
        let task = try DPOTask(model: model, train: pairs,
                               settings: DPOSettings(beta: 0.1, pairsPerStep: 4, optimization: AlignmentOptimization(schedule: .constant(1e-3))))
        let start = try task.evaluate(pairs)
        #expect(abs(start.loss - log(2)) < 1e-6)
        for key in ["rewards/chosen", "rewards/rejected", "rewards/margins"] { #expect(start.metrics[key] == 0) }
        let first = try task.trainStep(1)
        #expect(abs(first.loss - log(2)) < 1e-6)
        #expect(first.extra["rewards/margins"] == 0)
        for key in ["loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected"]
        where key != "loss" { #expect(first.extra[key] != nil, "\(key)") }
        #expect(first.extra["logps/chosen"]! < 0)
    }

    @Test func trainingRaisesAccuraciesAndMarginsAndResumesExactly() throws {
        let pairs = try shippedPreferences()
        let settings = DPOSettings(beta: 0.1, pairsPerStep: 4, optimization: AlignmentOptimization(schedule: .constant(3e-3)))
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try tinyDecoder(seed: 8)
        let task = try DPOTask(model: model, train: pairs, settings: settings)
        let runner = TrainingRunner(task: task, folder: folder, settings: RunSettings(totalSteps: 24, checkpointEvery: 12))
        try runner.run(resume: false) { _ in .proceed }
        let lines = try MetricsLog.read(runner.metricsURL)
        #expect(lines.count == 24)
        let after = try task.evaluate(pairs)
        #expect(after.metrics["rewards/accuracies"]! > 0.5)
        #expect(after.metrics["rewards/margins"]! > 0)
        #expect(after.loss < log(2))
        #expect(lines.last!.extra["rewards/margins"] != nil)

        // Resume from step 12 in a fresh process-like setting: same curve.
        let entries = try runner.checkpoints.entries()
        #expect(entries.map(\.state.step) == [12, 24])
        try FileManager.default.removeItem(at: entries[1].folder)
        let resumedModel = try tinyDecoder(seed: 8)
        let resumed = try DPOTask(model: resumedModel, train: pairs, settings: settings)
        let resumedRunner = TrainingRunner(task: resumed, folder: folder, settings: RunSettings(totalSteps: 24, checkpointEvery: 12))
        try resumedRunner.run(resume: true) { _ in .proceed }
        let resumedLines = try MetricsLog.read(resumedRunner.metricsURL)
        #expect(resumedLines.map(\.step) == Array(1...24))
        for (a, b) in zip(lines, resumedLines) { #expect(abs(a.loss - b.loss) < 1e-9, "step \(a.step)") }
    }
}

@Suite struct RewardModelTests {
    @Test func lossMatchesBradleyTerryOnHandMadeScores() throws {
        // Hidden state at the last token t is row t of the table; the head picks a weighted sum.
        let backbone = try BigramModel(table: policyTable, reference: referenceTable)
        let reward = ScalarRewardModel(backbone: backbone, seed: 1)
        reward.head.value = try Tensor(shape: [1, 3], values: [0.5, -1, 2])
        let pairs = [EncodedPreference(chosen: PromptResponse(prompt: [0], response: [1, 2]),
                                       rejected: PromptResponse(prompt: [0], response: [1]), line: 1),
                     EncodedPreference(chosen: PromptResponse(prompt: [1], response: [0]),
                                       rejected: PromptResponse(prompt: [1], response: [2, 2, 1]), line: 2)]
        func score(_ last: Int) -> Double { zip(policyTable[last], [0.5, -1.0, 2.0]).reduce(0) { $0 + Double($1.0) * $1.1 } }
        // Hand-made scores: chosen ends in 2 and 0, rejected in 1 and 1.
        let chosen = [score(2), score(0)], rejected = [score(1), score(1)]
        #expect(try reward.rewards(for: [pairs[0].chosen, pairs[0].rejected, pairs[1].chosen]).enumerated().allSatisfy {
            abs($0.element - [chosen[0], rejected[0], chosen[1]][$0.offset]) < 1e-5
        })
        let bt = (0..<2).map { -log(1 / (1 + exp(-(chosen[$0] - rejected[$0])))) }.reduce(0, +) / 2
        let task = try RewardModelTask(rewardModel: reward, train: pairs,
                                       settings: RewardModelSettings(pairsPerStep: 2, optimization: AlignmentOptimization(schedule: .constant(0.1), maxGradNorm: nil),
                                                                     totalSteps: 1, seed: 3))
        let headBefore = reward.head.value.toArray()
        let step = try task.trainStep(1)
        #expect(abs(step.loss - bt) < 1e-5)
        #expect(abs(step.extra["accuracy"]! - Double((0..<2).filter { chosen[$0] > rejected[$0] }.count) / 2) < 1e-12)
        // ∂loss/∂head = mean over pairs of −σ(−m)·(h_chosen − h_rejected), by hand.
        var expected = [0.0, 0.0, 0.0]
        for (c, r, i) in [(2, 1, 0), (0, 1, 1)] {
            let m = chosen[i] - rejected[i]
            for j in 0..<3 { expected[j] += -1 / (1 + exp(m)) * Double(policyTable[c][j] - policyTable[r][j]) / 2 }
        }
        let grad = try #require(reward.head.grad).toArray()
        for j in 0..<3 { #expect(abs(Double(grad[j]) - expected[j]) < 1e-5) }
        // The update moved the head against its gradient (Adam's first step: lr · sign).
        for j in 0..<3 { #expect(abs(Double(reward.head.value.toArray()[j] - headBefore[j]) + 0.1 * (expected[j] > 0 ? 1 : -1)) < 1e-4) }
    }

    @Test func tinyRewardModelLearnsThePreferences() throws {
        let data = try Dataset.load(path: repositoryFile("data/samples/preferences.jsonl"))
        let (trainExamples, heldExamples) = data.split(validationFraction: 0.25, seed: 1)
        let format = ConversationFormat(tokenizer: ByteTokenizer(), template: nil, responseEnd: [Int(ByteTokenizer.endOfSequence)],
                                        maxPromptTokens: 64, maxResponseTokens: 48)
        let train = try trainExamples.map(format.encode), held = try heldExamples.map(format.encode)
        let reward = ScalarRewardModel(backbone: try tinyDecoder(seed: 9), seed: 2)
        let task = try RewardModelTask(rewardModel: reward, train: train, validation: held,
                                       settings: RewardModelSettings(pairsPerStep: 4, optimization: AlignmentOptimization(schedule: .constant(3e-3)),
                                                                     totalSteps: 30, seed: 4))
        let before = try task.evaluate(train)
        let runner = TrainingRunner(task: task, folder: temporaryFolder(), settings: RunSettings(totalSteps: 30, checkpointEvery: 0))
        defer { try? FileManager.default.removeItem(at: runner.folder) }
        try runner.run(resume: false) { _ in .proceed }
        let after = try task.evaluate(train)
        #expect(after.loss < before.loss)
        #expect(after.accuracy > 0.8)
        let last = try #require(try MetricsLog.read(runner.metricsURL).last)
        #expect(last.extra["eval/accuracy"] != nil && last.validationLoss != nil)
    }
}

/// Rewards the share of response bytes below 128 (ASCII): a rule a random byte model meets about
/// half the time, so groups have spread and the policy gradient has something to follow.
final class AsciiShareReward: RewardFunction {
    func rewards(for items: [PromptResponse]) throws -> [Double] {
        items.map { item in Double(item.response.filter { $0 < 128 }.count) / Double(max(item.response.count, 1)) }
    }
}

@Suite struct GRPOTaskTests {
    @Test func raisesMeanRewardWithBoundedKLAndLogsTheFigures() throws {
        let model = try tinyDecoder(seed: 10)
        let format = ConversationFormat(tokenizer: ByteTokenizer(), template: nil, responseEnd: [Int(ByteTokenizer.endOfSequence)])
        let prompts = try ["Say something.", "Name a colour.", "Count to three."].map(format.promptTokens)
        let task = try GRPOTask(model: model, tokenizer: ByteTokenizer(), prompts: prompts, reward: AsciiShareReward(),
                                settings: GRPOSettings(groupSize: 6, promptsPerStep: 2, maxResponseTokens: 8, beta: 0.04,
                                                       optimization: AlignmentOptimization(schedule: .constant(1e-2)), seed: 5))
        let runner = TrainingRunner(task: task, folder: temporaryFolder(), settings: RunSettings(totalSteps: 30, checkpointEvery: 0))
        defer { try? FileManager.default.removeItem(at: runner.folder) }
        try runner.run(resume: false) { _ in .proceed }
        let lines = try MetricsLog.read(runner.metricsURL)
        let rewards = lines.map { $0.extra["reward"]! }
        let early = rewards.prefix(5).reduce(0, +) / 5, late = rewards.suffix(5).reduce(0, +) / 5
        #expect(late > early + 0.2, "reward \(early) → \(late)")
        #expect(lines.allSatisfy { ($0.extra["kl"] ?? .infinity) < 2 })
        #expect(lines.first!.extra["kl"]! < 1e-6) // the first samples come from the reference itself
        for key in ["reward", "reward_std", "kl", "completions/mean_length"] { #expect(lines.last!.extra[key] != nil, "\(key)") }
        #expect(task.lastSamples.count == 12 && task.lastSamples.allSatisfy { !$0.response.isEmpty && $0.response.count <= 9 })
    }
}

@Suite struct GemmaAlignmentTests {
    /// Gemma 3 270M with LoRA: the reference is the same model with the adapters off, so at step 1
    /// (B = 0) the DPO loss is ln 2 and the rewards 0; two more steps on the same pair open a margin.
    @Test(.enabled(if: TestModels.hasGemma)) func dpoOnGemmaStartsAtLn2AndOpensAMargin() throws {
        let url = try #require(try TestModels.gemma())
        let file = try GGUFFile(path: url.path)
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        let format = try ConversationFormat.chat(tokenizer: tokenizer, template: ChatTemplate(.gemma), maxResponseTokens: 24)
        let data = try Dataset.load(path: repositoryFile("data/samples/preferences.jsonl"))
        let pair = try format.encode(data.examples[1])
        let endOfTurn = try tokenizer.encode("<end_of_turn>", addBeginningOfSequence: false, parseSpecialTokens: true).map(Int.init)
        #expect(endOfTurn.count == 1 && pair.chosen.response.last == endOfTurn.first)
        let model = try Gemma3AlignmentModel(trainable: Gemma3TrainableModel(model: Gemma3Model(file: file), lora: LoRAConfiguration(rank: 8, alpha: 16, dropout: 0), seed: 1))
        let task = try DPOTask(model: model, train: [pair],
                               settings: DPOSettings(beta: 0.1, pairsPerStep: 1, optimization: AlignmentOptimization(schedule: .constant(2e-3))))
        let first = try task.trainStep(1)
        #expect(abs(first.loss - log(2)) < 1e-5)
        #expect(abs(first.extra["rewards/margins"]!) < 1e-6)
        #expect(first.extra["logps/chosen"]! < 0)
        _ = try task.trainStep(2)
        let after = try task.evaluate([pair])
        #expect(after.metrics["rewards/margins"]! > 0)
        #expect(after.loss < log(2))
    }
}
