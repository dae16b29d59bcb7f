import Foundation
import TUI

/// The Deploy pane: what this build can do to ship a model — and, plainly, what it cannot yet.
public final class DeployPane: Pane {
    private let text = TextBlock()

    init(shell: WorkbenchShell) {
        super.init(title: "Deploy", shell: shell)
        body = Panel("Deploy", text)
    }

    override var focusables: [any View] { [] }

    public override func render(_ canvas: Canvas, _ context: RenderContext) {
        let model = shell.activeModel
        let name = model.map { $0.name } ?? "MODEL"
        text.paragraphs = [
            [Span("Serve an OpenAI-compatible API", .accent)],
            [Span("status ", .muted), Span("run it from a shell: the workbench does not start or stop the server yet", .warning)],
            [Span("  whet serve --model \(name) --host 127.0.0.1 --port 8080", .accent)],
            [Span("  (/v1/chat/completions, /v1/completions, /v1/models; see docs/server.md)", .muted)],
            [],
            [Span("Export adapters / merged weights", .accent)],
            [Span("A LoRA run (Train pane, or `whet train lora --out DIR`) saves a PEFT adapter and checkpoints in its run folder; "
                  + "`whet generate --adapter DIR` uses it and `whet export --merge` writes merged Hugging Face safetensors (docs/server.md).", .body)],
            [],
            [Span("What works today from the command line", .accent)],
            [Span("  whet generate --model \(name) --prompt TEXT      scripted generation (--json)", .body)],
            [Span("  whet chat --model \(name)                        an interactive chat in the terminal", .body)],
            [Span("  whet bench --model \(name)                       throughput on this machine", .body)],
        ]
        super.render(canvas, context)
    }
}
