import ArgumentParser
import PSF

/// The options of `desispec psf`'s Gauss-Hermite shape fit (the full fit, as specex: Docs/psf.md).
struct PSFShapeOptions: ParsableArguments {
    @Flag(name: .customLong("no-shape-fit"), help: "Fit traces and core widths only; keep the input's GH-i-j and tail.")
    var noShapeFit = false
    @Flag(name: .customLong("fit-tails"), help: "Fit TAILAMP too (specex --fit-psf-tails); TAILCORE/XSCA/YSCA/INDE kept.")
    var fitTails = false
    @Flag(name: .customLong("fit-continuum"), inversion: .prefixedNo, help: """
        Fit the arc's continuum CONT (specex --fit-continuum); default: on for z cameras (as desispec), off otherwise.
        """)
    var fitContinuum: Bool?
    @Option(name: .customLong("shape-cycles"), help: "Shape fits, each after a trace and width fit.")
    var shapeCycles = PSFFitOptions().shapeCycles
    @Option(name: .customLong("shape-iterations"), help: "Flux / shape alternations of each shape fit.")
    var shapeIterations = PSFFitOptions().shapeIterations

    func validate() throws {
        guard shapeCycles >= 1, shapeIterations >= 1 else {
            throw ValidationError("--shape-cycles and --shape-iterations must be at least 1")
        }
    }

    func apply(to o: inout PSFFitOptions) {
        o.fitShape = !noShapeFit
        o.fitTails = fitTails
        o.fitContinuum = fitContinuum
        o.shapeCycles = shapeCycles
        o.shapeIterations = shapeIterations
    }
}
