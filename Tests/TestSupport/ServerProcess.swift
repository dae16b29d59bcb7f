import Foundation

/// A `whet serve` child process on a free loopback port, for tests that talk HTTP to the real
/// server. It is started with `--port 0 --json` and its startup line gives the URL; `stop()`
/// (or deinit) ends it with SIGTERM, then SIGKILL if it lingers.
public final class ServerProcess: @unchecked Sendable {
    public struct StartupFailed: Error, CustomStringConvertible {
        public let description: String
    }

    public let process: Process
    /// `http://127.0.0.1:PORT/v1`
    public let baseURL: String
    public let port: Int
    public let models: [String]
    private let stderrLog: URL

    /// Launches `whet serve --json --port 0` plus `arguments` and waits (up to `timeout` seconds)
    /// for its startup line.
    public init(arguments: [String], timeout: TimeInterval = 180) throws {
        guard let binary = TestModels.whetBinary() else {
            throw StartupFailed(description: "whet binary not built (swift build -c release --product whet)")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--json", "--host", "127.0.0.1", "--port", "0"] + arguments
        process.currentDirectoryURL = TestModels.repositoryRoot
        let out = Pipe()
        process.standardOutput = out
        stderrLog = FileManager.default.temporaryDirectory.appendingPathComponent("whet-serve-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: stderrLog.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: stderrLog)
        try process.run()
        self.process = process

        // Read stdout up to the first newline on another thread, so a silent child cannot hang us.
        let line = LineBox()
        let handle = out.fileHandleForReading
        Thread.detachNewThread {
            var bytes: [UInt8] = []
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                bytes.append(contentsOf: chunk)
                if bytes.contains(UInt8(ascii: "\n")) { break }
            }
            line.set(String(decoding: bytes, as: UTF8.self))
        }
        let deadline = Date().addingTimeInterval(timeout)
        while line.get() == nil, Date() < deadline, process.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        if line.get() == nil { Thread.sleep(forTimeInterval: 0.2) }
        let log = (try? String(contentsOf: stderrLog, encoding: .utf8)) ?? ""
        guard let text = line.get(), let data = text.split(separator: "\n").first.map({ Data($0.utf8) }),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let url = json["url"] as? String, let port = json["port"] as? Int else {
            if process.isRunning { process.terminate() }
            throw StartupFailed(description: "whet serve did not print its startup line; stderr: \(log)")
        }
        baseURL = url
        self.port = port
        models = json["models"] as? [String] ?? []
    }

    public var stderr: String { (try? String(contentsOf: stderrLog, encoding: .utf8)) ?? "" }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: stderrLog)
    }
}

/// Runs `python3 script arguments` from the checkout; returns exit status, stdout and stderr.
public func runPython(_ script: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", TestModels.repositoryRoot.appendingPathComponent(script).path] + arguments
    process.currentDirectoryURL = TestModels.repositoryRoot
    var environment = ProcessInfo.processInfo.environment
    // Loopback only: never route the test's requests through a proxy.
    environment["NO_PROXY"] = "127.0.0.1,localhost"
    environment["no_proxy"] = "127.0.0.1,localhost"
    process.environment = environment
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let errBox = LineBox()
    let errHandle = err.fileHandleForReading
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errBox.set(String(decoding: errHandle.readDataToEndOfFile(), as: UTF8.self))
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), errBox.get() ?? "")
}

private final class LineBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    func set(_ v: String) { lock.lock(); value = v; lock.unlock() }
    func get() -> String? { lock.lock(); defer { lock.unlock() }; return value }
}
