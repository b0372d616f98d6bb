import Foundation

/// A DESI camera: arm (b, r, z) and spectrograph (0-9), e.g. "r0".
public struct Camera: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public enum Arm: String, Sendable, CaseIterable, Codable, Comparable {
        case b, r, z
        public static func < (a: Arm, b: Arm) -> Bool { a.order < b.order }
        var order: Int { self == .b ? 0 : self == .r ? 1 : 2 }
    }
    public let arm: Arm
    public let spectrograph: Int

    public init(arm: Arm, spectrograph: Int) {
        self.arm = arm; self.spectrograph = spectrograph
    }

    /// Parses "r0" (case-insensitive). Returns nil for anything else.
    public init?(_ text: String) {
        let t = text.lowercased()
        guard t.count == 2, let arm = Arm(rawValue: String(t.prefix(1))), let sp = Int(t.suffix(1)) else { return nil }
        self.init(arm: arm, spectrograph: sp)
    }

    public var name: String { "\(arm.rawValue)\(spectrograph)" }
    public var description: String { name }
    /// Extension name of this camera in a raw exposure file ("R0").
    public var rawHDUName: String { name.uppercased() }
    /// First fiber of this camera's spectrograph (500 fibers per spectrograph).
    public var fiberMin: Int { 500 * spectrograph }

    public static func < (a: Camera, b: Camera) -> Bool {
        (a.spectrograph, a.arm.order) < (b.spectrograph, b.arm.order)
    }

    /// Parses a comma-separated camera list ("b0,r0,z1"); "all" is not accepted here.
    public static func parseList(_ text: String) throws -> [Camera] {
        try text.split(separator: ",").map {
            let s = $0.trimmingCharacters(in: .whitespaces)
            guard let c = Camera(s) else { throw DESIError.invalidArgument("'\(s)' is not a camera name (expected e.g. b0, r1, z9)") }
            return c
        }
    }
}
