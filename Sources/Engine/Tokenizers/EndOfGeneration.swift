/// The one list of tokens that end a generation besides EOS, found by their text as llama.cpp
/// does (its EOT / EOM detection): every tokenizer (SentencePiece, byte-level BPE, tokenizer.json)
/// uses it, so a model stops at the same token whichever file format it came in.
public enum EndOfGeneration {
    public static let tokenNames: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
        "<|end_of_text|>", "<end_of_utterance>", "<|fim_pad|>", "<|fim_repo|>", "<|repo_name|>", "<|file_sep|>",
    ]
}
