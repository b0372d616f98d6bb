import Foundation
import XCTest

@testable import LinearAlgebra

/// SameModeConvolution2D against the direct sum of "same" mode: out(y, x) = sum img(j, i) k(y + oy - j, x + ox - i),
/// oy = (kny - 1) / 2, ox = (knx - 1) / 2 (scipy.signal.fftconvolve(..., mode='same') for odd kernels).
final class FFTConvolution2DTests: XCTestCase {
    func directSame(_ img: [Double], ny: Int, nx: Int, _ k: [Double], kny: Int, knx: Int) -> [Double] {
        let oy = (kny - 1) / 2, ox = (knx - 1) / 2
        var out = [Double](repeating: 0, count: ny * nx)
        for y in 0..<ny {
            for x in 0..<nx {
                var s = 0.0
                for j in 0..<ny {
                    let ky = y + oy - j
                    guard ky >= 0, ky < kny else { continue }
                    for i in 0..<nx {
                        let kx = x + ox - i
                        if kx >= 0 && kx < knx { s += img[j * nx + i] * k[ky * knx + kx] }
                    }
                }
                out[y * nx + x] = s
            }
        }
        return out
    }

    /// Several tiles (kernel small against the image), one tile (kernel larger than the image), non-square
    /// kernels and images, an asymmetric kernel (to catch a flipped kernel).
    func testMatchesTheDirectSum() {
        var rng = SplitMix64(seed: 3)
        for (ny, nx, kny, knx) in [(40, 37, 5, 3), (23, 61, 7, 7), (30, 20, 41, 61), (1, 9, 1, 3), (64, 50, 15, 9)] {
            let img = (0..<(ny * nx)).map { _ in rng.uniform() * 100 - 20 }
            let k = (0..<(kny * knx)).map { i in Double(i % 7) + rng.uniform() }
            let conv = SameModeConvolution2D(kernel: k, kny: kny, knx: knx, imageNy: ny, imageNx: nx)
            let fast = conv.apply(img, ny: ny, nx: nx)
            let slow = directSame(img, ny: ny, nx: nx, k, kny: kny, knx: knx)
            let scale = k.reduce(0) { $0 + abs($1) } * 100
            var worst = 0.0
            for i in fast.indices { worst = max(worst, abs(fast[i] - slow[i])) }
            XCTAssertLessThan(worst, 1e-12 * scale, "image \(ny) x \(nx), kernel \(kny) x \(knx)")
        }
    }
}
