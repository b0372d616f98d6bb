import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A progress line for people at a terminal: "extraction: 45% (225/500), 12 s left", redrawn in place on standard
/// error at most 5 times a second and erased when the work is done. It prints nothing when standard error is not a
/// terminal (logs, pipes, the night runner's tasks) or when DESISPEC_PROGRESS=0, so logs and outputs never change.
/// The one progress helper of the package: extraction, PSF fit, trace shifts and the night runner use it.
/// Safe to advance from concurrent workers.
public final class ProgressLine: Sendable {
    public let label: String
    public let total: Int
    public let isShown: Bool
    private let state = Mutex(State())
    private let start = Date()

    private struct State { var done = 0; var lastDraw = -1.0; var finished = false }

    /// Whether standard error is a terminal and progress lines are not turned off (DESISPEC_PROGRESS=0).
    public static var terminalWantsProgress: Bool {
        isatty(2) == 1 && ProcessInfo.processInfo.environment["DESISPEC_PROGRESS"] != "0"
    }

    /// A line for `total` units of work (nothing shown when `show` is false or `total` < 1).
    public init(_ label: String, total: Int, show: Bool = ProgressLine.terminalWantsProgress) {
        self.label = label
        self.total = total
        isShown = show && total > 0
    }

    /// `count` more units done.
    public func advance(by count: Int = 1) {
        guard isShown else { return }
        let text: String? = state.withLock { s in
            guard !s.finished else { return nil }
            s.done = min(total, s.done + count)
            let elapsed = Date().timeIntervalSince(start)
            guard elapsed - s.lastDraw >= 0.2 || s.done == total else { return nil }
            s.lastDraw = elapsed
            return Self.text(label: label, done: s.done, total: total, elapsed: elapsed)
        }
        if let text { Self.write("\r\(text)\u{1B}[K") }
    }

    /// Runs `body` (which prints a message on standard error) with the line erased first and drawn again after, so
    /// that messages and the progress line do not mix.
    public func printAbove(_ body: () -> Void) {
        guard isShown else { body(); return }
        let text: String? = state.withLock { s in
            s.finished || s.lastDraw < 0 ? nil
                : Self.text(label: label, done: s.done, total: total, elapsed: Date().timeIntervalSince(start))
        }
        if text != nil { Self.write("\r\u{1B}[K") }
        body()
        if let text { Self.write("\r\(text)\u{1B}[K") }
    }

    /// Erases the line (call once the work is done; later calls do nothing).
    public func finish() {
        guard isShown else { return }
        let wasShown = state.withLock { s -> Bool in defer { s.finished = true }; return !s.finished && s.lastDraw >= 0 }
        if wasShown { Self.write("\r\u{1B}[K") }
    }

    /// "label: 45% (225/500), 12 s left" (time left from the mean time per unit so far; "..." before any unit).
    static func text(label: String, done: Int, total: Int, elapsed: Double) -> String {
        let percent = total > 0 ? 100 * done / total : 100
        guard done > 0 else { return "\(label): \(percent)% (\(done)/\(total))" }
        let left = elapsed * Double(total - done) / Double(done)
        let leftText = left >= 90 ? String(format: "%.0f min", left / 60) : String(format: "%.0f s", left)
        return "\(label): \(percent)% (\(done)/\(total)), \(leftText) left"
    }

    private static func write(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }
}
