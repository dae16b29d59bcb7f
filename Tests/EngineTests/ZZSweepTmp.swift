import Foundation
import Testing
@testable import Engine

@Suite struct ZZSweepTmp {
    @Test func sweep() throws {
        let dir = "/tmp/sweep"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jinja") }.sorted()
        var ok = 0, bad = 0
        for file in names {
            let name = String(file.dropLast(6))
            let source = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            guard case .object(let f) = try JinjaValue.parseJSON(try String(contentsOfFile: dir + "/" + name + ".cases.json", encoding: .utf8)),
                  case .array(let cases)? = f["cases"] else { continue }
            let template: ModelChatTemplate
            do { template = try ModelChatTemplate(source: source, bosToken: "<s>", eosToken: "</s>") } catch { print("SWEEP PARSE \(name): \(error)"); bad += 1; continue }
            var failures: [String] = []
            for case .object(let c) in cases {
                let cn = ChatTemplateRenderingTests.string(c["name"]) ?? "?"
                guard case .array(let messages)? = c["messages"] else { continue }
                var tools: [JinjaValue]? = nil
                if case .array(let t)? = c["tools"] { tools = t }
                var extra: [String: JinjaValue] = [:]
                if case .object(let e)? = c["extra"] { for (k, v) in e.pairs { extra[k] = v } }
                let r = Result { try template.render(messages: messages, tools: tools, addGenerationPrompt: c["add_generation_prompt"] == .bool(true), extra: extra, now: ChatTemplateRenderingTests.now) }
                if let exp = ChatTemplateRenderingTests.string(c["expected"]) {
                    switch r {
                    case .success(let t) where t == exp: break
                    case .success(let t):
                        let x = Array(t.unicodeScalars), y = Array(exp.unicodeScalars)
                        let i = (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
                        var a = String.UnicodeScalarView(); a.append(contentsOf: x[max(0,i-30)..<min(x.count,i+30)])
                        var b = String.UnicodeScalarView(); b.append(contentsOf: y[max(0,i-30)..<min(y.count,i+30)])
                        failures.append("\(cn): DIFF at \(i) ours \(String(a).debugDescription) exp \(String(b).debugDescription)")
                    case .failure(let e): failures.append("\(cn): THREW \(e)")
                    }
                } else if case .success = r { failures.append("\(cn): should have failed \(c["error"].map { $0.pythonString } ?? "")") }
            }
            if failures.isEmpty { ok += 1 } else { bad += 1; print("SWEEP \(name):\n  " + failures.prefix(3).joined(separator: "\n  ")) }
        }
        print("SWEEP ok \(ok) bad \(bad)")
    }
}
