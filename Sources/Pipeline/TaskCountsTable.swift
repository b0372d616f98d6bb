import Foundation

/// The table `desispec prod top` prints: one line per task type that has tasks, the number of tasks in each state
/// (columns in TaskState order), under a header line.
public enum TaskCountsTable {
    public static func lines(_ rows: [StateDatabase.Row]) -> [String] {
        func cell(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        let states = TaskState.allCases
        var lines = [cell("type", 16) + states.map { cell($0.rawValue, 9) }.joined()]
        for type in TaskType.allCases {
            let mine = rows.filter { $0.task.type == type }
            if mine.isEmpty { continue }
            lines.append(cell(type.rawValue, 16) + states.map { s in cell(String(mine.filter { $0.state == s }.count), 9) }.joined())
        }
        return lines
    }
}
