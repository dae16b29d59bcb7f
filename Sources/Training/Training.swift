/// Training loops (SFT, LoRA, QLoRA, DPO, reward model, RLHF), datasets, checkpoints and their
/// event stream. Builds on `Engine`; never imports a terminal module.
public enum TrainingModule {
    public static let summary = "Training loops: datasets, optimisers, checkpoints, run events"
}
