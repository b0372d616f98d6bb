/// States of a pipeline task, as desi_pipe names them.
public enum TaskState: String, Sendable, Codable, CaseIterable {
    /// Some dependency is not done yet.
    case waiting
    /// Every dependency is done: the task can run.
    case ready
    case running
    case done
    case failed
}
