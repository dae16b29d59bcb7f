import ArgumentParser
import Engine
import Foundation

/// `whet models`: installed models and what each one is.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List installed models, or show one model's architecture, parameters and quantization.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Installed models (./models, $WHET_HOME/models).")
        @OptionGroup var output: OutputOptions

        struct Entry: Encodable {
            let name: String
            let path: String
            let architecture: String?
            let architecture_class: String?
            let parameters: Int?
            let file_bytes: Int?
            let error: String?
        }

        func run() throws {
            try reportingErrors {
                let entries = ModelLocator.installed().map { url -> Entry in
                    do {
                        let info = try ModelInfo.inspect(url)
                        return Entry(name: info.name, path: info.path, architecture: info.architecture,
                                     architecture_class: info.architectureClass.rawValue, parameters: info.parameters,
                                     file_bytes: info.fileBytes, error: nil)
                    } catch {
                        return Entry(name: url.lastPathComponent, path: url.path, architecture: nil, architecture_class: nil,
                                     parameters: nil, file_bytes: nil, error: "\(error)")
                    }
                }
                if output.json {
                    struct Listing: Encodable { let models: [Entry] }
                    try CommandOutput.printJSON(Listing(models: entries))
                    return
                }
                if entries.isEmpty { print("no models installed; run `make setup` or pass a path to a model") }
                for e in entries {
                    if let error = e.error {
                        print("\(e.name)  unreadable: \(error)")
                    } else {
                        print("\(e.name)  \(e.architecture ?? "?") (\(e.architecture_class ?? "?")), "
                              + "\(ModelsCommand.millions(e.parameters ?? 0)) parameters, \(ModelsCommand.mebibytes(e.file_bytes ?? 0))")
                    }
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Architecture, parameters, quantization, context and metadata of one model.")
        @Argument(help: "Model file, folder or installed name.")
        var model: String = ModelLocator.defaultModelName
        @OptionGroup var output: OutputOptions

        func run() throws {
            try reportingErrors {
                let info = try ModelInfo.inspect(ModelLocator.locate(model))
                if output.json {
                    try CommandOutput.printJSON(info)
                    return
                }
                print("\(info.name)  (\(info.path))")
                print("format:        \(info.format)")
                print("architecture:  \(info.architecture) (\(info.architectureClass.rawValue))")
                print("parameters:    \(ModelsCommand.millions(info.parameters)) (\(info.parameters))")
                let types = info.tensorTypes.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }
                print("tensor types:  \(types.joined(separator: ", "))")
                print("context:       \(info.contextLength.map(String.init) ?? "?") tokens")
                var memory = "file \(ModelsCommand.mebibytes(info.fileBytes))"
                if let perPosition = info.cacheBytesPerPosition {
                    memory += ", KV cache \(perPosition / 1024) KiB per position (fp32)"
                }
                print("memory:        \(memory)")
                print("metadata:")
                for key in info.metadata.keys.sorted() { print("  \(key) = \(info.metadata[key] ?? "")") }
            }
        }
    }

    static func millions(_ n: Int) -> String { String(format: "%.1fM", Double(n) / 1e6) }
    static func mebibytes(_ n: Int) -> String { String(format: "%.1f MiB", Double(n) / 1_048_576) }
}
