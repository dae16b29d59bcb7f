import ArgumentParser
import Engine

@main
struct Whet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whet",
        abstract: "Whetstone: a terminal workbench for the whole life of a generative-AI project.",
        discussion: """
        Run `whet` with no arguments to open the workbench: panes Scope, Models, Prompt, Train,
        Evaluate, Compare, Deploy (Tab / 1–7 switch, ? lists the keys, : the commands, q quits);
        --theme, --model, --workspace and --latency-log configure it. Every command takes --json
        and then prints exactly one JSON object on stdout; progress goes to stderr. Models are found by
        path, or by name in ./models and $WHET_HOME/models (default ~/.local/share/whetstone/models).
        """,
        version: WhetVersion.string,
        subcommands: [WorkbenchCommand.self, RunsCommand.self, EvalCommand.self, EmbedCommand.self, RagCommand.self, TokenizeCommand.self,
                      ModelsCommand.self, BenchCommand.self, GenerateCommand.self, PerplexityCommand.self, ChatCommand.self,
                      TrainCommand.self, ScoreCommand.self,
                      ServeCommand.self, CompareCommand.self, ExportCommand.self],
        defaultSubcommand: WorkbenchCommand.self
    )
}

enum WhetVersion {
    static let string = "0.1.0"
}
