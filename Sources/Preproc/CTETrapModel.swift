import DESICore
import Foundation

/// How a charge trap in the serial register exchanges electrons with the pixels that pass through it
/// (desispec.correct_cte's transfer functions). Each returns the electrons given back to the pixel (negative: taken
/// from it) for a pixel holding `pixel` electrons (clipped at 0) when the trap holds `inTrap`.
public enum CTETransfer: Sendable, Equatable {
    /// desispec's simplified_regnault: leak out inTrap x fracleak (at most inTrap), capture
    /// pixel x (1 - inTrap / amplitude), between 0 and min(pixel, amplitude - inTrap).
    case simplifiedRegnault(amplitude: Double, fracleak: Double)
    /// desispec's cte_transfer_amount_regnault (Regnault et al.): leak out fout x cmax x (inTrap / cmax)^alpha (at most
    /// inTrap), capture fin x (1 - inTrap / cmax)^alpha' x pixel^beta' (alpha', beta' clipped at 0), between 0 and
    /// min(pixel, cmax - inTrap).
    case regnault(cmax: Double, fin: Double, fout: Double, alpha: Double, beta: Double)

    /// The function named FUNC in a ctecorr file, with its parameters (AMPLITUDE, FRACLEAK or CMAX, FIN, FOUT, ALPHA,
    /// BETA); `source` names the file in errors.
    public static func named(_ name: String, parameters p: [String: Double], source: String) throws -> CTETransfer {
        func need(_ k: String) throws -> Double {
            guard let v = p[k] else { throw DESIError.badFile(path: source, problem: "CTE function \(name) needs \(k)") }
            return v
        }
        switch name {
        case "simplified_regnault": return .simplifiedRegnault(amplitude: try need("AMPLITUDE"), fracleak: try need("FRACLEAK"))
        case "regnault":
            return .regnault(cmax: try need("CMAX"), fin: try need("FIN"), fout: try need("FOUT"), alpha: try need("ALPHA"),
                             beta: try need("BETA"))
        default: throw DESIError.badFile(path: source, problem: "no CTE transfer function called '\(name)'")
        }
    }

    /// numpy.clip(v, lo, hi) = min(max(v, lo), hi) (hi wins when lo > hi, as numpy).
    @inline(__always) static func clip(_ v: Double, _ lo: Double, _ hi: Double) -> Double { min(max(v, lo), hi) }

    @inline(__always)
    func amount(pixel: Double, inTrap: Double) -> Double {
        switch self {
        case .simplifiedRegnault(let amplitude, let fracleak):
            let maxIn = min(pixel, amplitude - inTrap)
            let out = Self.clip(inTrap * fracleak, 0, inTrap)
            return out - Self.clip(pixel * (1 - inTrap / amplitude), 0, maxIn)
        case .regnault(let cmax, let fin, let fout, let alpha, let beta):
            let out = Self.clip(fout * cmax * pow(inTrap / cmax, alpha), 0, inTrap)
            let maxIn = min(pixel, cmax - inTrap)
            let a = max(alpha, 0), b = max(beta, 0)
            return out - Self.clip(fin * pow(1 - inTrap / cmax, a) * pow(pixel, b), 0, maxIn)
        }
    }
}

/// One trap of an amplifier: the trap's position, counted in pixels from the readout along the serial register,
/// and its transfer function. Every pixel at or beyond that position passes through it.
public struct CTETrap: Sendable, Equatable {
    public var location: Int
    public var transfer: CTETransfer
    public init(location: Int, transfer: CTETransfer) { self.location = location; self.transfer = transfer }
}

/// The forward model of charge transfer inefficiency (desispec.correct_cte.add_cte and apply_multiple_cte_effects).
public enum CTETrapModel {
    /// Adds the effect of `transfer` to the pixels [first, nx) of each of `rows` rows of a row-major block of width nx,
    /// read out toward column `first` (add_cte): per row, the trap starts empty, and the pixels are transferred in
    /// order; each gives or takes amount(max(pixel, 0), inTrap) and the trap's content changes by the opposite.
    public static func add(_ transfer: CTETransfer, to block: inout [Double], rows: Int, nx: Int, first: Int) {
        guard first < nx else { return }
        for r in 0..<rows {
            var inTrap = 0.0
            let o = r * nx
            for c in first..<nx {
                let t = transfer.amount(pixel: max(block[o + c], 0), inTrap: inTrap)
                inTrap -= t
                block[o + c] += t
            }
        }
    }

    /// Applies several traps to an amplifier block read out toward column 0 (apply_multiple_cte_effects): the trap
    /// farthest from the readout first, each on the pixels at and beyond it as the previous traps left them.
    public static func apply(_ traps: [CTETrap], to block: inout [Double], rows: Int, nx: Int) {
        let order = traps.indices.sorted {
            traps[$0].location > traps[$1].location || (traps[$0].location == traps[$1].location && $0 < $1)
        }
        for k in order { add(traps[k].transfer, to: &block, rows: rows, nx: nx, first: max(0, traps[k].location)) }
    }
}
