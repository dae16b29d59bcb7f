import Foundation

/// Finds the real models for tests. Outside CI a missing model skips the test (the caller returns
/// early); with CI=true it is an error, so a broken set-up can never pass silently.
public enum TestModels {
    public struct MissingModel: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "CI=true but the model \(path) is missing; `make setup` installs it" }
    }

    /// Root of the checkout (the folder holding Package.swift), found from this source file.
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    public static var isCI: Bool {
        let v = ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? ""
        return v == "true" || v == "1" || v == "yes"
    }

    public static var modelsDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["WHET_MODELS_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        return repositoryRoot.appendingPathComponent("models", isDirectory: true)
    }

    /// Gemma 3 270M Q4_K_M, or nil (outside CI) when it is not installed.
    public static func gemma() throws -> URL? { try require("gemma-3-270m-q4_k_m.gguf") }

    /// all-MiniLM-L6-v2 folder, or nil (outside CI) when it is not installed.
    public static func miniLM() throws -> URL? { try require("all-MiniLM-L6-v2") }

    public static func require(_ name: String) throws -> URL? {
        let url = modelsDirectory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        if isCI { throw MissingModel(path: url.path) }
        FileHandle.standardError.write(Data("note: \(url.path) missing, test skipped (run `make setup`)\n".utf8))
        return nil
    }

    /// The release (or debug) `whet` binary built next to the tests, for command-line tests.
    public static func whetBinary() -> URL? {
        let root = repositoryRoot.appendingPathComponent(".build")
        for config in ["release", "debug"] {
            let url = root.appendingPathComponent(config).appendingPathComponent("whet")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }
}
