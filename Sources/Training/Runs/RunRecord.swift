import Foundation

/// What `run.json` in a run folder records: the method, model, data and the settings a resumed run
/// must repeat. Written at the start of a run by `whet train` and by the workbench's Train pane.
public struct RunRecord: Codable, Equatable, Sendable {
    public var method: String
    public var model: String?
    public var data: String
    public var arguments: [String: String]

    public static let fileName = "run.json"

    public init(method: String, model: String?, data: String, arguments: [String: String]) {
        self.method = method
        self.model = model
        self.data = data
        self.arguments = arguments
    }

    /// The record in `folder`, or nil when there is none (or it is unreadable).
    public static func read(from folder: URL) -> RunRecord? {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent(fileName)) else { return nil }
        return try? JSONDecoder().decode(RunRecord.self, from: data)
    }

    public func write(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try encoder.encode(self).write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }

    /// Names of the arguments that differ from `other` (sorted).
    public func changedArguments(comparedTo other: RunRecord) -> [String] {
        Set(arguments.keys).union(other.arguments.keys).filter { arguments[$0] != other.arguments[$0] }.sorted()
    }
}

/// Why a run cannot be resumed.
public enum ResumeError: Error, CustomStringConvertible, Equatable {
    case noRecord(path: String)
    case settingsChanged(folder: String, what: [String])

    public var description: String {
        switch self {
        case let .noRecord(path):
            return "\(path) is missing: resuming needs a run started (by whet train or the Train pane) in that folder; start a new run instead"
        case let .settingsChanged(folder, what):
            return "the run in \(folder) was started with different settings (\(what.joined(separator: ", "))); resume with the settings it was started with, or start a new run"
        }
    }
}

extension RunRecord {
    /// Settings a resumed run may change: the number of steps, to train on for longer.
    public static let changeableOnResume: Set<String> = ["steps"]

    /// The one resume rule of the command line and the workbench: the run in `folder` must have been
    /// started with this method, model, data and arguments (all but `changeableOnResume`). Returns
    /// the saved record.
    @discardableResult
    public func checkResume(in folder: URL) throws -> RunRecord {
        guard let saved = RunRecord.read(from: folder) else {
            throw ResumeError.noRecord(path: folder.appendingPathComponent(Self.fileName).path)
        }
        var changed = saved.changedArguments(comparedTo: self).filter { !Self.changeableOnResume.contains($0) }
        if saved.method != method { changed.append("method") }
        if saved.model != model { changed.append("model") }
        if saved.data != data { changed.append("data") }
        if !changed.isEmpty { throw ResumeError.settingsChanged(folder: folder.path, what: changed) }
        return saved
    }
}
