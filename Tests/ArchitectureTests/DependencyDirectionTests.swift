import Foundation
import XCTest

/// The architecture's rules, checked on the source tree itself (Docs/architecture.md explains them):
/// - dependencies point one way: C shims <- FITS, LinearAlgebra <- DESICore <- stage modules <- QA, Pipeline <- the CLI;
///   a stage module never imports a sibling stage (PSF is the one stage others may use: it is the optics);
/// - each C shim is imported by the one module that wraps it;
/// - Package.swift declares no dependency that the rules forbid;
/// - imports stand at the top of a file, and no production file imports a module `@testable`.
final class DependencyDirectionTests: XCTestCase {

    /// Modules each Sources module may import, beyond the system ones (Foundation, Dispatch, Synchronization, Glibc,
    /// the compiler's intrinsics).
    static let allowed: [String: Set<String>] = {
        let base: Set<String> = ["DESICore", "FITS", "LinearAlgebra", "Logging"]
        var rules: [String: Set<String>] = [
            "FITS": ["CFITSIO"],
            "LinearAlgebra": ["CLAPACK"],
            "Plot": ["CCairo"],
            "DESICore": ["FITS", "LinearAlgebra", "Logging"],
            "PSF": base,
            "Extraction": base.union(["PSF"]),
            "Simulation": base.union(["PSF"]),
            "QA": base.union(["Plot"]),
            "Viewer": base.union(["QA"]),
            "Pipeline": base.union(["CSQLite"]),
        ]
        for stage in ["Preproc", "FiberFlatFit", "Sky", "StdStars", "FluxCalib", "Coadd"] { rules[stage] = base }
        return rules
    }()
    /// `_Builtin_intrinsics`: the compiler's own x86 intrinsics (LinearAlgebra's vector square root).
    static let system: Set<String> = ["Foundation", "Dispatch", "Synchronization", "Glibc", "Darwin", "_Builtin_intrinsics"]
    /// The CLI may import every library module and its parser, never a C shim.
    static let cliForbidden: Set<String> = ["CFITSIO", "CLAPACK", "CCairo", "CSQLite"]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// (module, file, imported module, line number) for every import statement under Sources/.
    static func imports() throws -> [(module: String, file: String, imported: String, line: Int)] {
        let sources = root.appendingPathComponent("Sources")
        var found: [(String, String, String, Int)] = []
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path).sorted()
        for module in modules {
            guard let files = FileManager.default.enumerator(atPath: sources.appendingPathComponent(module).path) else { continue }
            for case let rel as String in files where rel.hasSuffix(".swift") {
                let path = sources.appendingPathComponent(module).appendingPathComponent(rel).path
                let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
                for (i, line) in lines.enumerated() {
                    if let name = importedModule(line) { found.append((module, "\(module)/\(rel)", name, i + 1)) }
                }
            }
        }
        return found
    }

    /// The module an import line names (`import X`, `internal import X`, `@preconcurrency import X`, `import struct X.Y`).
    static func importedModule(_ line: String) -> String? {
        var words = line.split(separator: " ").map(String.init)
        while let first = words.first, first.hasPrefix("@") || ["public", "internal", "private", "fileprivate", "package"].contains(first) {
            words.removeFirst()
        }
        guard words.count >= 2, words[0] == "import" else { return nil }
        let target = ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"].contains(words[1]) && words.count > 2
            ? words[2] : words[1]
        return String(target.split(separator: ".").first ?? "")
    }

    func testSourcesImportOnlyWhatTheDependencyDirectionAllows() throws {
        var broken: [String] = []
        for imp in try Self.imports() where !Self.system.contains(imp.imported) && imp.imported != imp.module {
            if imp.module == "desispec" {
                if Self.cliForbidden.contains(imp.imported) { broken.append("\(imp.file):\(imp.line) imports \(imp.imported)") }
                continue
            }
            guard let rule = Self.allowed[imp.module] else {
                broken.append("\(imp.file): module \(imp.module) has no rule here: add it to DependencyDirectionTests.allowed")
                continue
            }
            if !rule.contains(imp.imported) { broken.append("\(imp.file):\(imp.line) imports \(imp.imported)") }
        }
        XCTAssert(broken.isEmpty, "dependency direction broken:\n" + broken.joined(separator: "\n"))
    }

    func testEachCShimIsImportedByTheModuleThatWrapsIt() throws {
        let owner = ["CFITSIO": "FITS", "CLAPACK": "LinearAlgebra", "CCairo": "Plot", "CSQLite": "Pipeline"]
        let misplaced = try Self.imports().filter { owner[$0.imported] != nil && owner[$0.imported] != $0.module }
        XCTAssert(misplaced.isEmpty, misplaced.map { "\($0.file):\($0.line) imports \($0.imported)" }.joined(separator: "\n"))
    }

    /// Package.swift's `.target(name: "X", dependencies: [...])` lines follow the same rules as the imports.
    func testPackageManifestDeclaresOnlyAllowedDependencies() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"\.target\(name: "([A-Za-z]+)", dependencies: \[([^\]]*)\]"#)
        let range = NSRange(manifest.startIndex..., in: manifest)
        var checked = 0
        var broken: [String] = []
        for match in pattern.matches(in: manifest, range: range) {
            let name = String(manifest[Range(match.range(at: 1), in: manifest)!])
            let deps = String(manifest[Range(match.range(at: 2), in: manifest)!])
            let quoted = try NSRegularExpression(pattern: #""([A-Za-z]+)""#)
            let names = quoted.matches(in: deps, range: NSRange(deps.startIndex..., in: deps))
                .map { String(deps[Range($0.range(at: 1), in: deps)!]) }
            guard let rule = Self.allowed[name] else { continue }   // TestSupport and test targets: free
            checked += 1
            for dep in names where !rule.contains(dep) && dep != "Logging" { broken.append("\(name) depends on \(dep)") }
        }
        XCTAssertGreaterThanOrEqual(checked, 10, "Package.swift targets not found: has the manifest's layout changed?")
        XCTAssert(broken.isEmpty, "Package.swift: " + broken.joined(separator: ", "))
    }

    func testImportsStandAtTheTopAndNothingIsTestableInProduction() throws {
        let sources = Self.root.appendingPathComponent("Sources")
        var broken: [String] = []
        guard let files = FileManager.default.enumerator(atPath: sources.path) else { return XCTFail("no Sources folder") }
        for case let rel as String in files where rel.hasSuffix(".swift") {
            let lines = try String(contentsOfFile: sources.appendingPathComponent(rel).path, encoding: .utf8)
                .components(separatedBy: "\n")
            var seenCode = false
            for (i, raw) in lines.enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("//") { continue }
                if line.contains("@testable") { broken.append("Sources/\(rel):\(i + 1) @testable import") }
                if Self.importedModule(line) != nil {
                    if seenCode { broken.append("Sources/\(rel):\(i + 1) import after code") }
                } else if !line.hasPrefix("#if") && !line.hasPrefix("#endif") && !line.hasPrefix("#else") {
                    seenCode = true
                }
            }
        }
        XCTAssert(broken.isEmpty, broken.joined(separator: "\n"))
    }

    func testTheRulesCatchABrokenImport() {
        // The checker itself: a stage importing a sibling, and a shim outside its owner, are both refused.
        XCTAssertEqual(Self.importedModule("internal import CLAPACK"), "CLAPACK")
        XCTAssertEqual(Self.importedModule("@preconcurrency import struct Sky.SkyModel"), "Sky")
        XCTAssertFalse(Self.allowed["Sky"]!.contains("FluxCalib"))
        XCTAssertFalse(Self.allowed["Extraction"]!.contains("CLAPACK"))
        XCTAssertNil(Self.importedModule("let important = 1"))
    }
}
