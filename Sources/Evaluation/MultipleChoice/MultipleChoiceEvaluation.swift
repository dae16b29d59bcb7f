import Engine
import Foundation

/// Multiple-choice accuracy of a model, scored as lm-evaluation-harness scores MMLU: for each
/// question a k-shot context (`MultipleChoicePrompt`), then the log-likelihood of each choice's
/// continuation (" A", " B", …); `acc` takes the most likely choice, `acc_norm` divides by the
/// continuation's length in characters first.
public struct MultipleChoiceEvaluation: Sendable {
    public var prompt: MultipleChoicePrompt
    /// Solved examples before each question (the harness's `num_fewshot`).
    public var shots: Int
    /// Put the model's beginning-of-sequence token first (Gemma needs it; the harness adds it for Gemma too).
    public var addBeginningOfSequence: Bool

    public init(prompt: MultipleChoicePrompt = MultipleChoicePrompt(), shots: Int = 5, addBeginningOfSequence: Bool = true) {
        self.prompt = prompt
        self.shots = shots
        self.addBeginningOfSequence = addBeginningOfSequence
    }

    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        /// Accuracy over the questions scored so far.
        public var accuracy: Double
        public var outcome: MultipleChoiceOutcome
    }

    /// The context and continuation token ids of one question, split as the harness's
    /// `_encode_pair` does: trailing spaces of the context move to every continuation, and a
    /// continuation is what `encode(context + continuation)` adds after `encode(context)`. The
    /// context is encoded once: it is the same text, so the same tokens, for every choice.
    public func encode(context: String, continuations: [String],
                       tokenizer: any TextTokenizer) throws -> (context: [Int32], continuations: [[Int32]]) {
        var context = context
        let trailing = context.reversed().prefix { $0 == " " }.count
        let moved = String(context.suffix(trailing))
        context.removeLast(trailing)
        let contextTokens = try tokenizer.encode(context, addBeginningOfSequence: addBeginningOfSequence, parseSpecialTokens: false)
        let continuationTokens = try continuations.map { answer -> [Int32] in
            let continuation = moved + answer
            let whole = try tokenizer.encode(context + continuation, addBeginningOfSequence: addBeginningOfSequence,
                                             parseSpecialTokens: false)
            let tokens = Array(whole.dropFirst(min(contextTokens.count, whole.count)))
            guard !tokens.isEmpty else {
                throw GenerationError.invalidConversation("the answer \"\(continuation)\" adds no token after the question")
            }
            return tokens
        }
        return (contextTokens, continuationTokens)
    }

    /// Scores `questions` in order. Few-shot examples come from `fewShotPool` (the dev split), or
    /// from the evaluated questions themselves when there is no dev split (the question is then
    /// left out of its own examples). `progress` is called after every question and may stop the run;
    /// what was scored is returned either way.
    public func evaluate(questions: [MultipleChoiceQuestion], fewShotPool: [MultipleChoiceQuestion]?,
                         generator: TextGenerator,
                         progress: (Progress) -> Directive = { _ in .proceed }) throws -> (outcomes: [MultipleChoiceOutcome], cancelled: Bool) {
        var outcomes: [MultipleChoiceOutcome] = []
        var correct = 0
        for q in questions {
            let pool = fewShotPool ?? questions
            let examples = MultipleChoicePrompt.fewShotExamples(for: q, from: pool, k: shots, poolIsEvaluatedSplit: fewShotPool == nil)
            let contextText = prompt.context(for: q, examples: examples, subject: q.subject)
            let continuations = prompt.continuations(for: q)
            guard !continuations.isEmpty else {
                throw MultipleChoiceError.malformed(LineProblem(path: "", line: q.line, reason: "the question has no choices"))
            }
            // One context for all choices: it runs once, and every answer is scored after it.
            let encoded = try encode(context: contextText, continuations: continuations, tokenizer: generator.tokenizer)
            let logLikelihoods = try generator.scoreContinuations(context: encoded.context, continuations: encoded.continuations)
                .map(\.logLikelihood)
            let choiceTexts = continuations.map { String($0.dropFirst()) }
            let outcome = MultipleChoiceScoring.outcome(for: q, logLikelihoods: logLikelihoods, choiceTexts: choiceTexts)
            outcomes.append(outcome)
            if outcome.correct { correct += 1 }
            let report = Progress(done: outcomes.count, total: questions.count,
                                  accuracy: Double(correct) / Double(outcomes.count), outcome: outcome)
            if progress(report) == .stop { return (outcomes, true) }
        }
        return (outcomes, false)
    }
}
