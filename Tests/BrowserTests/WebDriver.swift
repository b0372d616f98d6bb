import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal W3C WebDriver client for chromedriver driving headless chromium: start the driver, open a session,
/// navigate, run scripts, read the browser's console log, take screenshots. Synchronous (the tests are sequential),
/// over HTTP/1.1 on a local socket.
final class WebDriver: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let driver: Process
    private let port: Int
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
        port = Self.freePort()
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: chromedriver)
        driver.arguments = ["--port=\(port)", "--log-path=\(log.path)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
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
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let answer = try Self.exchange(port: port, method: method, path: path, body: payload, timeout: timeout)
        let json = try JSONSerialization.jsonObject(with: answer, options: [.fragmentsAllowed]) as? [String: Any]
        let value = json?["value"]
        if let v = value as? [String: Any], let error = v["error"] as? String {
            throw Failure(description: "WebDriver \(method) \(path): \(error): \(v["message"] as? String ?? "")")
        }
        return value is NSNull ? nil : value
    }

    /// HTTP/1.1 over a socket to 127.0.0.1 (Connection: close), the body of the answer. Not URLSession: Foundation's
    /// client on Linux rejects chromedriver's header lines ("Content-Length:252", no space: "Failed writing header").
    static func exchange(port: Int, method: String, path: String, body: Data, timeout: TimeInterval) throws -> Data {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to port \(port): errno \(errno)") }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        head += "Content-Type: application/json; charset=utf-8\r\nContent-Length: \(body.count)\r\n\r\n"
        let request = Data(head.utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, request.count - sent, 0) }
            guard n > 0 else { throw Failure(description: "send to port \(port): errno \(errno)") }
            sent += n
        }
        var answer = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            guard n > 0 else { throw Failure(description: "no answer from chromedriver in \(Int(timeout)) s (\(method) \(path))") }
            answer.append(contentsOf: buffer[0..<n])
            if let end = answer.range(of: Data("\r\n\r\n".utf8)), let length = contentLength(answer[..<end.lowerBound]),
               answer.count - end.upperBound >= length { break }
        }
        guard let end = answer.range(of: Data("\r\n\r\n".utf8)) else { throw Failure(description: "malformed HTTP answer") }
        return answer[end.upperBound...]
    }

    /// The Content-Length of HTTP header lines (with or without a space after the colon).
    static func contentLength(_ header: Data) -> Int? {
        for line in String(decoding: header, as: UTF8.self).components(separatedBy: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                return Int(parts[1].trimmingCharacters(in: .whitespaces))
            }
        }
        return nil
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
