import Foundation
import TUI
import Workspace

/// The Scope pane: Markdown notes on the task — inputs and outputs, success criteria, cost —
/// kept in the workspace store (`whet.sqlite`). Ctrl-S saves the note, Alt-N starts another one,
/// Alt-←/→ show the previous / next saved note.
public final class ScopePane: Pane {
    public private(set) var notes: [NoteSnapshot] = []
    public private(set) var current = NoteSnapshot(id: nil, title: "Task", body: ScopePane.template, updatedAt: nil)
    let titleField = TextEditor(placeholder: "Note title", singleLine: true)
    let bodyEditor = TextEditor(placeholder: "Markdown notes")
    private let info = TextBlock()
    private let bodyPanel: Panel
    private var dirty = false
    private var loaded = false

    static let template = """
    # Task
    What should the model do, for whom?

    ## Inputs and outputs
    - input:
    - output:

    ## Success criteria
    - metric and threshold (e.g. ROUGE-L ≥ 0.4 on the held-out set)

    ## Cost
    - tokens per request, requests per day, hardware
    """

    init(shell: WorkbenchShell) {
        bodyPanel = Panel("Note", bodyEditor)
        super.init(title: "Scope", shell: shell)
        titleField.setText(current.title)
        bodyEditor.setText(current.body)
        bodyEditor.moveCursor(to: TextEditor.Position(line: 0, column: 0))
        titleField.onChange = { [weak self] _ in self?.dirty = true }
        bodyEditor.onChange = { [weak self] _ in self?.dirty = true }
        let left = Split(.vertical, [(.fixed(3), Panel("Title", titleField)), (.weight(1), bodyPanel)])
        body = Split(.horizontal, [(.weight(3), left), (.weight(1), Panel("Notes", info))])
    }

    override var focusables: [any View] { [titleField, bodyEditor] }
    override var paneHints: [KeyHint] { [KeyHint("Ctrl-S", "save note"), KeyHint("Alt-N", "new note"), KeyHint("Alt-←→", "other note")] }
    override var commands: [PaletteCommand] {
        [PaletteCommand("scope save", detail: "save the note to the workspace") { [weak self] in self?.save() },
         PaletteCommand("scope new note", detail: "start another note") { [weak self] in self?.newNote() }]
    }

    override func didAppear() {
        guard !loaded, let folder = shell.configuration.workspace else { return }
        loaded = true
        // Reading never creates a workspace: only saving does.
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(WorkspaceStore.databaseFileName).path) else { return }
        let project = shell.configuration.projectName
        shell.jobs.start(.io, title: "read notes") { ctx in
            let store = try WorkspaceStore(folder: folder)
            let id = try store.project(named: project).id ?? 0
            ctx.post(.notesLoaded(try store.notes(projectId: id).map { NoteSnapshot(id: $0.id, title: $0.title, body: $0.body, updatedAt: $0.updatedAt) }))
        }
    }

    override func handlePaneKey(_ key: KeyEvent) -> EventResult {
        switch (key.key, key.modifiers) {
        case (.character("s"), .control): save()
        case (.character("n"), .alt): newNote()
        case (.left, .alt): show(offset: -1)
        case (.right, .alt): show(offset: 1)
        default: return .ignored
        }
        return .handled
    }

    func save() {
        guard let folder = shell.configuration.workspace else {
            shell.app.toast("No workspace: start whet with --workspace DIR (or from the project folder) to save notes")
            return
        }
        var note = current
        note.title = titleField.text.isEmpty ? "Untitled" : titleField.text
        note.body = bodyEditor.text
        let toSave = note
        let project = shell.configuration.projectName
        shell.jobs.start(.io, title: "save note") { ctx in
            let store = try WorkspaceStore(folder: folder)
            let projectId = try store.project(named: project).id ?? 0
            let saved = try store.save(note: ScopeNote(id: toSave.id, projectId: projectId, title: toSave.title, body: toSave.body))
            ctx.post(.noteSaved(NoteSnapshot(id: saved.id, title: saved.title, body: saved.body, updatedAt: saved.updatedAt)))
        }
    }

    func newNote() {
        current = NoteSnapshot(id: nil, title: "Note \(notes.count + 1)", body: "", updatedAt: nil)
        titleField.setText(current.title)
        bodyEditor.setText("")
        dirty = false
        shell.app.focus(titleField)
    }

    private func show(offset: Int) {
        guard !notes.isEmpty else { return }
        let i = notes.firstIndex { $0.id == current.id && current.id != nil } ?? (offset > 0 ? -1 : notes.count)
        let n = notes[min(max(0, i + offset), notes.count - 1)]
        current = n
        titleField.setText(n.title)
        bodyEditor.setText(n.body)
        dirty = false
    }

    override func receive(_ message: JobMessage) {
        switch message.event {
        case let .notesLoaded(list):
            notes = list
            if let first = list.first, current.id == nil, !dirty {
                current = first
                titleField.setText(first.title)
                bodyEditor.setText(first.body)
                dirty = false
            }
        case let .noteSaved(note):
            current = note
            if let i = notes.firstIndex(where: { $0.id == note.id }) { notes[i] = note } else { notes.append(note) }
            dirty = false
            shell.app.toast("Saved \"\(note.title)\"", kind: .success, seconds: 2)
        case let .jobEnded(.io, .failed(reason)) where reason.contains("whet.sqlite") || reason.contains("workspace"):
            shell.app.toast("Workspace: \(reason)")
        default: break
        }
    }

    public override func render(_ canvas: Canvas, _ context: RenderContext) {
        bodyPanel.status = dirty ? "modified · Ctrl-S saves" : (current.id == nil ? "not saved" : "saved")
        var lines: [[Span]] = []
        if let ws = shell.configuration.workspace {
            lines.append([Span("workspace ", .muted), Span(ws.path, .body)])
        } else {
            lines.append([Span("no workspace: notes cannot be saved", .warning)])
        }
        lines.append([])
        if notes.isEmpty { lines.append([Span("no saved notes yet", .muted)]) }
        for n in notes {
            let mark = n.id == current.id ? "▸ " : "  "
            lines.append([Span(mark + n.title, n.id == current.id ? .accent : .body)])
        }
        info.paragraphs = lines
        super.render(canvas, context)
    }
}
