// swift-tools-version:6.0
import PackageDescription

// Module rule (see docs/architecture.md): arrows point down only.
// whet → Workbench → {TUI, Training, Evaluation, Comparison, ...} → Engine → {CBLAS, CKernels}
// Only TUICurses imports CNCurses; the engine never imports a terminal module.

let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "Whetstone",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "whet", targets: ["whet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        // ncursesw's pkg-config adds -D flags SwiftPM refuses; the headers sit on the default path.
        .systemLibrary(name: "CNCurses", path: "Sources/CNCurses"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"])]),
        .target(name: "Engine", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimize),
        .target(name: "Training", dependencies: ["Engine"], swiftSettings: optimize),
        .target(name: "Evaluation", dependencies: ["Engine"], swiftSettings: optimize),
        .target(name: "Retrieval", dependencies: ["Engine"], swiftSettings: optimize),
        .target(name: "Workspace", dependencies: ["Engine", .product(name: "GRDB", package: "GRDB.swift")]),
        // Runs configurations side by side and stores the outputs: above the store and the engine.
        .target(name: "Comparison", dependencies: ["Engine", "Workspace"]),
        .target(name: "Server", dependencies: ["Engine", .product(name: "Hummingbird", package: "hummingbird")]),
        .target(name: "TUI"),
        .target(name: "TUICurses", dependencies: ["TUI", "CNCurses"]),
        .target(name: "TUITesting", dependencies: ["TUI"]),
        .target(name: "Workbench", dependencies: ["TUI", "Engine", "Training", "Evaluation", "Workspace", "Comparison", "Retrieval", "Server"]),
        .executableTarget(name: "whet", dependencies: [
            "Engine", "Training", "Evaluation", "Workspace", "Comparison", "Server", "Workbench", "TUI", "TUICurses", "Retrieval",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Engine", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Engine", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "Engine", "TestSupport"]),
        .testTarget(name: "WorkspaceTests", dependencies: ["Workspace", "Comparison", "Training", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Engine", "TestSupport",
                                                        .product(name: "HummingbirdTesting", package: "hummingbird")]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "TUITesting", "TestSupport"]),
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "Server", "TUI", "TUITesting", "TestSupport"], exclude: ["Snapshots"]),
    ],
    swiftLanguageModes: [.v6]
)
