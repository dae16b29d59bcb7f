import Foundation
import GRDB

public enum WorkspaceError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case notFound(what: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open workspace \(path): \(reason); check the folder exists and is writable"
        case let .notFound(what):
            return "\(what) not found in this workspace; `whet runs list` shows what is there"
        case let .invalid(message):
            return message
        }
    }
}

/// A project folder on disk: `whet.sqlite` (WAL mode, every write a transaction) and `runs/<id>/`.
///
/// SQLite's journal makes each committed write durable and atomic: a process killed mid-write
/// leaves the database as it was after the last commit.
public final class WorkspaceStore: Sendable {
    public static let databaseFileName = "whet.sqlite"
    public let folder: URL
    let database: DatabasePool

    /// Opens (creating when needed) the workspace in `folder` and migrates it to the current schema.
    public init(folder: URL) throws {
        self.folder = folder
        do {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("runs"), withIntermediateDirectories: true)
            var config = Configuration()
            config.busyMode = .timeout(10)
            database = try DatabasePool(path: folder.appendingPathComponent(Self.databaseFileName).path, configuration: config)
            try Self.migrate(database)
        } catch {
            throw WorkspaceError.cannotOpen(path: folder.path, reason: "\(error)")
        }
    }

    /// The schema, one migration per change; never edit a shipped migration, add a new one.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-core") { db in
            try db.create(table: "project") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "scopeNote") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("project", onDelete: .cascade).notNull()
                t.column("title", .text).notNull()
                t.column("body", .text).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "promptVersion") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("project", onDelete: .cascade).notNull()
                t.column("name", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("body", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.uniqueKey(["projectId", "name", "version"])
            }
            try db.create(table: "dataset") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("project", onDelete: .cascade).notNull()
                t.column("name", .text).notNull()
                t.column("path", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("records", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("registeredAt", .datetime).notNull()
            }
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.belongsTo("project", onDelete: .cascade).notNull()
                t.column("kind", .text).notNull()
                t.column("config", .text).notNull()
                t.column("status", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("endedAt", .datetime)
                t.column("error", .text)
            }
            try db.create(table: "metric") { t in
                t.belongsTo("run", onDelete: .cascade).notNull()
                t.column("name", .text).notNull()
                t.column("step", .integer).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["runId", "name", "step"])
            }
            try db.create(table: "evalResult") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("run", onDelete: .cascade).notNull()
                t.column("exampleId", .text).notNull()
                t.column("prediction", .text).notNull()
                t.column("reference", .text).notNull()
                t.column("scores", .text).notNull()
            }
            try db.create(table: "preferencePick") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("project", onDelete: .cascade).notNull()
                t.column("prompt", .text).notNull()
                t.column("outputA", .text).notNull()
                t.column("outputB", .text).notNull()
                t.column("configA", .text).notNull()
                t.column("configB", .text).notNull()
                t.column("choice", .text).notNull()
                t.column("note", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
        }
        registerCompareMigration(&m)
        return m
    }

    /// Two processes opening a new workspace at once can both see a migration as pending; the
    /// loser's attempt fails on the winner's tables, and a second pass then finds it applied.
    static func migrate(_ database: DatabasePool) throws {
        var attempt = 0
        while true {
            do {
                try migrator.migrate(database)
                return
            } catch {
                attempt += 1
                if attempt >= 3 { throw error }
            }
        }
    }

    /// Names of the applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        try database.read { db in try Self.migrator.appliedMigrations(db) }
    }

    // MARK: projects and notes

    /// The project called `name`, created on first use.
    public func project(named name: String) throws -> Project {
        try database.write { db in
            if let existing = try Project.filter(Column("name") == name).fetchOne(db) { return existing }
            var p = Project(name: name)
            try p.insert(db)
            return p
        }
    }

    public func projects() throws -> [Project] {
        try database.read { db in try Project.order(Column("name")).fetchAll(db) }
    }

    /// Inserts or updates a scope note (matched by id).
    @discardableResult
    public func save(note: ScopeNote) throws -> ScopeNote {
        try database.write { db in
            var n = note
            n.updatedAt = Date()
            try n.save(db)
            return n
        }
    }

    public func notes(projectId: Int64) throws -> [ScopeNote] {
        try database.read { db in try ScopeNote.filter(Column("projectId") == projectId).order(Column("id")).fetchAll(db) }
    }

    // MARK: prompts

    /// Saves `body` as the next version of prompt `name` (versions start at 1).
    @discardableResult
    public func savePrompt(projectId: Int64, name: String, body: String) throws -> PromptVersion {
        try database.write { db in
            let last = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM promptVersion WHERE projectId = ? AND name = ?",
                                        arguments: [projectId, name]) ?? 0
            var v = PromptVersion(id: nil, projectId: projectId, name: name, version: last + 1, body: body, createdAt: Date())
            try v.insert(db)
            return v
        }
    }

    public func promptVersions(projectId: Int64, name: String) throws -> [PromptVersion] {
        try database.read { db in
            try PromptVersion.filter(Column("projectId") == projectId && Column("name") == name)
                .order(Column("version")).fetchAll(db)
        }
    }

    // MARK: datasets

    @discardableResult
    public func register(dataset: RegisteredDataset) throws -> RegisteredDataset {
        try database.write { db in
            var d = dataset
            try d.insert(db)
            return d
        }
    }

    public func datasets(projectId: Int64) throws -> [RegisteredDataset] {
        try database.read { db in try RegisteredDataset.filter(Column("projectId") == projectId).order(Column("id")).fetchAll(db) }
    }

    // MARK: runs

    /// Records a new run and creates its artifact folder `runs/<id>/`.
    @discardableResult
    public func startRun(projectId: Int64, kind: String, config: String, id: String? = nil) throws -> Run {
        let run = Run(id: id ?? Self.newRunID(kind: kind), projectId: projectId, kind: kind, config: config)
        try FileManager.default.createDirectory(at: runFolder(run.id), withIntermediateDirectories: true)
        try database.write { db in try run.insert(db) }
        return run
    }

    public func runFolder(_ id: String) -> URL { folder.appendingPathComponent("runs").appendingPathComponent(id) }

    public func setStatus(runId: String, _ status: RunStatus, error: String? = nil) throws {
        try database.write { db in
            guard var run = try Run.fetchOne(db, key: runId) else { throw WorkspaceError.notFound(what: "run \(runId)") }
            run.status = status
            run.error = error
            run.endedAt = (status == .running || status == .paused) ? nil : Date()
            try run.update(db)
        }
    }

    /// Appends metric points in one transaction (a step's worth at a time, typically).
    public func append(metrics: [MetricPoint]) throws {
        guard !metrics.isEmpty else { return }
        try database.write { db in
            for point in metrics { try point.upsert(db) }
        }
    }

    public func runs(projectId: Int64? = nil) throws -> [Run] {
        try database.read { db in
            var request = Run.order(Column("startedAt").desc)
            if let projectId { request = request.filter(Column("projectId") == projectId) }
            return try request.fetchAll(db)
        }
    }

    public func run(id: String) throws -> Run {
        guard let run = try database.read({ db in try Run.fetchOne(db, key: id) }) else {
            throw WorkspaceError.notFound(what: "run \(id)")
        }
        return run
    }

    /// The series of metric `name` for a run, by step.
    public func metricSeries(runId: String, name: String) throws -> [MetricPoint] {
        try database.read { db in
            try MetricPoint.filter(Column("runId") == runId && Column("name") == name).order(Column("step")).fetchAll(db)
        }
    }

    /// The metric names a run has recorded.
    public func metricNames(runId: String) throws -> [String] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT name FROM metric WHERE runId = ? ORDER BY name", arguments: [runId])
        }
    }

    // MARK: evaluation results

    public func append(evalResults: [EvalResult]) throws {
        try database.write { db in
            for var r in evalResults { try r.insert(db) }
        }
    }

    public func evalResults(runId: String) throws -> [EvalResult] {
        try database.read { db in try EvalResult.filter(Column("runId") == runId).order(Column("id")).fetchAll(db) }
    }

    // MARK: preference picks

    @discardableResult
    public func record(pick: PreferencePick) throws -> PreferencePick {
        try database.write { db in
            var p = pick
            try p.insert(db)
            return p
        }
    }

    public func picks(projectId: Int64) throws -> [PreferencePick] {
        try database.read { db in try PreferencePick.filter(Column("projectId") == projectId).order(Column("id")).fetchAll(db) }
    }

    /// Writes the decided picks (ties left out; only those of comparison `runId` when given) as DPO JSONL `{"prompt","chosen","rejected"}`,
    /// atomically. Returns the number of pairs written.
    @discardableResult
    public func exportPreferences(projectId: Int64, runId: String? = nil, to url: URL) throws -> Int {
        var lines: [String] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for pick in try picks(projectId: projectId) where pick.choice != .tie && (runId == nil || pick.runId == runId) {
            let (chosen, rejected) = pick.choice == .a ? (pick.outputA, pick.outputB) : (pick.outputB, pick.outputA)
            let data = try encoder.encode(["prompt": pick.prompt, "chosen": chosen, "rejected": rejected])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: url, options: .atomic)
        return lines.count
    }

    /// Checks the database file with SQLite's own integrity check.
    public func integrityCheck() throws -> Bool {
        try database.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok" }
    }

    static func newRunID(kind: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let suffix = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        return "\(kind)-\(formatter.string(from: Date()))-\(suffix)"
    }
}
