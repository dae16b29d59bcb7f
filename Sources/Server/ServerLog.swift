import Foundation
import Hummingbird
import Logging
import Synchronization

/// One line of a running server's log: a request it answered, or a message of the HTTP stack.
public struct ServerLogEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `seconds` is the time to the response head (a stream goes on after it).
        case request(method: String, path: String, status: Int, seconds: Double)
        case message(level: String, text: String)
    }
    public let date: Date
    public let kind: Kind
    public init(date: Date, kind: Kind) { self.date = date; self.kind = kind }
}

/// Counts a server's requests and hands every log entry to `onEntry` (the workbench's Deploy pane
/// shows them). With a log the server's own messages go here instead of stderr.
public final class ServerLog: Sendable {
    private let count = Atomic<Int>(0)
    private let onEntry: @Sendable (ServerLogEntry) -> Void

    public init(onEntry: @escaping @Sendable (ServerLogEntry) -> Void = { _ in }) {
        self.onEntry = onEntry
    }

    /// Requests answered so far (any status).
    public var requestCount: Int { count.load(ordering: .relaxed) }

    func record(_ kind: ServerLogEntry.Kind) {
        if case .request = kind { count.add(1, ordering: .relaxed) }
        onEntry(ServerLogEntry(date: Date(), kind: kind))
    }
}

/// Records every request's method, path, status and time to the response head.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: ServerLog
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        do {
            let response = try await next(request, context)
            log.record(.request(method: request.method.rawValue, path: request.uri.path, status: Int(response.status.code), seconds: seconds()))
            return response
        } catch let error as HTTPResponseError {
            log.record(.request(method: request.method.rawValue, path: request.uri.path, status: Int(error.status.code), seconds: seconds()))
            throw error
        } catch {
            log.record(.request(method: request.method.rawValue, path: request.uri.path, status: 500, seconds: seconds()))
            throw error
        }
    }
}

/// swift-log handler that writes into a `ServerLog` (so nothing reaches a terminal the workbench draws on).
struct ServerLogHandler: LogHandler {
    let log: ServerLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
             function: String, line: UInt) {
        log.record(.message(level: level.rawValue, text: message.description))
    }
}
