import ArgumentParser
import Foundation

/// Shared behaviour of every command: `--json` prints exactly one JSON object on stdout,
/// human-readable text otherwise; progress and errors go to stderr.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print exactly one JSON object on stdout (progress stays on stderr).")
    var json = false
}

enum CommandOutput {
    /// Prints `value` as one JSON object (sorted keys, no trailing data) on stdout.
    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf",
                                                                       negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// A progress or status line on stderr.
    static func progress(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// A one-line error for the user: what is wrong and what to do. Exits with status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

extension ParsableCommand {
    /// Runs `body`, turning any error into one line on stderr and exit code 1.
    func reportingErrors(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            CommandOutput.progress("whet: \(error)")
            throw ExitCode.failure
        }
    }
}
