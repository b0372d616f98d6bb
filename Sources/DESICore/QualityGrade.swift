import Foundation

/// A quality grade per spectrum, 0 (good) to 5 (failure upstream): the SEDM pipeline's scale (pysedm: 0 good,
/// 1 recovered, 2 minor problem, 3 unfixable geometry, 4 more than 20 % of the flux negative, 5 failure upstream)
/// with meanings adapted to DESI. Grades above 2 are not to be used. Docs/qa.md lists the test behind each reason.
public enum QualityGrade: Int16, Sendable, Comparable, CaseIterable {
    /// No test fired.
    case good = 0
    /// A problem the pipeline worked around (a fallback flux calibration).
    case recovered = 1
    /// Usable with care: many masked pixels, a poor extraction fit, sky residuals above the neighbours', a
    /// residual feature found by the frame diagnosis.
    case minorProblem = 2
    /// The fiber itself: FIBERSTATUS says broken / mispositioned / bad, no light, or most pixels masked.
    case badFiber = 3
    /// More than 20 % of the spectrum significantly below zero after sky subtraction.
    case negativeFlux = 4
    /// A failure before this spectrum: no valid pixel, or a calibration / CCD failure flagged in FIBERSTATUS.
    case upstreamFailure = 5

    public static func < (a: QualityGrade, b: QualityGrade) -> Bool { a.rawValue < b.rawValue }

    /// Grades 0-2 may be used in science; 3-5 may not.
    public var isUsable: Bool { self <= .minorProblem }
}

/// Why a spectrum got its grade: a short code written in QUALITY_REASONS (comma-separated), and the grade it sets.
public struct QualityReason: Sendable, Hashable {
    public let code: String
    public let grade: QualityGrade

    public init(_ code: String, _ grade: QualityGrade) { self.code = code; self.grade = grade }

    public static let fallbackCalibration = QualityReason("FCFALLBK", .recovered)
    public static let masked = QualityReason("MASKED", .minorProblem)
    public static let chi2pix = QualityReason("CHI2PIX", .minorProblem)
    public static let lowTransmission = QualityReason("LOWTRANS", .minorProblem)
    public static let skyChi2 = QualityReason("SKYCHI2", .minorProblem)
    public static let diagnosis = QualityReason("DIAGNOSIS", .minorProblem)
    public static let fiberStatus = QualityReason("FIBERSTATUS", .badFiber)
    public static let noLight = QualityReason("NOLIGHT", .badFiber)
    public static let mostlyMasked = QualityReason("MOSTLYMASKED", .badFiber)
    public static let negativeFlux = QualityReason("NEGFLUX", .negativeFlux)
    public static let upstream = QualityReason("UPSTREAM", .upstreamFailure)
    public static let noData = QualityReason("NODATA", .upstreamFailure)

    /// Every reason, in the order QUALITY_REASONS lists them.
    public static let all: [QualityReason] = [
        fallbackCalibration, masked, chi2pix, lowTransmission, skyChi2, diagnosis, fiberStatus, noLight, mostlyMasked,
        negativeFlux, upstream, noData,
    ]

    /// The grade of a code read from a file (unknown codes: nil).
    public static func grade(ofCode code: String) -> QualityGrade? { all.first { $0.code == code }?.grade }
}

/// The grade of one spectrum and its reasons.
public struct FiberQuality: Sendable, Equatable {
    public var reasons: [String]
    /// The grade read from a file, or the worst grade of the reasons.
    public var grade: QualityGrade

    public init(grade: QualityGrade = .good, reasons: [String] = []) {
        self.grade = grade
        self.reasons = reasons
    }

    public init(reasons: [QualityReason]) {
        self.init()
        for r in reasons { add(r) }
    }

    public mutating func add(_ r: QualityReason) {
        if !reasons.contains(r.code) { reasons.append(r.code) }
        grade = max(grade, r.grade)
    }

    /// The worst of two assessments, reasons united (a later stage adds to what an earlier stage found).
    public func merged(with other: FiberQuality) -> FiberQuality {
        var out = self
        for c in other.reasons where !out.reasons.contains(c) { out.reasons.append(c) }
        out.grade = max(grade, other.grade)
        let order = QualityReason.all.map(\.code)
        out.reasons.sort { (order.firstIndex(of: $0) ?? order.count) < (order.firstIndex(of: $1) ?? order.count) }
        return out
    }

    /// QUALITY_REASONS text: the codes joined by commas, empty when good.
    public var reasonsText: String { reasons.joined(separator: ",") }

    /// Parses QUALITY_REASONS text.
    public static func codes(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
