import Foundation

/// Writes to standard error (progress, warnings, one-line errors); stdout is reserved for results.
enum FileHandleOutput {
    static func stderr(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
