import Foundation
import GRDB

/// A project: the unit the workbench opens (scope notes, prompts, datasets, runs, picks).
public struct Project: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "project"
    public var id: Int64?
    public var name: String
    public var createdAt: Date

    public init(id: Int64? = nil, name: String, createdAt: Date = Date()) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A Markdown scope note: the task, its inputs and outputs, success criteria, cost estimate.
public struct ScopeNote: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "scopeNote"
    public var id: Int64?
    public var projectId: Int64
    public var title: String
    public var body: String
    public var updatedAt: Date

    public init(id: Int64? = nil, projectId: Int64, title: String, body: String, updatedAt: Date = Date()) {
        self.id = id
        self.projectId = projectId
        self.title = title
        self.body = body
        self.updatedAt = updatedAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One saved version of a named prompt; `body` is the prompt file (JSON) as written by the generation layer.
public struct PromptVersion: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "promptVersion"
    public var id: Int64?
    public var projectId: Int64
    public var name: String
    public var version: Int
    public var body: String
    public var createdAt: Date

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A dataset file registered with a project (the file stays where it is; its hash detects edits).
public struct RegisteredDataset: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "dataset"
    public var id: Int64?
    public var projectId: Int64
    public var name: String
    public var path: String
    public var kind: String
    public var records: Int
    public var sha256: String
    public var registeredAt: Date

    public init(id: Int64? = nil, projectId: Int64, name: String, path: String, kind: String, records: Int,
                sha256: String, registeredAt: Date = Date()) {
        self.id = id
        self.projectId = projectId
        self.name = name
        self.path = path
        self.kind = kind
        self.records = records
        self.sha256 = sha256
        self.registeredAt = registeredAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

public enum RunStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case running, paused, completed, failed, cancelled
}

/// A training, evaluation or comparison run. `config` is the run's settings as JSON; artifacts live
/// in `runs/<id>/` of the workspace.
public struct Run: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "run"
    public var id: String
    public var projectId: Int64
    public var kind: String
    public var config: String
    public var status: RunStatus
    public var startedAt: Date
    public var endedAt: Date?
    public var error: String?

    public init(id: String, projectId: Int64, kind: String, config: String, status: RunStatus = .running,
                startedAt: Date = Date(), endedAt: Date? = nil, error: String? = nil) {
        self.id = id
        self.projectId = projectId
        self.kind = kind
        self.config = config
        self.status = status
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.error = error
    }
}

/// One point of a run's metric series (loss, val_loss, lr, reward, kl, …).
public struct MetricPoint: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "metric"
    public var runId: String
    public var name: String
    public var step: Int
    public var value: Double

    public init(runId: String, name: String, step: Int, value: Double) {
        self.runId = runId
        self.name = name
        self.step = step
        self.value = value
    }
}

/// A scored example of an evaluation run; `scores` maps metric name to value (JSON object).
public struct EvalResult: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "evalResult"
    public var id: Int64?
    public var runId: String
    public var exampleId: String
    public var prediction: String
    public var reference: String
    public var scores: String

    public init(id: Int64? = nil, runId: String, exampleId: String, prediction: String, reference: String, scores: String) {
        self.id = id
        self.runId = runId
        self.exampleId = exampleId
        self.prediction = prediction
        self.reference = reference
        self.scores = scores
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

public enum PreferenceChoice: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case a, b, tie
}

/// A human pick between two outputs for the same prompt (the Compare pane); exported as DPO data.
public struct PreferencePick: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "preferencePick"
    public var id: Int64?
    public var projectId: Int64
    public var prompt: String
    public var outputA: String
    public var outputB: String
    public var configA: String
    public var configB: String
    public var choice: PreferenceChoice
    public var note: String
    public var createdAt: Date
    /// The comparison run, input and configurations the pick was made on (nil for picks made
    /// outside a stored comparison).
    public var runId: String?
    public var inputIndex: Int?
    public var configIndexA: Int?
    public var configIndexB: Int?

    public init(id: Int64? = nil, projectId: Int64, prompt: String, outputA: String, outputB: String,
                configA: String, configB: String, choice: PreferenceChoice, note: String = "", createdAt: Date = Date()) {
        self.id = id
        self.projectId = projectId
        self.prompt = prompt
        self.outputA = outputA
        self.outputB = outputB
        self.configA = configA
        self.configB = configB
        self.choice = choice
        self.note = note
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
