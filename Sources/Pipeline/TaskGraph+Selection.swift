extension TaskGraph {
    /// The tasks named, plus every task they depend on, directly or not, in graph order.
    public func closure(of names: Set<String>) -> TaskGraph {
        let byName = Dictionary(uniqueKeysWithValues: tasks.map { ($0.name, $0) })
        var keep = Set<String>()
        var stack = Array(names)
        while let n = stack.popLast() {
            guard keep.insert(n).inserted, let t = byName[n] else { continue }
            stack.append(contentsOf: t.dependencies)
        }
        return TaskGraph(tasks: tasks.filter { keep.contains($0.name) })
    }

    /// The tasks of one exposure with everything they need (the night's calibrations included).
    public func forExposure(_ expid: Int) -> TaskGraph {
        closure(of: Set(tasks.filter { $0.expid == expid }.map(\.name)))
    }

    /// Counts of tasks per type, in pipeline order.
    public var countsByType: [(TaskType, Int)] {
        TaskType.allCases.compactMap { type in
            let n = tasks.filter { $0.type == type }.count
            return n > 0 ? (type, n) : nil
        }
    }
}
