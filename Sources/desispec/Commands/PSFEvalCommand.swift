import ArgumentParser
import Foundation
import PSF

/// `desispec psf-eval PSF --fiber F --wavelength W`: trace positions and the pixel spot of a PSF, for checks
/// against specter (scripts/compare_psf_specter.py). Hidden from the help.
struct PSFEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psf-eval",
        abstract: "Evaluate a PSF: x, y and the spot at (fiber, wavelength); wavelength at (fiber, y).",
        discussion: """
        Every fiber is evaluated at every wavelength and every y.
        Example: desispec psf-eval psf.fits --fiber 0 --fiber 10 --wavelength 6000 --y 2000 --json
        """,
        shouldDisplay: false
    )

    @Argument(help: "PSF file.")
    var psf: String
    @Option(name: .long, help: "Fiber index (relative to the PSF's first fiber); repeat for several.")
    var fiber: [Int] = []
    @Option(name: .long, help: "Wavelength in Angstrom; repeat for several.")
    var wavelength: [Double] = []
    @Option(name: .long, help: "CCD row coordinate for wavelength(y); repeat for several.")
    var y: [Double] = []
    @Flag(name: .long, help: "Print JSON (otherwise a short text summary).")
    var json = false

    struct Point: Codable { var fiber: Int; var wavelength: Double; var x: Double; var y: Double
        var x0: Int; var y0: Int; var nx: Int; var ny: Int; var spot: [Double] }
    struct Inverse: Codable { var fiber: Int; var y: Double; var wavelength: Double }
    struct Output: Codable { var type: String; var nspec: Int; var points: [Point]; var inverse: [Inverse] }

    func run() throws {
        try runStep {
            let p = try readPSF(psf)
            for f in fiber where f < 0 || f >= p.nspec {
                throw ValidationError("fiber \(f) is outside 0..<\(p.nspec) of \(psf)")
            }
            var points: [Point] = [], inverse: [Inverse] = []
            for f in fiber {
                for w in wavelength {
                    let s = p.spot(fiber: f, wavelength: w)
                    points.append(Point(fiber: f, wavelength: w, x: p.x(fiber: f, wavelength: w), y: p.y(fiber: f, wavelength: w),
                                        x0: s.x0, y0: s.y0, nx: s.nx, ny: s.ny, spot: s.values))
                }
                for yy in y { inverse.append(Inverse(fiber: f, y: yy, wavelength: p.wavelength(fiber: f, y: yy))) }
            }
            let out = Output(type: String(describing: type(of: p)), nspec: p.nspec, points: points, inverse: inverse)
            if json {
                let enc = JSONEncoder()
                print(String(decoding: try enc.encode(out), as: UTF8.self))
            } else {
                print("\(out.type): \(p.nspec) fibers, \(p.wavemin)-\(p.wavemax) A, CCD \(p.npixY)x\(p.npixX)")
                for q in points {
                    print(String(format: "fiber %d  %.3f A  x=%.6f y=%.6f  stamp %dx%d at (%d,%d) sum=%.6f",
                                 q.fiber, q.wavelength, q.x, q.y, q.ny, q.nx, q.y0, q.x0, q.spot.reduce(0, +)))
                }
                for q in inverse { print(String(format: "fiber %d  y=%.3f  wavelength=%.6f A", q.fiber, q.y, q.wavelength)) }
            }
        }
    }
}
