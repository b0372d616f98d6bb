internal import CSQLite
import Foundation

/// The production's task database (SQLite): every task with its state, command and log path.
/// State is also reconstructible from the files (`sync`), as in desi_pipe.
public final class StateDatabase {
    public let path: String
    private var db: OpaquePointer?

    public struct Row: Sendable, Equatable {
        public var task: PipelineTask
        public var state: TaskState
        public var logPath: String
        public var updated: Date
        public var message: String
    }

    public init(path: String) throws {
        self.path = path
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) != SQLITE_OK {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw PipelineError.database(path: path, message: message)
        }
        sqlite3_busy_timeout(db, 10_000)
        try execute("PRAGMA journal_mode=WAL")
        try execute("""
            CREATE TABLE IF NOT EXISTS tasks (
                name TEXT PRIMARY KEY, type TEXT NOT NULL, night TEXT NOT NULL, expid INTEGER, unit TEXT,
                state TEXT NOT NULL, task_json TEXT NOT NULL, log TEXT NOT NULL, updated REAL NOT NULL,
                message TEXT NOT NULL DEFAULT '')
            """)
    }

    deinit { sqlite3_close(db) }

    private func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? "error"
            sqlite3_free(err)
            throw PipelineError.database(path: path, message: message)
        }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var stmt: OpaquePointer?
        if sqlite3_prepare_v2(db, sql, -1, &stmt, nil) != SQLITE_OK {
            throw PipelineError.database(path: path, message: String(cString: sqlite3_errmsg(db)))
        }
        return stmt
    }

    private func bind(_ stmt: OpaquePointer?, _ index: Int32, _ text: String) {
        sqlite3_bind_text(stmt, index, text, -1, shim_sqlite_transient())
    }

    /// Adds tasks that are not in the database yet (existing rows keep their state).
    public func insert(_ tasks: [PipelineTask], logPath: (PipelineTask) -> String) throws {
        try execute("BEGIN IMMEDIATE")
        do {
            let stmt = try prepare("""
                INSERT OR IGNORE INTO tasks (name, type, night, expid, unit, state, task_json, log, updated)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            defer { sqlite3_finalize(stmt) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            for t in tasks {
                sqlite3_reset(stmt)
                bind(stmt, 1, t.name); bind(stmt, 2, t.type.rawValue); bind(stmt, 3, t.night)
                if let e = t.expid { sqlite3_bind_int64(stmt, 4, Int64(e)) } else { sqlite3_bind_null(stmt, 4) }
                if let u = t.unit { bind(stmt, 5, u) } else { sqlite3_bind_null(stmt, 5) }
                bind(stmt, 6, TaskState.waiting.rawValue)
                bind(stmt, 7, String(decoding: try encoder.encode(t), as: UTF8.self))
                bind(stmt, 8, logPath(t))
                sqlite3_bind_double(stmt, 9, Date().timeIntervalSince1970)
                if sqlite3_step(stmt) != SQLITE_DONE {
                    throw PipelineError.database(path: path, message: String(cString: sqlite3_errmsg(db)))
                }
            }
            try execute("COMMIT")
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    public func setState(_ name: String, _ state: TaskState, message: String = "") throws {
        let stmt = try prepare("UPDATE tasks SET state = ?, updated = ?, message = ? WHERE name = ?")
        defer { sqlite3_finalize(stmt) }
        bind(stmt, 1, state.rawValue)
        sqlite3_bind_double(stmt, 2, Date().timeIntervalSince1970)
        bind(stmt, 3, message)
        bind(stmt, 4, name)
        if sqlite3_step(stmt) != SQLITE_DONE {
            throw PipelineError.database(path: path, message: String(cString: sqlite3_errmsg(db)))
        }
    }

    /// All tasks, optionally of one night, in pipeline order.
    public func rows(night: String? = nil) throws -> [Row] {
        let sql = "SELECT task_json, state, log, updated, message FROM tasks" + (night == nil ? "" : " WHERE night = ?")
        let stmt = try prepare(sql)
        defer { sqlite3_finalize(stmt) }
        if let night { bind(stmt, 1, night) }
        var result: [Row] = []
        let decoder = JSONDecoder()
        while sqlite3_step(stmt) == SQLITE_ROW {
            let json = String(cString: sqlite3_column_text(stmt, 0))
            let task = try decoder.decode(PipelineTask.self, from: Data(json.utf8))
            let state = TaskState(rawValue: String(cString: sqlite3_column_text(stmt, 1))) ?? .waiting
            let log = String(cString: sqlite3_column_text(stmt, 2))
            let updated = Date(timeIntervalSince1970: sqlite3_column_double(stmt, 3))
            let message = String(cString: sqlite3_column_text(stmt, 4))
            result.append(Row(task: task, state: state, logPath: log, updated: updated, message: message))
        }
        return result.sorted { ($0.task.type, $0.task.name) < ($1.task.type, $1.task.name) }
    }

    /// Removes tasks (all, or those in the given states) from the database; files are left alone.
    public func delete(states: [TaskState]? = nil) throws {
        if let states {
            for s in states {
                let stmt = try prepare("DELETE FROM tasks WHERE state = ?")
                bind(stmt, 1, s.rawValue)
                _ = sqlite3_step(stmt)
                sqlite3_finalize(stmt)
            }
        } else {
            try execute("DELETE FROM tasks")
        }
    }
}

/// Errors of the pipeline drivers.
public enum PipelineError: Error, CustomStringConvertible, Sendable {
    case database(path: String, message: String)
    case noData(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .database(let path, let message): return "\(path): state database: \(message)"
        case .noData(let m): return m
        case .invalid(let m): return m
        }
    }
}
