import Foundation
import LinearAlgebra

/// Deterministic damage to a FITS file, for fuzzing the readers: truncations, flipped bytes in headers and in data,
/// edited structural keywords, swapped HDUs and duplicated EXTNAMEs. Works on the bytes (no cfitsio), so it can make
/// files that cfitsio itself would refuse to write. The same file, kind and seed give the same mutated bytes.
public struct FITSMutator {
    /// One HDU of the file: where its header and its (padded) data unit lie.
    public struct HDU {
        public var headerStart: Int
        public var dataStart: Int
        public var end: Int
        /// The header's cards, 80 characters each (up to END).
        public var cards: [String]
    }

    public enum Kind: String, CaseIterable, Sendable {
        case truncate, headerFlip, dataFlip, structuralKeyword, swapHDUs, duplicateExtname
    }

    public let original: [UInt8]
    public let hdus: [HDU]

    public init(_ bytes: [UInt8]) {
        original = bytes
        hdus = FITSMutator.layout(bytes)
    }

    /// The mutation `kind` chosen by `seed`, with a one-line description of what was done.
    public func mutate(_ kind: Kind, seed: UInt64) -> (bytes: [UInt8], description: String) {
        var rng = SplitMix64(seed: seed &+ UInt64(Kind.allCases.firstIndex(of: kind) ?? 0) &* 0x9E37_79B9)
        guard !hdus.isEmpty else { return (Array(original.prefix(original.count / 2)), "truncated a non-FITS file") }
        switch kind {
        case .truncate: return truncate(&rng)
        case .headerFlip: return flip(&rng, inHeader: true)
        case .dataFlip: return flip(&rng, inHeader: false)
        case .structuralKeyword: return editKeyword(&rng)
        case .swapHDUs: return swapHDUs(&rng)
        case .duplicateExtname: return duplicateExtname(&rng)
        }
    }

    // MARK: mutations

    private func truncate(_ rng: inout SplitMix64) -> ([UInt8], String) {
        let h = hdus[rng.below(hdus.count)]
        // in the header, at the start of the data, inside the data, one byte short of the end
        let points = [h.headerStart + rng.below(max(1, h.dataStart - h.headerStart)), h.dataStart,
                      h.dataStart + rng.below(max(1, h.end - h.dataStart)), max(0, h.end - 1)]
        let at = min(original.count, points[rng.below(points.count)])
        return (Array(original.prefix(at)), "truncated at byte \(at) of \(original.count)")
    }

    private func flip(_ rng: inout SplitMix64, inHeader: Bool) -> ([UInt8], String) {
        var bytes = original
        let candidates = hdus.filter { inHeader || $0.end > $0.dataStart }
        guard let h = candidates.isEmpty ? nil : candidates[rng.below(candidates.count)] else {
            return flip(&rng, inHeader: true)
        }
        let range = inHeader ? h.headerStart..<(h.headerStart + h.cards.count * 80) : h.dataStart..<h.end
        let n = 1 + rng.below(8)
        var at: [Int] = []
        for _ in 0..<n {
            let i = range.lowerBound + rng.below(max(1, range.count))
            bytes[i] ^= UInt8(1 + rng.below(255))
            at.append(i)
        }
        return (bytes, "flipped \(n) \(inHeader ? "header" : "data") byte(s) at \(at)")
    }

    /// Structural keywords and the values a damaged header may hold.
    private static let structural = ["NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "BITPIX", "PCOUNT", "GCOUNT", "TFIELDS",
                                     "THEAP", "ZNAXIS1", "ZNAXIS2", "ZTILE1", "ZTILE2", "ZBITPIX", "TFORM1", "TFORM2",
                                     "TDIM1", "TDIM2"]
    private static let numbers = ["0", "-1", "1", "3", "7", "2147483647", "2147483648", "-2147483648",
                                  "9223372036854775807", "99999999999999", "1.5", "NAN", "1E300", "-32", "64"]
    private static let forms = ["'1000000000E'", "'-1E'", "'PJ(5)'", "'1QD(9)'", "'99999999999999999999D'", "'0A'",
                                "'Z'", "'3J'", "'1PB(2147483647)'"]

    private func editKeyword(_ rng: inout SplitMix64) -> ([UInt8], String) {
        var found: [(hdu: Int, card: Int, key: String)] = []
        for (k, h) in hdus.enumerated() {
            for (i, c) in h.cards.enumerated() {
                let key = String(c.prefix(8)).trimmingCharacters(in: .whitespaces)
                if FITSMutator.structural.contains(key) || key.hasPrefix("TFORM") || key.hasPrefix("TDIM") {
                    found.append((k, i, key))
                }
            }
        }
        guard !found.isEmpty else { return flip(&rng, inHeader: true) }
        // an HDU first, then one of its keywords: image HDUs (few keywords) are edited as often as tables (many)
        let inHDU = Set(found.map(\.hdu)).sorted()
        let hdu = inHDU[rng.below(inHDU.count)]
        let ofHDU = found.filter { $0.hdu == hdu }
        let pick = ofHDU[rng.below(ofHDU.count)]
        let original = hdus[pick.hdu].cards[pick.card]
        let value: String
        if pick.key.hasPrefix("TFORM") || pick.key.hasPrefix("TDIM") {
            value = pick.key.hasPrefix("TDIM") ? "'(999999,999999)'" : FITSMutator.forms[rng.below(FITSMutator.forms.count)]
        } else if rng.below(3) == 0, let old = Int(FITSMutator.value(of: original)) {
            value = String([old * 2, old + 1, old - 1, old * 1000][rng.below(4)])
        } else {
            value = FITSMutator.numbers[rng.below(FITSMutator.numbers.count)]
        }
        let card = FITSMutator.card(pick.key, value)
        return (replacingCard(pick.hdu, pick.card, with: card), "HDU \(pick.hdu): \(pick.key) = \(value)")
    }

