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
            [Span("status ", .muted), Span("not available in this build", .warning)],
            [Span("The HTTP server (`whet serve`) is being built on branch `serve`; this build has no serve command, so the "
                  + "workbench cannot start or stop one. When it lands, the command will be:", .body)],
            [Span("  whet serve --model \(name) --host 127.0.0.1 --port 8080", .accent)],
            [],
            [Span("Export adapters / merged weights", .accent)],
            [Span("status ", .muted), Span("adapters: from the command line · merged weights: not available", .warning)],
            [Span("A LoRA run (Train pane, or `whet train lora --out DIR`) saves a PEFT adapter in DIR/adapter and checkpoints; "
                  + "`whet generate --adapter DIR/adapter` uses it. Merging an adapter into the weights is not available.", .body)],
            [],
            [Span("What works today", .accent)],
            [Span("  whet generate --model \(name) --prompt TEXT      scripted generation (--json)", .body)],
            [Span("  whet chat --model \(name)                        an interactive chat in the terminal", .body)],
            [Span("  whet bench --model \(name)                       throughput on this machine", .body)],
        ]
        super.render(canvas, context)
    }
}
