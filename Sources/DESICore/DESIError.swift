/// Errors of the data model and of the stages: each names the file and what was expected, in one line.
public enum DESIError: Error, CustomStringConvertible, Sendable {
    /// A file is missing, unreadable or does not hold what it should.
    case badFile(path: String, problem: String)
    /// A command-line or function argument is invalid.
    case invalidArgument(String)
    /// Inputs that are each fine but do not belong together (different cameras, grids, sizes).
    case mismatch(String)
    /// A computation could not be done (no sky fibers, singular system, ...).
    case failed(String)

    public var description: String {
        switch self {
        case .badFile(let path, let problem): return "\(path): \(problem)"
        case .invalidArgument(let m): return m
        case .mismatch(let m): return m
        case .failed(let m): return m
        }
    }
}