    private func swapHDUs(_ rng: inout SplitMix64) -> ([UInt8], String) {
        guard hdus.count >= 3 else { return truncate(&rng) }
        // extensions only: the primary HDU must stay first to be FITS at all (a swap with it is also tried rarely)
        let a = rng.below(8) == 0 ? 0 : 1 + rng.below(hdus.count - 1)
        var b = 1 + rng.below(hdus.count - 1)
        if b == a { b = a == hdus.count - 1 ? 1 : a + 1 }
        let (i, j) = (min(a, b), max(a, b))
        let part = { (k: Int) in Array(self.original[self.hdus[k].headerStart..<self.hdus[k].end]) }
        var bytes = Array(original[0..<hdus[i].headerStart])
        bytes += part(j)
        bytes += Array(original[hdus[i].end..<hdus[j].headerStart])
        bytes += part(i)
        bytes += Array(original[hdus[j].end...])
        return (bytes, "swapped HDUs \(i) and \(j)")
    }

    private func duplicateExtname(_ rng: inout SplitMix64) -> ([UInt8], String) {
        var named: [(hdu: Int, card: Int, value: String)] = []
        for (k, h) in hdus.enumerated() {
            if let i = h.cards.firstIndex(where: { $0.hasPrefix("EXTNAME ") }) { named.append((k, i, FITSMutator.value(of: h.cards[i]))) }
        }
        guard named.count >= 2 else { return editKeyword(&rng) }
        let from = named[rng.below(named.count)]
        var to = named[rng.below(named.count)]
        if to.hdu == from.hdu { to = named[(named.firstIndex { $0.hdu == from.hdu }! + 1) % named.count] }
        let card = FITSMutator.card("EXTNAME", from.value)
        return (replacingCard(to.hdu, to.card, with: card), "HDU \(to.hdu) renamed \(from.value) (the name of HDU \(from.hdu))")
    }

    private func replacingCard(_ hdu: Int, _ index: Int, with card: String) -> [UInt8] {
        var bytes = original
        let start = hdus[hdu].headerStart + index * 80
        let text = Array(card.utf8)
        for i in 0..<80 { bytes[start + i] = i < text.count ? text[i] : 0x20 }
        return bytes
    }

    // MARK: parsing

    static func card(_ key: String, _ value: String) -> String {
        let v = value.count < 20 ? String(repeating: " ", count: 20 - value.count) + value : value
        return String((key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= " + v).prefix(80))
    }

    static func value(of card: String) -> String {
        guard card.count > 10 else { return "" }
        var v = String(card.dropFirst(10))
        if let slash = v.firstIndex(of: "/"), !v.trimmingCharacters(in: .whitespaces).hasPrefix("'") { v = String(v[..<slash]) }
        return v.trimmingCharacters(in: .whitespaces)
    }

    /// HDUs found by walking 2880-byte blocks: header cards up to END, then the data unit that BITPIX, NAXISn,
    /// PCOUNT and GCOUNT declare (padded to a block). Stops at anything that does not parse.
    static func layout(_ bytes: [UInt8]) -> [HDU] {
        var hdus: [HDU] = []
        var pos = 0
        while pos + 2880 <= bytes.count {
            var cards: [String] = []
            var p = pos
            var ended = false
            while p + 80 <= bytes.count, cards.count < 100_000 {
                let card = String(decoding: bytes[p..<(p + 80)], as: UTF8.self)
                cards.append(card)
                p += 80
                if card.hasPrefix("END ") || card == "END" + String(repeating: " ", count: 77) { ended = true; break }
            }
            guard ended else { break }
            let dataStart = ((p + 2879) / 2880) * 2880
            func int(_ key: String) -> Int? {
                cards.first { $0.hasPrefix(key.padding(toLength: 8, withPad: " ", startingAt: 0) + "=") }
                    .flatMap { Int(value(of: $0)) }
            }
            guard let bitpix = int("BITPIX"), let naxis = int("NAXIS") else { break }
            var size = 0
            if naxis > 0 {
                size = 1
                for i in 1...naxis { size *= max(0, int("NAXIS\(i)") ?? 0) }
            }
            size = abs(bitpix) / 8 * (int("GCOUNT") ?? 1) * ((int("PCOUNT") ?? 0) + size)
            let end = min(bytes.count, dataStart + ((size + 2879) / 2880) * 2880)
            hdus.append(HDU(headerStart: pos, dataStart: min(dataStart, bytes.count), end: end, cards: cards))
            guard end > pos else { break }
            pos = end
        }
        return hdus
    }
}

extension SplitMix64 {
    /// A value in 0..<n (n > 0), for picking mutation sites.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
}
