import Foundation
import XCTest

/// Conventions that keep the code easy to read and to change (Docs/architecture.md):
/// - a subcommand is a thin page: parse, call one library function, report (`run()` bodies of at most 40 lines);
/// - lines of at most 140 characters in Sources/ and Tests/.
final class ConventionTests: XCTestCase {
    static let maxRunLines = 40
    static let maxLineLength = 140

    static func swiftFiles(under folder: String) throws -> [(path: String, lines: [String])] {
        let root = DependencyDirectionTests.root.appendingPathComponent(folder)
        guard let files = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var found: [(String, [String])] = []
        for case let rel as String in files where rel.hasSuffix(".swift") {
            let text = try String(contentsOfFile: root.appendingPathComponent(rel).path, encoding: .utf8)
            found.append(("\(folder)/\(rel)", text.components(separatedBy: "\n")))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    /// Net count of `{` minus `}` on a line, outside string literals and comments.
    static func braceBalance(_ line: String) -> Int {
        var balance = 0, inString = false, escaped = false
        var previous: Character = " "
        for c in line {
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "/" && previous == "/" {
                break
            } else if c == "{" {
                balance += 1
            } else if c == "}" {
                balance -= 1
            }
            previous = c
        }
        return balance
    }

    /// (first line, body line count) of every `func run()` in `lines`.
    static func runBodies(_ lines: [String]) -> [(line: Int, count: Int)] {
        var found: [(Int, Int)] = []
        var i = 0
        while i < lines.count {
            guard lines[i].contains("func run()") else { i += 1; continue }
            var depth = braceBalance(lines[i])
            var j = i
            while depth > 0 && j + 1 < lines.count { j += 1; depth += braceBalance(lines[j]) }
            found.append((i + 1, max(0, j - i - 1)))
            i = j + 1
        }
        return found
    }

    func testSubcommandsAreThinPages() throws {
        var long: [String] = []
        var counted = 0
        for file in try Self.swiftFiles(under: "Sources/desispec/Commands") {
            for body in Self.runBodies(file.lines) {
                counted += 1
                if body.count > Self.maxRunLines { long.append("\(file.path):\(body.line) run() has \(body.count) lines") }
            }
        }
        XCTAssertGreaterThan(counted, 20, "no run() found: has the CLI moved?")
        XCTAssert(long.isEmpty, "subcommands hold library logic (move it into a module):\n" + long.joined(separator: "\n"))
    }

    func testLinesFitIn140Characters() throws {
        var long: [String] = []
        for folder in ["Sources", "Tests"] {
            for file in try Self.swiftFiles(under: folder) {
                for (i, line) in file.lines.enumerated() where line.count > Self.maxLineLength {
                    long.append("\(file.path):\(i + 1) has \(line.count) characters")
                }
            }
        }
        XCTAssert(long.isEmpty, "lines over \(Self.maxLineLength) characters:\n" + long.prefix(50).joined(separator: "\n"))
    }

    func testTheRunCounterCountsBodiesNotBraces() {
        let lines = ["    func run() throws {", "        let s = \"{ not a brace\" // }", "        if x { y }", "    }", "func other() {}"]
        XCTAssertEqual(Self.runBodies(lines).map(\.count), [2])
        XCTAssertEqual(Self.braceBalance("a { \"}\" // }"), 1)
    }
}
