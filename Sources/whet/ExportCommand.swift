import ArgumentParser
import Engine
import Foundation

/// `whet export --merge`: a model with its LoRA adapter merged, as Hugging Face safetensors.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export merged weights (base model + LoRA adapter) as Hugging Face safetensors + config.json.",
        discussion: """
        whet export --merge --model M --adapter DIR --out OUT writes OUT/model.safetensors (the
        model family's Hugging Face names: LlamaForCausalLM, Qwen2/Qwen3ForCausalLM, Phi3ForCausalLM,
        Gemma2/Gemma3ForCausalLM; dequantized, adapter deltas merged) and OUT/config.json. Without
        --adapter the base model alone is exported. The tokenizer is not converted: use the base
        model's Hugging Face tokenizer files. Adapters themselves are already in PEFT layout
        (adapter_config.json + adapter_model.safetensors) as `whet train lora` writes them.
        """
    )

    @OptionGroup var output: OutputOptions
    @Flag(help: "Merge the adapter into the weights (the only export so far; required).")
    var merge = false
    @Option(help: "Base model: a .gguf path, a Hugging Face folder or an installed model name.")
    var model: String = ModelLocator.defaultModelName
    @Option(help: "PEFT LoRA adapter folder to merge (adapter_config.json + adapter_model.safetensors).")
    var adapter: String?
    @Option(help: "Output folder.")
    var out: String
    @Option(help: "Weight type in the file: bf16 (default), f16 or f32.")
    var dtype = "bf16"

    struct Report: Encodable {
        let folder: String
        let tensors: Int
        let parameters: Int
        let bytes: Int
        let dtype: String
        let adapter: String?
    }

    func run() throws {
        try reportingErrors {
            guard merge else { throw CommandFailure("pass --merge: merged weights are the export this command makes") }
            let type: SafetensorsWriter.DType
            switch dtype.lowercased() {
            case "bf16": type = .bf16
            case "f16": type = .f16
            case "f32": type = .f32
            default: throw CommandFailure("--dtype must be bf16, f16 or f32")
            }
            let url = try ModelLocator.locate(model)
            let folder = URL(fileURLWithPath: (out as NSString).expandingTildeInPath, isDirectory: true)
            CommandOutput.progress("export: merging \(adapter ?? "no adapter") into \(url.lastPathComponent) → \(folder.path)")
            let result = try ModelExport.mergedHuggingFace(model: url, adapter: adapter.map { URL(fileURLWithPath: $0) },
                                                          to: folder, dtype: type)
            let report = Report(folder: folder.path, tensors: result.tensors, parameters: result.parameters, bytes: result.bytes,
                                dtype: type.rawValue, adapter: adapter)
            if output.json { try CommandOutput.printJSON(report) } else {
                print("wrote \(result.tensors) tensors (\(result.parameters) parameters, \(result.bytes) bytes) to \(folder.path)")
            }
        }
    }
}
