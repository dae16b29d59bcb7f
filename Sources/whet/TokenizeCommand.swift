import ArgumentParser
import Engine
import Foundation

/// `whet tokenize`: token ids and pieces of a text under a model's tokenizer, as `llama-tokenize`
/// prints them. Only the model's metadata is read; its weights are not loaded.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show the token ids and pieces of TEXT under a model's tokenizer.",
        discussion: """
        Works on every GGUF tokenizer (SentencePiece and byte-level BPE) with llama-tokenize's rules:
        by default BOS (and EOS) are added when the model asks for them and special tokens written in
        the text, such as <start_of_turn>, are parsed into their ids; --no-bos and --no-special turn
        that off. Pieces show spaces as spaces; bytes that are only part of a character show as <0xNN>.
        """
    )

    @Option(name: .long, help: "Model: a .gguf path or the name of an installed model.")
    var model: String

    @Flag(name: .customLong("no-bos"), help: "Do not put the BOS token first.")
    var noBOS = false

    @Flag(name: .customLong("no-special"), help: "Treat special tokens written in TEXT as plain text.")
    var noSpecial = false

    @Argument(help: "The text to tokenize.")
    var text: String

    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let ids: [Int32]
        let pieces: [String]
    }

    func run() throws {
        try reportingErrors {
            let url = try ModelLocator.locate(model)
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
                throw CommandFailure("\(url.path) is a model folder; whet tokenize reads the tokenizer "
                    + "of GGUF files, so pass a .gguf model")
            }
            let tokenizer = try GGUFFile(path: url.path).tokenizer()
            let ids = tokenizer.encode(text, addSpecial: !noBOS, parseSpecial: !noSpecial)
            let pieces = ids.map { Self.displayPiece($0, tokenizer) }
            if output.json {
                try CommandOutput.printJSON(Result(ids: ids, pieces: pieces))
            } else {
                for (id, piece) in zip(ids, pieces) {
                    print("\(String(id).leftPadded(to: 6)) -> '\(piece)'")
                }
                CommandOutput.progress("\(ids.count) tokens")
            }
        }
    }

    /// The text a token stands for, special tokens by name; bytes that are only part of a
    /// multi-byte character (not printable by themselves) as `<0xNN>`.
    static func displayPiece(_ id: Int32, _ tokenizer: any GGUFTokenizer) -> String {
        let bytes = tokenizer.pieceBytes(id, renderSpecial: true)
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return bytes.map { "<0x" + String($0, radix: 16, uppercase: true).leftPadded(to: 2, with: "0") + ">" }.joined()
    }
}

private extension String {
    func leftPadded(to width: Int, with pad: Character = " ") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
