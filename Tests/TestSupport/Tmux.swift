import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Drives a program inside a detached tmux session, as a person at a terminal would:
/// send keys, read the screen. Used by the end-to-end workbench tests.
public final class TmuxSession {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let name: String
    private var closed = false

    /// Starts `command` (run by the shell) in a new session of `width` × `height` cells.
    public init(command: String, width: Int = 120, height: Int = 40, environment: [String: String] = [:]) throws {
        name = "whet-test-\(UUID().uuidString.prefix(8))"
        var args = ["new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)"]
        for (k, v) in environment.sorted(by: { $0.key < $1.key }) { args += ["-e", "\(k)=\(v)"] }
        args.append(command)
        // Foundation's Process keeps a private pipe to notice the child's exit, and the tmux
        // server daemon forked by new-session would inherit it; start the server through the
        // shell instead so waiting ends when the client returns.
        let line = (["tmux"] + args).map(Self.shellQuoted).joined(separator: " ") + " </dev/null >/dev/null 2>&1"
        guard system(line) == 0 else { throw Failure(description: "could not start tmux: \(line)") }
    }

    static func shellQuoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    deinit { close() }

    @discardableResult
    static func tmux(_ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tmux"] + args
        // A file, not a pipe: the tmux server daemon inherits the descriptors and would hold a
        // pipe open for as long as the session lives.
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("whet-tmux-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL) }
        let handle = try FileHandle(forWritingTo: outURL)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try? handle.close()
        let text = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw Failure(description: "tmux \(args.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    public static var isAvailable: Bool { (try? tmux(["-V"])) != nil }

    /// Sends keys in tmux's notation ("Tab", "C-c", "Enter", "Left", or literal text with `literal: true`).
    public func send(_ keys: String..., literal: Bool = false) throws {
        try Self.tmux(["send-keys", "-t", name] + (literal ? ["-l"] : []) + keys)
    }

    /// The visible screen as text lines.
    public func capture() throws -> String {
        try Self.tmux(["capture-pane", "-p", "-t", name])
    }

    /// Waits until the screen contains `text`; returns the screen, or throws with the last screen.
    @discardableResult
    public func waitFor(_ text: String, timeout: TimeInterval = 10) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = (try? capture()) ?? screen
            if screen.contains(text) { return screen }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw Failure(description: "timed out after \(timeout) s waiting for \"\(text)\"; screen was:\n\(screen)")
    }

    /// A tmux format evaluated for the session's pane, e.g. "#{alternate_on}" (terminal modes the
    /// program left behind).
    public func display(_ format: String) throws -> String {
        try Self.tmux(["display-message", "-p", "-t", name, format]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether the session (its program) is still running.
    public var isRunning: Bool { (try? Self.tmux(["has-session", "-t", name])) != nil }

    public func close() {
        guard !closed else { return }
        closed = true
        _ = try? Self.tmux(["kill-session", "-t", name])
    }
}
