import Foundation
import Server

/// Where the Deploy pane's server is.
public enum ServerStatus: Sendable, Equatable {
    case stopped
    case starting
    case running(DeployedServer)
    case stopping
    case failed(String)
}

/// Where the Deploy pane's export is.
public enum ExportStatus: Sendable, Equatable {
    case idle
    case running(folder: String)
    case finished(ExportResult)
    case failed(String)
}

/// What the Deploy pane shows: the server's status, request count and log; the export's status.
public struct DeployPaneState: Sendable, Equatable {
    public static let logLimit = 200
    public var server: ServerStatus = .stopped
    /// Requests the current (or last) server answered.
    public var requestCount = 0
    /// Its most recent log lines, oldest first.
    public var log: [ServerLogEntry] = []
    public var startJob: JobID?
    public var export: ExportStatus = .idle
    public var exportJob: JobID?

    public init() {}

    public var isServing: Bool {
        switch server {
        case .starting, .running, .stopping: return true
        case .stopped, .failed: return false
        }
    }

    public mutating func serverStarting(_ job: JobID) {
        server = .starting
        startJob = job
        requestCount = 0
        log = []
    }

    public mutating func apply(_ message: JobMessage) {
        if message.job == startJob {
            switch message.event {
            case let .serverStarted(info): server = .running(info)
            case let .serverLog(entry):
                if case .request = entry.kind { requestCount += 1 }
                log.append(entry)
                if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit) }
            case let .serverStopped(error): server = error.map { .failed($0) } ?? .stopped
            case let .jobEnded(_, .failed(reason)): server = .failed(reason)
            case .jobEnded:
                // The start job ended without a server (cancelled before listening).
                if server == .starting { server = .stopped }
            default: break
            }
        }
        if message.job == exportJob {
            switch message.event {
            case let .exported(result): export = .finished(result)
            case let .jobEnded(_, .failed(reason)): export = .failed(reason)
            case .jobEnded(_, .cancelled): export = .failed("cancelled")
            default: break
            }
        }
    }
}
