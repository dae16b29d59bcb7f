import Foundation

/// What the runner itself needs to continue: where it was, how long it had run, its best validation loss.
public struct TrainerState: Sendable, Equatable, Codable {
    public var step: Int
    public var elapsedSeconds: Double
    public var bestValidationLoss: Double?

    public init(step: Int, elapsedSeconds: Double, bestValidationLoss: Double?) {
        self.step = step
        self.elapsedSeconds = elapsedSeconds
        self.bestValidationLoss = bestValidationLoss
    }
}

/// Checkpoint folders `step-NNNNNNNN/` under one directory. Each is written to a hidden temporary
/// folder and renamed into place, so a crash never leaves a half-written checkpoint that looks valid.
public struct CheckpointStore: Sendable {
    public static let stateFile = "trainer_state.json"
    public let folder: URL

    public init(folder: URL) { self.folder = folder }

    public struct Entry: Sendable {
        public let folder: URL
        public let state: TrainerState
    }

    static func name(for step: Int) -> String { "step-" + String(format: "%08d", step) }

    /// Writes a checkpoint: `writeFiles` fills the temporary folder, then it is renamed into place.
    @discardableResult
    public func write(state: TrainerState, writeFiles: (URL) throws -> Void) throws -> URL {
        let fm = FileManager.default
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let temp = folder.appendingPathComponent(".tmp-\(Self.name(for: state.step))-\(UUID().uuidString)")
        try fm.createDirectory(at: temp, withIntermediateDirectories: true)
        do {
            try writeFiles(temp)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try encoder.encode(state).write(to: temp.appendingPathComponent(Self.stateFile), options: .atomic)
            let final = folder.appendingPathComponent(Self.name(for: state.step))
            if fm.fileExists(atPath: final.path) { try fm.removeItem(at: final) }
            try fm.moveItem(at: temp, to: final)
            return final
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
    }

    /// Complete checkpoints, oldest first (temporary leftovers of a crash are ignored).
    public func entries() throws -> [Entry] {
        let fm = FileManager.default
        guard let items = try? fm.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil) else { return [] }
        var out: [Entry] = []
        for item in items where item.lastPathComponent.hasPrefix("step-") {
            let stateURL = item.appendingPathComponent(Self.stateFile)
            guard let data = try? Data(contentsOf: stateURL) else { continue }
            do {
                out.append(Entry(folder: item, state: try JSONDecoder().decode(TrainerState.self, from: data)))
            } catch {
                throw RunError.checkpointUnreadable(path: item.path, reason: "\(error)")
            }
        }
        return out.sorted { $0.state.step < $1.state.step }
    }

    public func latest() throws -> Entry? { try entries().last }

    /// Removes all but the newest `count` checkpoints and any temporary leftovers.
    public func prune(keeping count: Int) throws {
        let fm = FileManager.default
        let all = try entries()
        for entry in all.dropLast(max(1, count)) { try fm.removeItem(at: entry.folder) }
        if let items = try? fm.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil) {
            for item in items where item.lastPathComponent.hasPrefix(".tmp-") { try? fm.removeItem(at: item) }
        }
    }

    public func removeAll() throws {
        if FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
    }
}
