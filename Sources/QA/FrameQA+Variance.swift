import Foundation

extension FrameQA {
    /// Adds the variance-model check as the VARIANCE family, before WARNINGS, and its warnings prefixed "VARIANCE: ".
    mutating func addVariance(_ check: VarianceCheck) {
        let added = check.warnings.map { "VARIANCE: \($0)" }
        warnings += added
        guard case .dict(var items) = qa else { return }
        let w = items.firstIndex { $0.0 == "WARNINGS" } ?? items.endIndex
        items.insert(("VARIANCE", check.qaValue), at: w)
        if let i = items.firstIndex(where: { $0.0 == "WARNINGS" }) { items[i].1 = .list(warnings.map { .string($0) }) }
        qa = .dict(items)
    }
}
