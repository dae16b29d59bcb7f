import Foundation

/// Resolves the `M` of the command line — a path to a model file or folder, or the name of an
/// installed model — to a file URL. Installed models live in `./models` of the checkout (or the
/// current directory) and in `$WHET_HOME/models` (default `~/.local/share/whetstone/models`).
public enum ModelLocator {
    public enum LocateError: Error, CustomStringConvertible, Equatable {
        case notFound(name: String, searched: [String])
        public var description: String {
            switch self {
            case let .notFound(name, searched):
                return "model '\(name)' not found (looked in \(searched.joined(separator: ", "))); "
                    + "pass a path to a .gguf file or model folder, or run `make setup` to install the default models"
            }
        }
    }

    /// The default generative model (installed by `make setup`).
    public static let defaultModelName = "gemma-3-270m-q4_k_m"
    /// The default embedding model (installed by `make setup`).
    public static let defaultEmbeddingModelName = "all-MiniLM-L6-v2"

    public static var whetHome: URL {
        if let home = ProcessInfo.processInfo.environment["WHET_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".local/share/whetstone", isDirectory: true)
    }

    /// Folders searched for installed models, in order.
    public static func searchDirectories(from workingDirectory: URL? = nil) -> [URL] {
        var dirs: [URL] = []
        if let models = ProcessInfo.processInfo.environment["WHET_MODELS_DIR"], !models.isEmpty {
            dirs.append(URL(fileURLWithPath: models, isDirectory: true))
        }
        let cwd = workingDirectory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        dirs.append(cwd.appendingPathComponent("models", isDirectory: true))
        dirs.append(whetHome.appendingPathComponent("models", isDirectory: true))
        return dirs
    }

    public static func locate(_ nameOrPath: String, from workingDirectory: URL? = nil) throws -> URL {
        let fm = FileManager.default
        let expanded = (nameOrPath as NSString).expandingTildeInPath
        if fm.fileExists(atPath: expanded) { return URL(fileURLWithPath: expanded) }
        let dirs = searchDirectories(from: workingDirectory)
        for dir in dirs {
            for candidate in [nameOrPath, nameOrPath + ".gguf"] {
                let url = dir.appendingPathComponent(candidate)
                if fm.fileExists(atPath: url.path) { return url }
            }
        }
        throw LocateError.notFound(name: nameOrPath, searched: dirs.map(\.path))
    }

    /// Every installed model (files ending in .gguf and folders with a config.json).
    public static func installed(from workingDirectory: URL? = nil) -> [URL] {
        let fm = FileManager.default
        var seen = Set<String>()
        var found: [URL] = []
        for dir in searchDirectories(from: workingDirectory) {
            guard let items = try? fm.contentsOfDirectory(at: dir.resolvingSymlinksInPath(), includingPropertiesForKeys: nil) else { continue }
            for item in items.sorted(by: { $0.lastPathComponent < $1.lastPathComponent }) {
                let isModel = item.pathExtension == "gguf"
                    || fm.fileExists(atPath: item.appendingPathComponent("config.json").path)
                if isModel, seen.insert(item.lastPathComponent).inserted { found.append(item) }
            }
        }
        return found
    }
}
