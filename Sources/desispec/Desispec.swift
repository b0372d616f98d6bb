import ArgumentParser
import DESICore
import LinearAlgebra

/// The `desispec` executable: one subcommand per pipeline step, plus tools to inspect files.
@main
struct Desispec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "desispec",
        abstract: "DESI spectroscopic data reduction: from raw CCD exposures to calibrated spectra.",
        discussion: """
        Each step runs alone on one camera (desispec preproc ...), and drivers chain them.
        Exit codes: 0 success, 1 failure of the step (bad input, failed computation), 64 bad usage.
        Environment: DESI_SPECTRO_DATA (raw data), DESI_SPECTRO_REDUX and SPECPROD (outputs).
        """,
        version: DESIProvenance.version,
        subcommands: [
            DemoCommand.self,
            InfoCommand.self,
            SimulateCommand.self,
            PSFEvalCommand.self,
            TraceShiftCommand.self,
            PSFCommand.self, PSFNightCommand.self,
            PreprocCommand.self,
            ExtractCommand.self,
            FiberFlatCommand.self, FiberFlatNightCommand.self, SkyCommand.self,
            DiffCommand.self,
            StdStarsCommand.self,
            FluxCalibCommand.self,
            CFrameCommand.self,
            RunCommand.self,
            ProdCommand.self,
            SpectraCommand.self, CoaddCommand.self,
            QAFrameCommand.self, QAExposureCommand.self, QANightCommand.self, PlotFrameCommand.self, PlotSpectraCommand.self,
            PlotFiberCommand.self,
            ViewCommand.self,
        ]
    )

    /// BLAS on one thread from the start (BLASThreads.startSingleThreaded: the steps parallelize themselves), then
    /// the command line.
    static func main() {
        BLASThreads.startSingleThreaded()
        main(nil)
    }
}
