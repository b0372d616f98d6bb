import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A minimal W3C WebDriver client for chromedriver driving headless chromium: start the driver, open a session,
/// navigate, run scripts, read the browser's console log, take screenshots. Synchronous (the tests are sequential).
final class WebDriver: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let driver: Process
    private let base: URL
    private var session: String?

    /// Where Debian puts them; $DESISPEC_CHROMIUM and $DESISPEC_CHROMEDRIVER override.
    static var chromium: String? { locate("DESISPEC_CHROMIUM", ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) }
    static var chromedriver: String? { locate("DESISPEC_CHROMEDRIVER", ["/usr/bin/chromedriver"]) }

    static func locate(_ variable: String, _ candidates: [String]) -> String? {
        let env = ProcessInfo.processInfo.environment[variable].map { [$0] } ?? []
        return (env + candidates).first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts chromedriver on a free port and opens a headless session with the browser's console log kept.
    init(chromium: String, chromedriver: String, log: URL) throws {
        let port = Self.freePort()
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: chromedriver)
        driver.arguments = ["--port=\(port)", "--log-path=\(log.path)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        base = URL(string: "http://127.0.0.1:\(port)")!
        let deadline = Date().addingTimeInterval(20)
        while (try? request("GET", "/status")) == nil {
            guard Date() < deadline else { driver.terminate(); throw Failure(description: "chromedriver did not answer on port \(port)") }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let caps: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": ["binary": chromium,
                                   "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                            "--window-size=1280,1000", "--allow-file-access-from-files"]],
            "goog:loggingPrefs": ["browser": "ALL"],
        ]]]
        do {
            let value = try request("POST", "/session", caps, timeout: 120)
            guard let id = (value as? [String: Any])?["sessionId"] as? String else {
                throw Failure(description: "chromedriver: no session id in \(String(describing: value))")
            }
            session = id
        } catch {
            driver.terminate()
            throw error
        }
    }

    func quit() {
        if let session { _ = try? request("DELETE", "/session/\(session)") }
        session = nil
        if driver.isRunning { driver.terminate(); driver.waitUntilExit() }
    }

    deinit { quit() }

    func navigate(_ url: URL) throws {
        _ = try command("POST", "url", ["url": url.absoluteString], timeout: 120)
    }

    /// Runs `script` (a function body; `arguments[i]` are its arguments) and returns its value.
    @discardableResult
    func execute(_ script: String, _ args: [Any] = []) throws -> Any? {
        try command("POST", "execute/sync", ["script": script, "args": args], timeout: 120)
    }

    /// The browser console's entries since the last call: (level, message).
    func consoleLog() throws -> [(level: String, message: String)] {
        let value = try command("POST", "se/log", ["type": "browser"])
        return ((value as? [[String: Any]]) ?? []).map { (($0["level"] as? String) ?? "", ($0["message"] as? String) ?? "") }
    }

    func screenshot(to url: URL) throws {
        guard let b64 = try command("GET", "screenshot") as? String, let png = Data(base64Encoded: b64) else {
            throw Failure(description: "no screenshot")
        }
        try png.write(to: url)
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]? = nil, timeout: TimeInterval = 60) throws -> Any? {
        guard let session else { throw Failure(description: "no WebDriver session") }
        return try request(method, "/session/\(session)/\(path)", body, timeout: timeout)
    }

    /// One HTTP exchange with chromedriver; returns the answer's "value", throws its error.
    private func request(_ method: String, _ path: String, _ body: [String: Any]? = nil, timeout: TimeInterval = 5) throws -> Any? {
        var req = URLRequest(url: base.appendingPathComponent(path), timeoutInterval: timeout)
        req.httpMethod = method
        if let body {
            req.httpBody = try JSONSerialization.data(withJSONObject: body)
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        final class Box: @unchecked Sendable { var data: Data?; var error: Error? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: req) { data, _, error in
            box.data = data; box.error = error
            done.signal()
        }.resume()
        done.wait()
        if let error = box.error { throw error }
        let json = try JSONSerialization.jsonObject(with: box.data ?? Data(), options: [.fragmentsAllowed]) as? [String: Any]
        let value = json?["value"]
        if let v = value as? [String: Any], let error = v["error"] as? String {
            throw Failure(description: "WebDriver \(method) \(path): \(error): \(v["message"] as? String ?? "")")
        }
        return value is NSNull ? nil : value
    }

    /// A TCP port nobody listens on now (bound to 0, read back, released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
