import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real emulator (`polargrid-emulator`, built by cargo) as a child process: its first stdout
/// line is the start-up JSON; closing its stdin stops it. `POLARGRID_EMULATOR` names the binary.
final class Emulator {
    let startup: String
    let info: [String: Any]
    private let process = Process()
    private let stdin = Pipe()
    private let admin: String

    init() throws {
        let bin = ProcessInfo.processInfo.environment["POLARGRID_EMULATOR"] ?? "target/debug/polargrid-emulator"
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: bin)
        process.standardInput = stdin
        process.standardOutput = out
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        startup = String(decoding: line, as: UTF8.self)
        info = try JSONSerialization.jsonObject(with: line) as? [String: Any] ?? [:]
        admin = info["admin"] as? String ?? ""
    }

    func key(_ name: String) -> String { (info["keys"] as? [String: Any])?[name] as? String ?? "" }

    @discardableResult
    func post(_ path: String, _ body: [String: Any]? = nil) async throws -> Any {
        try await send("POST", path, body)
    }

    func log(_ query: String = "") async throws -> [[String: Any]] {
        let r = try await send("GET", "/admin/log" + (query.isEmpty ? "" : "?" + query), nil)
        return (r as? [String: Any])?["entries"] as? [[String: Any]] ?? []
    }

    func count(_ role: String, _ path: String) async throws -> Int { try await log("role=\(role)&path=\(path)").count }

    private func send(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Any {
        var r = URLRequest(url: URL(string: admin + path)!)
        r.httpMethod = method
        if let body { r.httpBody = try JSONSerialization.data(withJSONObject: body) }
        r.setValue("application/json", forHTTPHeaderField: "content-type")
        let (data, resp) = try await URLSession.shared.data(for: r)
        guard (resp as? HTTPURLResponse)?.statusCode == 200 else {
            throw NSError(domain: "admin \(method) \(path): \(String(decoding: data, as: UTF8.self))", code: 1)
        }
        return try JSONSerialization.jsonObject(with: data)
    }

    func close() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
