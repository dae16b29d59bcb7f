import Foundation

/// A text or Markdown file read for retrieval.
public struct Document: Sendable, Equatable {
    /// Path relative to the folder it was loaded from (the citation shown to the user).
    public let source: String
    public let text: String
    public let isMarkdown: Bool
}

public enum RetrievalError: Error, CustomStringConvertible, Equatable {
    case notAFolder(path: String)
    case noDocuments(path: String)
    case unreadable(path: String)
    case noIndex(path: String)
    case corruptIndex(path: String, reason: String)
    case modelMismatch(index: String, model: String)
    case invalidChunking(reason: String)

    public var description: String {
        switch self {
        case let .notAFolder(path): return "\(path) is not a folder; pass the folder of .txt / .md documents to index"
        case let .noDocuments(path): return "\(path) holds no .txt or .md files; add documents or pass another folder"
        case let .unreadable(path): return "cannot read \(path) as UTF-8 text; convert it or remove it from the folder"
        case let .noIndex(path): return "no retrieval index at \(path); build one with `whet rag index DIR`"
        case let .corruptIndex(path, reason): return "the retrieval index at \(path) is damaged (\(reason)); rebuild it with `whet rag index DIR`"
        case let .modelMismatch(index, model):
            return "the index was built with \(index) but the query model is \(model); use the same model or rebuild the index"
        case let .invalidChunking(reason): return "invalid chunking: \(reason)"
        }
    }
}

public enum DocumentLoader {
    public static let extensions: Set<String> = ["txt", "md", "markdown"]

    /// Every .txt / .md file under `folder` (recursively, hidden entries skipped), sorted by path.
    public static func load(folder: URL) throws -> [Document] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RetrievalError.notAFolder(path: folder.path)
        }
        let root = folder.standardizedFileURL.resolvingSymlinksInPath()
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else {
            throw RetrievalError.notAFolder(path: folder.path)
        }
        var documents: [Document] = []
        for case let url as URL in walker where extensions.contains(url.pathExtension.lowercased()) {
            let file = url.standardizedFileURL.resolvingSymlinksInPath()
            guard let data = try? Data(contentsOf: file), let text = String(data: data, encoding: .utf8) else {
                throw RetrievalError.unreadable(path: file.path)
            }
            var relative = file.path
            if relative.hasPrefix(root.path + "/") { relative.removeFirst(root.path.count + 1) }
            documents.append(Document(source: relative, text: text, isMarkdown: file.pathExtension.lowercased() != "txt"))
        }
        guard !documents.isEmpty else { throw RetrievalError.noDocuments(path: folder.path) }
        return documents.sorted { $0.source < $1.source }
    }
}
