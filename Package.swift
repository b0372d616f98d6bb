// swift-tools-version: 6.0
// desispec in Swift: DESI spectroscopic data reduction.
// Dependency direction: C shims <- FITS, LinearAlgebra <- DESICore <- stage modules <- desispec (CLI).
// A stage module depends on DESICore and LinearAlgebra (and PSF where it needs the optics), never on a sibling's internals.
import Foundation   // the build machine's CPU flags (/proc/cpuinfo), for the code generation below
import PackageDescription

/// Swift code is compiled for x86-64-v3 (AVX2, FMA, BMI2: `-target-cpu haswell`) when the build machine has it, so that
/// the SIMD4<Double> kernels (trace shifts, sky, extraction) use one 256-bit register instead of two SSE ones: 5-27 %
/// less CPU per step on a full-size camera, outputs bit-identical (Swift asks LLVM for no fused multiply-add and no
/// reordered sum; Docs/performance.md "Session 10"). DESISPEC_TARGET_CPU overrides it: a CPU name swiftc knows
/// (haswell, znver3, ...), or `generic` for the baseline x86-64 (a binary to copy to machines without AVX2).
/// Targets of other CPUs (arm64) and builds on macOS keep the compiler's default.
let targetCPUSettings: [SwiftSetting] = {
    if let cpu = ProcessInfo.processInfo.environment["DESISPEC_TARGET_CPU"], !cpu.isEmpty {
        return cpu == "generic" ? [] : [.unsafeFlags(["-target-cpu", cpu])]
    }
    #if arch(x86_64) && os(Linux)
    // FileHandle: Data(contentsOf:) reads only the first 4 KB of a /proc file
    guard let data = FileHandle(forReadingAtPath: "/proc/cpuinfo")?.readDataToEndOfFile(),
          let flagsLine = String(decoding: data, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return [] }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    return ["avx2", "fma", "bmi2"].allSatisfy(flags.contains) ? [.unsafeFlags(["-target-cpu", "haswell"])] : []
    #else
    return []
    #endif
}()

let package = Package(
    name: "desispec",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "desispec", targets: ["desispec"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C libraries from Debian: libcfitsio-dev, liblapacke-dev, libopenblas-dev.
        .systemLibrary(name: "CFITSIO", pkgConfig: "cfitsio", providers: [.apt(["libcfitsio-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CLAPACK", pkgConfig: "lapacke", providers: [.apt(["liblapacke-dev", "libopenblas-dev"])]),

        .target(name: "FITS", dependencies: ["CFITSIO"]),
        .target(name: "LinearAlgebra", dependencies: ["CLAPACK"]),
        .target(name: "DESICore", dependencies: ["FITS", "LinearAlgebra", .product(name: "Logging", package: "swift-log")],
                resources: [.copy("Resources/filters")]),   // speclite's filter curves (BSD licence, see Docs/stdstars.md)

        // Stages.
        .target(name: "PSF", dependencies: ["DESICore", "FITS", "LinearAlgebra"],
                resources: [.copy("Resources/arclines"),      // DESI arc line lists (BSD licence, see Docs/psf.md)
                            .copy("Resources/sky")]),         // desispec's sky line spectrum for traceshift --sky (BSD)
        .target(name: "Preproc", dependencies: ["DESICore", "FITS", "LinearAlgebra"]),
        .target(name: "Extraction", dependencies: ["PSF", "DESICore", "FITS", "LinearAlgebra"]),
        .target(name: "Simulation", dependencies: ["PSF", "DESICore", "FITS", "LinearAlgebra"]),
        .target(name: "FiberFlatFit", dependencies: ["DESICore", "FITS", "LinearAlgebra"]),
        .target(name: "Sky", dependencies: ["DESICore", "FITS", "LinearAlgebra"]),
        .target(name: "StdStars", dependencies: ["DESICore", "FITS", "LinearAlgebra"]),
        .target(name: "FluxCalib", dependencies: ["DESICore", "FITS", "LinearAlgebra"]),
        .target(name: "Coadd", dependencies: ["DESICore", "FITS", "LinearAlgebra"]),

        // Figures for people: axes, lines, images with zscale, colour maps, PNG output (cairo).
        .target(name: "Plot", dependencies: ["CCairo"]),

        // Quality assurance: metrics of each frame, the diagnosis of residual features, figures and HTML.
        .target(name: "QA", dependencies: ["DESICore", "FITS", "LinearAlgebra", "Plot"]),

        // The interactive spectrum viewer: one self-contained HTML page (Debian's dygraphs inline, data as float32 base64).
        .target(name: "Viewer", dependencies: ["DESICore", "FITS", "LinearAlgebra", "QA"], resources: [.copy("Resources")]),

        // Knows the order of the steps: task graph, production state database, local and Slurm runners.
        .target(name: "Pipeline", dependencies: ["DESICore", "FITS", "CSQLite"]),

        .executableTarget(name: "desispec", dependencies: [
            "FITS", "LinearAlgebra", "DESICore", "PSF", "Preproc", "Extraction", "Simulation",
            "FiberFlatFit", "Sky", "StdStars", "FluxCalib", "Coadd", "Pipeline", "Plot", "QA", "Viewer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Helpers shared by test targets (random numbers, synthetic frames); only test targets depend on it.
        .target(name: "TestSupport", dependencies: ["DESICore", "FITS", "LinearAlgebra", "Simulation", "StdStars"],
                path: "Tests/TestSupport"),

        .testTarget(name: "FITSTests", dependencies: ["FITS", "LinearAlgebra"]),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra"]),
        .testTarget(name: "DESICoreTests", dependencies: ["DESICore", "FITS", "TestSupport"]),
        .testTarget(name: "PSFTests", dependencies: ["PSF", "DESICore", "FITS"]),
        .testTarget(name: "PreprocTests", dependencies: ["Preproc", "Simulation", "PSF", "DESICore", "FITS"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "PSF", "DESICore", "FITS"]),
        .testTarget(name: "ExtractionTests", dependencies: ["Extraction", "Simulation", "PSF", "DESICore", "FITS"]),
        .testTarget(name: "FiberFlatTests", dependencies: ["FiberFlatFit", "DESICore", "FITS", "TestSupport"]),
        .testTarget(name: "SkyTests", dependencies: ["Sky", "DESICore", "FITS", "TestSupport"]),
        .testTarget(name: "StdStarsTests", dependencies: ["StdStars", "DESICore", "FITS", "TestSupport"]),
        .testTarget(name: "FluxCalibTests", dependencies: ["FluxCalib", "StdStars", "DESICore", "FITS", "TestSupport"]),
        .testTarget(name: "CoaddTests", dependencies: ["Coadd", "DESICore", "FITS"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "DESICore", "FITS"]),
        .testTarget(name: "PlotTests", dependencies: ["Plot"]),
        .testTarget(name: "QATests", dependencies: ["QA", "DESICore", "FITS", "Plot", "TestSupport", "Preproc", "Simulation"]),
        .testTarget(name: "ViewerTests", dependencies: ["Viewer", "QA", "DESICore", "FITS", "TestSupport"]),
        // Loads the demo production's HTML pages in headless chromium through chromedriver (skipped without them).
        .testTarget(name: "BrowserTests", dependencies: ["Viewer", "DESICore", "FITS"]),
        // Reads the source tree: the dependency direction, C shims in their modules, thin subcommands, line length.
        .testTarget(name: "ArchitectureTests"),
        // Runs the built `desispec` binary.
        .testTarget(name: "CLITests", dependencies: ["DESICore", "FITS", "LinearAlgebra", "Plot", "TestSupport"]),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + targetCPUSettings
}
