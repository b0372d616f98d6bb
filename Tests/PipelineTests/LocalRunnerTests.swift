import Foundation
import XCTest

@testable import Pipeline

/// Runs task graphs with a stand-in executable: a shell script that writes every `-o` output (through a temporary
/// file and a rename, as the real steps do) and fails when an argument contains "CORRUPT".
final class LocalRunnerTests: XCTestCase {
    var root: URL!
    var layout: ProductionLayout!
    var fake: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        layout = ProductionLayout(rawRoot: root.appendingPathComponent("raw").path, prodRoot: root.appendingPathComponent("prod").path)
        fake = root.appendingPathComponent("fake-desispec")
        let script = """
        #!/bin/bash
        for a in "$@"; do case "$a" in *CORRUPT*) echo "error: $a: corrupt input" >&2; exit 1;; esac; done
        while [ $# -gt 0 ]; do
          if [ "$1" = "-o" ]; then mkdir -p "$(dirname "$2")"; echo "$*" > "$2.tmp"; mv "$2.tmp" "$2"; fi
          shift
        done
        echo "ran"
        """
        try script.write(to: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// a -> b -> d, a -> c (c fails when `failC`), e independent.
    func graph(failC: Bool = false) -> TaskGraph {
        let p = layout.prodRoot
        func t(_ type: TaskType, _ unit: String, deps: [String], input: String = "x") -> PipelineTask {
            PipelineTask(type: type, night: "20250101", unit: unit, arguments: ["step", "-i", input, "-o", "\(p)/\(unit).fits"],
                         inputs: [], outputs: ["\(p)/\(unit).fits"], dependencies: deps)
        }
        return TaskGraph(tasks: [
            t(.preproc, "a", deps: []),
            t(.extract, "b", deps: ["preproc_20250101_a"]),
            t(.extract, "c", deps: ["preproc_20250101_a"], input: failC ? "CORRUPT.fits" : "ok"),
            t(.sky, "d", deps: ["extract_20250101_b"]),
            t(.sky, "f", deps: ["extract_20250101_c"]),
            t(.preproc, "e", deps: []),
        ])
    }

    func runner() throws -> LocalRunner {
        LocalRunner(executable: fake, layout: layout, database: try StateDatabase(path: layout.database), maxParallel: 2)
    }

    func testEverythingRunsOnceThenNothingIsRedone() throws {
        let first = try runner().run(graph())
        XCTAssertEqual(first.done.count, 6)
        XCTAssertEqual(first.exitCode, 0)
        let second = try runner().run(graph())
        XCTAssertEqual(second.done.count, 0)
        XCTAssertEqual(second.skipped.count, 6)
        let states = try StateDatabase(path: layout.database).rows().map(\.state)
        XCTAssertEqual(states, [TaskState](repeating: .done, count: 6))
    }

    func testFailedTaskBlocksOnlyItsDependentsAndSetsTheExitCode() throws {
        let s = try runner().run(graph(failC: true))
        XCTAssertEqual(s.failed, ["extract_20250101_c"])
        XCTAssertEqual(s.blocked, ["sky_20250101_f"])
        XCTAssertEqual(Set(s.done), ["preproc_20250101_a", "extract_20250101_b", "sky_20250101_d", "preproc_20250101_e"])
        XCTAssertEqual(s.exitCode, 2)
        let rows = try StateDatabase(path: layout.database).rows()
        let c = try XCTUnwrap(rows.first { $0.task.name == "extract_20250101_c" })
        XCTAssertEqual(c.state, .failed)
        let log = try String(contentsOfFile: c.logPath, encoding: .utf8)
        XCTAssertTrue(log.contains("corrupt input"), log)
        XCTAssertEqual(rows.first { $0.task.name == "sky_20250101_f" }?.state, .waiting)
        // Fixing the input and running again does only what is missing.
        let again = try runner().run(graph())
        XCTAssertEqual(Set(again.done), ["extract_20250101_c", "sky_20250101_f"])
        XCTAssertEqual(again.skipped.count, 4)
    }

    func testInterruptedRunResumesWithOnlyMissingOutputs() throws {
        _ = try runner().run(graph())
        // Pretend a kill happened before d and f finished: their outputs are gone, a temporary file is left behind.
        for unit in ["d", "f"] { try FileManager.default.removeItem(atPath: "\(layout.prodRoot)/\(unit).fits") }
        let stale = "\(layout.prodRoot)/.tmp-123-456-d.fits"
        FileManager.default.createFile(atPath: stale, contents: Data("partial".utf8))
        let s = try runner().run(graph())
        XCTAssertEqual(Set(s.done), ["sky_20250101_d", "sky_20250101_f"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "stale temporary files are removed before a task reruns")
    }

    func testRunSingleRecordsState() throws {
        let g = graph()
        let status = try runner().runSingle(g.tasks[0])
        XCTAssertEqual(status, 0)
        XCTAssertEqual(try StateDatabase(path: layout.database).rows().first?.state, .done)
    }
}
