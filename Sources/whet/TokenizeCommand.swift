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
        By default BOS is added (when the model asks for it) and special tokens written in the text,
        such as <start_of_turn>, are parsed into their ids; --no-bos and --no-special turn that off.
        Pieces show spaces as spaces; a byte token that is only part of a character shows as <0xNN>.
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
                throw CommandFailure("\(url.path) is a model folder; whet tokenize reads SentencePiece tokenizers "
                    + "from GGUF files, so pass a .gguf model")
            }
            let tokenizer = try SentencePieceTokenizer(gguf: GGUFFile(path: url.path))
            let ids = tokenizer.encode(text, addBOS: !noBOS && tokenizer.addBOSByDefault, parseSpecial: !noSpecial)
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

    /// The text a token stands for, special tokens by name; lone bytes of a multi-byte character
    /// (not printable by themselves) by their vocabulary name `<0xNN>`.
    static func displayPiece(_ id: Int32, _ tokenizer: SentencePieceTokenizer) -> String {
        let bytes = tokenizer.pieceBytes(id, renderSpecial: true)
        if tokenizer.tokenType(id) == .byte, let byte = bytes.first, byte >= 0x80 {
            return tokenizer.tokenText(id) ?? ""
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
