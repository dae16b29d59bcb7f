import ArgumentParser
import Engine

@main
struct Whet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whet",
        abstract: "Whetstone: a terminal workbench for the whole life of a generative-AI project.",
        discussion: """
        Run `whet` with no arguments to open the workbench. Every command takes --json and then
        prints exactly one JSON object on stdout; progress goes to stderr. Models are found by
        path, or by name in ./models and $WHET_HOME/models (default ~/.local/share/whetstone/models).
        """,
        version: WhetVersion.string,
        subcommands: [RunsCommand.self, EvalCommand.self, EmbedCommand.self, RagCommand.self, TokenizeCommand.self,
                      ModelsCommand.self, BenchCommand.self, GenerateCommand.self, PerplexityCommand.self, ChatCommand.self,
                      TrainCommand.self, ScoreCommand.self,
                      ServeCommand.self, CompareCommand.self, ExportCommand.self]
    )

    mutating func run() throws {
        // The workbench is not built yet: show what the command line offers instead of failing.
        print(Whet.helpMessage())
        CommandOutput.progress("whet: the terminal workbench is not available in this build yet; use the commands above.")
    }
}

enum WhetVersion {
    static let string = "0.1.0"
}
