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
