import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Server
import Testing
import TestSupport
import TUI
@testable import Workbench

@Suite struct DeployPaneTests {
    /// A fixed local time today, so the log's clock column is the same in every time zone.
    static func at(_ h: Int, _ m: Int, _ s: Int) -> Date {
        var c = Calendar.current.dateComponents([.year, .month, .day], from: Date())
        c.hour = h; c.minute = m; c.second = s
        return Calendar.current.date(from: c) ?? Date()
    }

    /// The pane's look with a listening server and a few log lines. The events are injected (this
    /// is a rendering test; `startStopServesARealRequest` runs the real server).
    @Test(arguments: zip([120, 80], [40, 24]))
    func runningServerSnapshots(width: Int, height: Int) {
        let d = ShellDriver(width: width, height: height)
        d.shell.select(pane: 6)
        d.settle()
        let deploy = d.shell.deploy!
        let job = JobID(raw: 9999)
        deploy.state.serverStarting(job)
        let events: [WorkbenchEvent] = [
            .serverStarted(DeployedServer(url: "http://127.0.0.1:8080/v1", port: 8080, models: ["gemma-3-270m-q4_k_m", "all-MiniLM-L6-v2"],
                                          sessions: 1)),
            .serverLog(ServerLogEntry(date: Self.at(12, 0, 5), kind: .request(method: "GET", path: "/v1/models", status: 200, seconds: 0.004))),
            .serverLog(ServerLogEntry(date: Self.at(12, 0, 9), kind: .request(method: "POST", path: "/v1/chat/completions", status: 200, seconds: 1.52))),
            .serverLog(ServerLogEntry(date: Self.at(12, 1, 0), kind: .request(method: "POST", path: "/v1/completions", status: 400, seconds: 0.001))),
        ]
        for e in events { deploy.receive(JobMessage(job: job, event: e)) }
        d.settle()
        #expect(deploy.state.requestCount == 3)
        #expect(deploy.activeJobDescription == "the server on http://127.0.0.1:8080/v1")
        expectMatchesSnapshot(d.text, "deploy-running-\(width)x\(height)")
    }

    @Test func startWithoutAModelOrWithABadPortSaysWhy() {
        let d = ShellDriver()
        d.shell.select(pane: 6)
        d.settle()
        d.press(.character("r"), .control)
        #expect(d.text.contains("no model is open yet"))
        #expect(!d.shell.deploy.state.isServing)
        d.press(.character("w"), .control)
        #expect(d.shell.deploy.state.export == .failed(WorkbenchError.noModel.description))
    }

    /// Starts the server from the pane on the real model, sends one short completion over HTTP,
    /// sees it counted and logged, stops the server and finds the port closed.
    @Test(.enabled(if: TestModels.hasGemma)) func startStopServesARealRequest() async throws {
        let gemma = try #require(try TestModels.gemma())
        let d = ShellDriver(modelName: gemma.path)
        check(41, d.wait { d.shell.activeModel != nil })
        d.shell.select(pane: 6)
        d.settle()
        let deploy = d.shell.deploy!
        deploy.portField.setText("0")
        deploy.settings.embeddingModel = "none"
        deploy.startServer()
        check(42, d.wait(timeout: 120) { if case .running = deploy.state.server { return true }; return !deploy.state.isServing },
              "\(deploy.state.server)")
        guard case let .running(info) = deploy.state.server else { return }
        check(43, info.port > 0 && info.models == [gemma.deletingPathExtension().lastPathComponent])
        check(44, d.text.contains(info.url), d.text)

        var request = URLRequest(url: try #require(URL(string: info.url + "/completions")))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "model": info.models[0], "prompt": "The capital of France is", "max_tokens": 4, "temperature": 0])
        let (data, response) = try await URLSession.shared.data(for: request)
        check(45, (response as? HTTPURLResponse)?.statusCode == 200, String(decoding: data, as: UTF8.self))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let choice = (json?["choices"] as? [[String: Any]])?.first
        check(46, !((choice?["text"] as? String) ?? "").isEmpty, String(decoding: data, as: UTF8.self))

        check(47, d.wait { deploy.state.requestCount == 1 })
        check(48, d.text.contains("POST /v1/completions 200"), d.text)

        deploy.stopServer()
        check(49, d.wait(timeout: 30) { deploy.state.server == .stopped }, "\(deploy.state.server)")
        check(50, deploy.serverHost.server == nil)
        var health = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(info.port)/health")))
        health.timeoutInterval = 5
        let closed: Bool
        do { _ = try await URLSession.shared.data(for: health); closed = false } catch { closed = true }
        check(51, closed, "the port still answers after stop")

        // Quitting the workbench stops a running server too (WorkbenchShell.run calls willQuit).
        deploy.startServer()
        check(52, d.wait(timeout: 120) { if case .running = deploy.state.server { return true }; return !deploy.state.isServing },
              "\(deploy.state.server)")
        guard case let .running(again) = deploy.state.server else { return }
        check(53, d.shell.panes.compactMap(\.activeJobDescription).contains("the server on \(again.url)"))
        deploy.willQuit()
        check(54, deploy.serverHost.server?.hasEnded ?? true)
        var probe = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(again.port)/health")))
        probe.timeoutInterval = 5
        let closedOnQuit: Bool
        do { _ = try await URLSession.shared.data(for: probe); closedOnQuit = false } catch { closedOnQuit = true }
        check(55, closedOnQuit, "the port still answers after quitting")
    }
}
