import ArgumentParser
import Engine
import Foundation
import TUI
import TUICurses
import Workbench

/// Flags of `whet` without a subcommand: they configure the workbench it opens.
struct WorkbenchOptions: ParsableArguments {
    @Option(help: "Theme of the workbench: a name from themes/ (default, light, high-contrast, gruvbox, …).")
    var theme: String = "default"
    @Option(help: "Model the workbench opens at start (path or installed name).")
    var model: String = ModelLocator.defaultModelName
    @Option(help: "Workspace folder for notes and preference picks (default: $WHET_WORKSPACE or the current folder).")
    var workspace: String?
    @Option(name: .customLong("latency-log"), help: "Debug: append the key-to-screen latency of every answered key (ms) to this file.")
    var latencyLog: String?

    /// Opens the workbench on the terminal and runs it until the user quits.
    func openWorkbench() throws {
        let themes = ThemeLibrary.standard()
        let chosen: Theme
        do { chosen = try themes.load(theme) } catch { throw CommandFailure("\(error)") }
        let folder: URL
        if let workspace { folder = URL(fileURLWithPath: (workspace as NSString).expandingTildeInPath, isDirectory: true) }
        else if let env = ProcessInfo.processInfo.environment["WHET_WORKSPACE"], !env.isEmpty { folder = URL(fileURLWithPath: env, isDirectory: true) }
        else { folder = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true) }
        let backend: CursesBackend
        do { backend = try CursesBackend() } catch { throw CommandFailure("\(error)") }
        let configuration = WorkbenchConfiguration(
            modelName: model, workspace: folder, themes: themes,
            latencyLog: latencyLog.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) })
        let shell = WorkbenchShell(backend: backend, configuration: configuration, theme: chosen)
        shell.run()
        backend.shutdown()
        if !shell.jobs.activeJobs.isEmpty {
            CommandOutput.progress("waiting for running jobs to stop (a training run saves a checkpoint of its last step; resume it from the Train pane)…")
            if !shell.jobs.waitUntilIdle(timeout: 180) {
                CommandOutput.progress("gave up after 180 s; the run's last periodic checkpoint remains")
            }
        }
        if let log = shell.latency {
            CommandOutput.progress("key-to-screen latency: \(LatencyLog.summary(log.samples)); while training: \(LatencyLog.summary(log.samplesWhileTraining))")
        }
    }
}

/// `whet` with no command (or `whet workbench`): the terminal workbench. It is the default
/// subcommand rather than options of `whet` itself, so that `--model` or `--workspace` after another
/// command's name stay that command's options.
struct WorkbenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workbench",
        abstract: "Open the terminal workbench (what `whet` with no command does)."
    )

    @OptionGroup var options: WorkbenchOptions

    func run() throws {
        try reportingErrors { try options.openWorkbench() }
    }
}
