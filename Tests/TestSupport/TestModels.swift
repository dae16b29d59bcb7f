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

    /// For `@Test(.enabled(if: TestModels.hasGemma))`: a local run without the model reports the
    /// test as skipped; under CI=true it always runs, and `gemma()` throws for a missing model.
    public static var hasGemma: Bool { isCI || installed("gemma-3-270m-q4_k_m.gguf") }
    public static var hasMiniLM: Bool { isCI || installed("all-MiniLM-L6-v2") }

    static func installed(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: modelsDirectory.appendingPathComponent(name).path)
    }

    public static func require(_ name: String) throws -> URL? {
        let url = modelsDirectory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        if isCI { throw MissingModel(path: url.path) }
        FileHandle.standardError.write(Data("note: \(url.path) missing, test skipped (run `make setup`)\n".utf8))
        return nil
    }

    /// The `whet` binary built with the running tests (same build folder as the test executable),
    /// for command-line tests.
    public static func whetBinary() -> URL? {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var candidates = [exe.deletingLastPathComponent().appendingPathComponent("whet")]
        let root = repositoryRoot.appendingPathComponent(".build")
        candidates += ["release", "debug"].map { root.appendingPathComponent($0).appendingPathComponent("whet") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs `whet` with `arguments`; returns exit status, stdout and stderr.
    public static func runWhet(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        guard let binary = whetBinary() else {
            throw MissingModel(path: "whet binary (build it with swift build)")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain stderr on another thread so a chatty child can never block on a full pipe.
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        let errHandle = err.fileHandleForReading
        DispatchQueue.global().async {
            errBox.set(errHandle.readDataToEndOfFile())
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.get()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

private final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}
