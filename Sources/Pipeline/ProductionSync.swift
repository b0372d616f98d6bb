import Foundation

/// What `sync` found: tasks whose outputs all exist, of all the night's tasks.
public struct SyncSummary: Sendable, Equatable {
    public var done: Int
    public var total: Int
}

public enum ProductionSync {
    /// Rebuilds the task states of a night from the files that exist (as desi_pipe sync): the night's task graph
    /// from its raw exposures and the production's options, each task `done` when all its outputs exist, else
    /// `waiting`.
    public static func night(_ night: String, layout: ProductionLayout) throws -> SyncSummary {
        let options = ProductionOptions.load(layout) ?? ProductionOptions()
        let graph = try TaskGraph.night(night, exposures: try NightInventory.exposures(night: night, layout: layout),
                                        layout: layout, options: options.nightOptions)
        let db = try StateDatabase(path: layout.database)
        try db.insert(graph.tasks, logPath: layout.log(for:))
        var done = 0
        for t in graph.tasks {
            let exists = t.outputs.allSatisfy { FileManager.default.fileExists(atPath: $0) }
            try db.setState(t.name, exists ? .done : .waiting)
            if exists { done += 1 }
        }
        return SyncSummary(done: done, total: graph.tasks.count)
    }
}
