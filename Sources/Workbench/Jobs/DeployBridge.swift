import Engine
import Foundation
import Server

/// A server the Deploy pane started, as the pane shows it.
public struct DeployedServer: Sendable, Equatable {
    public var url: String
    public var port: Int
    public var models: [String]
    public var sessions: Int
}

/// What a finished export wrote.
public struct ExportResult: Sendable, Equatable {
    public var folder: String
    public var tensors: Int
    public var parameters: Int
    public var bytes: Int
}

/// The HTTP server the Deploy pane starts and stops: `whet serve`'s `RunningServer`, in this
/// process, over its own copy of the active model (so server requests never queue behind, or
/// evict the prompt cache of, the Prompt pane's generations). Started and stopped on job queues;
/// `stopNow` is for quitting.
// @unchecked Sendable: its mutable fields are touched only inside `lock.withLock`.
public final class ServerHost: @unchecked Sendable {
    private let lock = NSLock()
    private var running: RunningServer?

    public init() {}

    public var server: RunningServer? { lock.withLock { running } }

    /// Opens `modelPath`, starts serving it and posts `.serverStarted`; then every request and
    /// server message as `.serverLog`, and `.serverStopped` when it ends (stopped or failed).
    public func start(modelPath: String, settings: ServeSettings, context ctx: JobContext) throws {
        guard server == nil else { return }
        let model = try LoadedTextModel.open(URL(fileURLWithPath: modelPath))
        if ctx.isCancelled { return }
        let log = ServerLog { entry in ctx.post(.serverLog(entry)) }
        let started = try RunningServer.start(textModel: model, settings: settings, log: log, handleSignals: false) { note in
            ctx.post(.serverLog(ServerLogEntry(date: Date(), kind: .message(level: "notice", text: note))))
        }
        lock.withLock { running = started }
        ctx.post(.serverStarted(DeployedServer(url: started.url, port: started.port, models: started.models, sessions: started.sessions)))
        // One watcher reports the end, whether `stop` asked for it or the server failed.
        Thread.detachNewThread { [weak self] in
            let error = started.wait()
            self?.forget(started)
            ctx.post(.serverStopped(error: error.map { "\($0)" }))
        }
    }

    private func forget(_ server: RunningServer) {
        lock.withLock { if running === server { running = nil } }
    }

    /// Stops the server (waits up to `timeout` seconds for it to close); false if it did not end in time.
    @discardableResult
    public func stopNow(timeout: Double = 5) -> Bool {
        guard let server else { return true }
        return server.stop(timeout: timeout)
    }
}

public enum ExportWork {
    /// `whet export --merge`: the model with `adapter` merged, as Hugging Face safetensors + config.json in `folder`.
    public static func run(model: String, adapter: String?, folder: URL, dtype: SafetensorsWriter.DType, context ctx: JobContext) throws {
        let url = try ModelLocator.locate(model)
        let result = try ModelExport.mergedHuggingFace(model: url, adapter: adapter.map { URL(fileURLWithPath: $0) }, to: folder, dtype: dtype)
        ctx.post(.exported(ExportResult(folder: folder.path, tensors: result.tensors, parameters: result.parameters, bytes: result.bytes)))
    }
}
