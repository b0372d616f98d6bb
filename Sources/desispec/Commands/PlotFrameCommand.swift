import ArgumentParser
import DESICore
import Foundation
import QA

/// `desispec plot-frame FILE`: a frame, sframe, cframe, sky or fiber-flat file as an image, one row per fiber,
/// wavelength along x, grey levels by zscale (what the DESI QA tutorial does with ds9 on sframes).
struct PlotFrameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-frame",
        abstract: "Image of a frame-like file: one row per fiber, wavelength along x, zscale grey levels.",
        discussion: "Example: desispec plot-frame sframe-r0-00012345.fits --fibers 50:100,4 --rebin 4 -o sframe.png"
    )

    @Argument(help: "frame, sframe, cframe, sky or fiberflat file.")
    var file: String
    @Flag(name: .customLong("sky-fibers"), help: "Show only the sky fibers (OBJTYPE SKY).")
    var skyFibers = false
    @Option(name: .long, help: "Fibers to show: numbers and ranges 'a:b' (b excluded), comma-separated, e.g. 50:60,4.")
    var fibers: String?
    @Option(name: .long, help: "Average this many wavelength pixels (ivar-weighted).")
    var rebin = 1
    @Option(name: .shortAndLong, help: "Output PNG (default: the file's name with .png, in the current folder).")
    var output: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("plot-frame")
        try runStep {
            guard rebin >= 1 else { throw DESIError.invalidArgument("--rebin must be at least 1, got \(rebin)") }
            let input = try SpectralFileReader.read(file)
            let (frame, kind) = (input.product.perFiber, input.kind)
            var rows = Array(0..<frame.nspec)
            let fiberNumbers = frame.fibers
            if let text = fibers {
                let wanted = try FiberSelection.parse(text)
                rows = rows.filter { wanted.contains(fiberNumbers[$0]) }
                guard !rows.isEmpty else {
                    let range = "fibers \(fiberNumbers.first ?? 0)-\(fiberNumbers.last ?? 0)"
                    throw DESIError.invalidArgument("\(file): none of the fibers \(text) is in this file (\(range))")
                }
            }
            if skyFibers {
                guard let fm = frame.rowFibermap else {
                    throw DESIError.badFile(path: file, problem: "no FIBERMAP HDU: cannot tell the sky fibers")
                }
                let sky = Set(fm.rows(objtype: "SKY"))
                rows = rows.filter { sky.contains($0) }
                guard !rows.isEmpty else {
                    throw DESIError.badFile(path: file, problem: "no sky fibers (OBJTYPE SKY) among the selected fibers")
                }
            }
            guard frame.nwave / rebin >= 2 else {
                throw DESIError.invalidArgument("--rebin \(rebin) leaves fewer than 2 wavelength bins of \(frame.nwave)")
            }
            let out = output ?? (((file as NSString).lastPathComponent as NSString).deletingPathExtension + ".png")
            let name = (file as NSString).lastPathComponent
            let what = skyFibers ? "sky fibers" : (fibers != nil ? "fibers \(fibers!)" : "all fibers")
            try Figures.frameImage(frame, rows: rows.count == frame.nspec ? nil : rows, rebinFactor: rebin,
                                   title: "\(name) (\(kind.rawValue), \(what))", path: out)
            log.info("wrote \(out)")
        }
    }
}

/// Fiber lists on the command line: "50:60,4" is fibers 50 to 59 and 4 (python slice-like ranges).
enum FiberSelection {
    static func parse(_ text: String) throws -> Set<Int> {
        var out = Set<Int>()
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let ends = part.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if ends.count == 2, let a = Int(ends[0]), let b = Int(ends[1]), a < b, a >= 0 {
                out.formUnion(a..<b)
            } else if ends.count == 1, let a = Int(part), a >= 0 {
                out.insert(a)
            } else {
                throw DESIError.invalidArgument("'\(part)' in --fibers '\(text)' is not a fiber number or a range a:b with a < b")
            }
        }
        guard !out.isEmpty else { throw DESIError.invalidArgument("--fibers '\(text)' selects no fiber") }
        return out
    }
}
