import Foundation
import XCTest

@testable import Pipeline

/// The runner's sharing of the cores (DESISPEC_NCPU per task, never more threads than cores) and the resources it
/// records for each task (issue 16).
final class LocalRunnerResourcesTests: XCTestCase {
    var root: URL!
    var layout: ProductionLayout!
    var fake: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("runner-res-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        layout = ProductionLayout(rawRoot: root.appendingPathComponent("raw").path, prodRoot: root.appendingPathComponent("prod").path)
        fake = root.appendingPathComponent("fake-desispec")
        // writes its DESISPEC_NCPU and the start and end times of its work into its -o output; holds ~40 MB for a moment
        let script = """
        #!/bin/bash
        t0=$(date +%s.%N)
        x=$(head -c 40000000 /dev/zero | tr '\\0' 'a'); sleep 0.3
        t1=$(date +%s.%N)
        while [ $# -gt 0 ]; do
          if [ "$1" = "-o" ]; then mkdir -p "$(dirname "$2")"; echo "$DESISPEC_NCPU $t0 $t1" > "$2.tmp"; mv "$2.tmp" "$2"; fi
          shift
        done
        """
        try script.write(to: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func graph(_ n: Int) -> TaskGraph {
        TaskGraph(tasks: (0..<n).map { i in
            let out = "\(layout.prodRoot)/t\(i).txt"
            return PipelineTask(type: .preproc, night: "20250101", unit: "t\(i)", arguments: ["step", "-o", out],
                                inputs: [], outputs: [out], dependencies: [])
        })
    }

    func testThreadsForNextTaskShareTheFreeCores() {
        XCTAssertEqual(LocalRunner.threadsForNextTask(cores: 2, busy: 0, ready: 1, running: 0), 2)
        XCTAssertEqual(LocalRunner.threadsForNextTask(cores: 2, busy: 0, ready: 2, running: 0), 1)
        XCTAssertEqual(LocalRunner.threadsForNextTask(cores: 2, busy: 1, ready: 3, running: 1), 1)
        XCTAssertEqual(LocalRunner.threadsForNextTask(cores: 2, busy: 2, ready: 1, running: 1), 0)
        XCTAssertEqual(LocalRunner.threadsForNextTask(cores: 8, busy: 2, ready: 2, running: 1), 3)
        XCTAssertEqual(LocalRunner.threadsForNextTask(cores: 1, busy: 0, ready: 5, running: 0), 1)
    }

    /// Four tasks, two at once, on 2 cores: each gets 1 thread and never more than 2 threads run at any time.
    func testRunningTasksNeverUseMoreThreadsThanCores() throws {
        for (jobs, cores) in [(2, 2), (4, 3), (1, 4)] {
            try? FileManager.default.removeItem(atPath: layout.prodRoot)
            let runner = LocalRunner(executable: fake, layout: layout, database: try StateDatabase(path: layout.database),
                                     maxParallel: jobs, cores: cores)
            let s = try runner.run(graph(4))
            XCTAssertEqual(s.done.count, 4)
            let runs = try (0..<4).map { i -> (Int, Double, Double) in
                let f = try String(contentsOfFile: "\(layout.prodRoot)/t\(i).txt", encoding: .utf8).split(separator: " ")
                return (Int(f[0])!, Double(f[1])!, Double(f[2].trimmingCharacters(in: .whitespacesAndNewlines))!)
            }
            for (threads, start, _) in runs {
                let concurrent = runs.filter { $0.1 <= start && $0.2 > start }.map(\.0).reduce(0, +)
                XCTAssertLessThanOrEqual(concurrent, cores, "jobs \(jobs) cores \(cores)")
                XCTAssertGreaterThanOrEqual(threads, 1)
            }
            if jobs == 1 { XCTAssertEqual(Set(runs.map(\.0)), [cores]) }   // one task at a time gets every core
        }
    }

    func testEachTaskLogEndsWithItsResourcesAlsoInTheDatabase() throws {
        let runner = LocalRunner(executable: fake, layout: layout, database: try StateDatabase(path: layout.database),
                                 maxParallel: 2, cores: 2)
        _ = try runner.run(graph(2))
        let rows = try StateDatabase(path: layout.database).rows()
        XCTAssertEqual(rows.count, 2)
        for row in rows {
            let used = try XCTUnwrap(runner.resources[row.task.name])
            XCTAssertGreaterThanOrEqual(used.wallSeconds, 0.3)
            XCTAssertLessThan(used.wallSeconds, 30)
            // the shell held a 40 MB string: its peak resident memory is at least that
            XCTAssertGreaterThan(used.peakMemoryBytes, 40_000_000)
            // Linux carries the launching process's peak into the child's ru_maxrss across fork and exec, so the
            // bound allows for this test process's own peak (large after other tests ran in it)
            var me = rusage()
            getrusage(RUSAGE_SELF.rawValue, &me)
            XCTAssertLessThan(used.peakMemoryBytes, 2_000_000_000 + Int(me.ru_maxrss) * 1024)
            XCTAssertGreaterThan(used.cpuSeconds, 0)
            XCTAssertEqual(row.message, used.summary)
            let log = try String(contentsOfFile: row.logPath, encoding: .utf8)
            XCTAssertTrue(log.hasSuffix("# resources: \(used.summary)\n"), log)
            XCTAssertTrue(used.summary.hasPrefix("threads 1, wall "), used.summary)
        }
    }
}
