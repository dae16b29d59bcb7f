/// Text metrics (ROUGE, BLEU, chrF, exact match), perplexity, multiple-choice scoring and eval runs.
/// Builds on `Engine`; never imports a terminal module.
public enum EvaluationModule {
    public static let summary = "Evaluation: text metrics, perplexity, multiple choice, eval runs"
}
