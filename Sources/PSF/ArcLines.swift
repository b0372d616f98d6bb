import DESICore
import FITS
import Foundation

/// One arc-lamp emission line: vacuum wavelength (Angstrom) and a relative intensity (electrons in a typical
/// DESI arc exposure for the built-in list and the measured list; any positive scale otherwise, 1 when unknown).
public struct ArcLine: Sendable, Equatable {
    public var wavelength: Double
    public var intensity: Double
    public init(wavelength: Double, intensity: Double = 1) { self.wavelength = wavelength; self.intensity = intensity }
}

/// Arc-lamp line lists shared by the simulator (which draws arcs with them) and the PSF fit (which measures the
/// lines on arcs). The PSF fit must use the list the lamps follow: for simulated arcs, the list the simulator used.
public enum ArcLamps {
    /// Vacuum wavelength (Angstrom) of an air wavelength, with the refractive index of standard air
    /// (Ciddor 1996 / Morton 2000 formula, as desispec/specter's air-to-vacuum conversions use).
    public static func airToVacuum(_ air: Double) -> Double {
        let s2 = pow(1e4 / air, 2)
        let n = 1 + 0.0000834254 + 0.02406147 / (130 - s2) + 0.00015998 / (38.9 - s2)
        return air * n
    }

    /// Bright Hg, Cd, Ne, Ar, Kr lamp lines: air wavelengths from NIST, rough relative electron counts in a DESI
    /// arc exposure of 5 s (the simulator's built-in arc).
    public static let builtinAir: [(air: Double, electrons: Double)] = [
        (3610.51, 3000), (4046.56, 8000), (4358.33, 20000), (4678.16, 4000), (4799.91, 6000), (5085.82, 8000),
        (5460.74, 30000), (5769.60, 6000), (5790.66, 6000), (5852.49, 15000), (5881.90, 6000), (6029.99, 3000),
        (6074.34, 6000), (6143.06, 12000), (6163.59, 6000), (6217.28, 5000), (6266.50, 7000), (6334.43, 8000),
        (6382.99, 10000), (6402.25, 25000), (6438.47, 10000), (6506.53, 12000), (6598.95, 7000), (6678.28, 9000),
        (6717.04, 5000), (6929.47, 12000), (7032.41, 15000), (7245.17, 6000), (7438.90, 4000), (7503.87, 12000),
        (7601.54, 5000), (7635.11, 15000), (7948.18, 10000), (8059.50, 3000), (8104.36, 5000), (8115.31, 20000),
        (8190.05, 4000), (8264.52, 12000), (8298.11, 4000), (8408.21, 10000), (8424.65, 12000), (8776.75, 6000),
        (8928.69, 3000), (9122.97, 15000), (9224.50, 6000), (9657.78, 9000),
    ]

    /// The built-in list in vacuum: a short list for tests and tools; no command falls back to it.
    public static func builtin() -> [ArcLine] {
        builtinAir.map { ArcLine(wavelength: airToVacuum($0.air), intensity: $0.electrons) }
    }

    /// The measured list of a data folder (layout of ../shared/data), relative to it: the same file as the
    /// shipped `measured` list.
    public static let measuredListPath = "spectra/arc-lines-average-in-vacuum.fits"

    /// Line lists shipped with the project (Sources/PSF/Resources/arclines, see its README.md for their origin
    /// and licence), by the name `--lines` accepts: `measured` (DESI's arc-lines-average-in-vacuum.fits, 159
    /// lines with measured electron counts: the default of `desispec psf` and the list `desispec simulate` draws
    /// arcs with) and `specex` (desispec's specex_linelist.txt, relative intensities).
    public static let shippedLists = ["measured": "arc-lines-average-in-vacuum.fits", "specex": "specex_linelist.txt"]

    /// Path of a shipped list (`shippedLists`).
    public static func shippedPath(_ name: String) throws -> String {
        guard let file = shippedLists[name] else {
            throw DESIError.invalidArgument("no shipped line list '\(name)' (known: \(shippedLists.keys.sorted().joined(separator: ", ")))")
        }
        let base = (file as NSString).deletingPathExtension, ext = (file as NSString).pathExtension
        guard let url = Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "arclines") else {
            throw DESIError.badFile(path: "\(Bundle.module.bundlePath)/arclines/\(file)",
                                    problem: "the shipped line list is missing from the PSF module's resources")
        }
        return url.path
    }

    /// The shipped measured list (the default of `desispec psf` and of the simulator's arcs).
    public static func measured() throws -> [ArcLine] { try read(shippedPath("measured")) }

    /// A line list by `--lines` argument: a shipped list's name (`shippedLists`) or a file. Returns the lines
    /// and where they came from; nil: the shipped measured list.
    public static func resolve(_ argument: String?) throws -> (lines: [ArcLine], source: String) {
        let name = argument ?? "measured"
        let path = shippedLists[name] != nil ? try shippedPath(name) : name
        return (try read(path), path)
    }

    /// Reads a line list:
    /// - FITS: the first table HDU with a VACUUM_WAVE (or WAVE / WAVELENGTH) column and optional ELECTRONS
    ///   (or INTENSITY / RELINT); lines with zero or negative ELECTRONS are left out (as the simulator does);
    /// - text: one line per row, '#' comments; the first numeric field is the vacuum wavelength, the next numeric
    ///   field (if any) the intensity. A header row naming a `wave` column (specex_linelist.txt: Ion wave score
    ///   RelInt) selects the wavelength column and RelInt the intensity.
    /// Lines are returned sorted by wavelength.
    public static func read(_ path: String) throws -> [ArcLine] {
        guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such line list") }
        let isFITS: Bool = {
            guard let h = FileHandle(forReadingAtPath: path) else { return false }
            defer { try? h.close() }
            return h.readData(ofLength: 6) == Data("SIMPLE".utf8)
        }()
        let lines = isFITS ? try readFITS(path) : try readText(path)
        guard !lines.isEmpty else { throw DESIError.badFile(path: path, problem: "no arc lines in the list") }
        return lines.sorted { $0.wavelength < $1.wavelength }
    }

    static func readFITS(_ path: String) throws -> [ArcLine] {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        for hdu in 1..<max(f.hduCount, 1) {
            try f.moveTo(index: hdu)
            if let t = try? f.readTable() {
                let waveCol = ["VACUUM_WAVE", "WAVE", "WAVELENGTH"].lazy.compactMap { t[$0]?.data.doubles }.first
                if let w = waveCol {
                    let e = ["ELECTRONS", "INTENSITY", "RELINT"].lazy.compactMap { t[$0]?.data.doubles }.first
                    var out = [ArcLine]()
                    for i in 0..<w.count {
                        let v = e?[i] ?? 1
                        if v > 0 && w[i].isFinite { out.append(ArcLine(wavelength: w[i], intensity: v)) }
                    }
                    return out
                }
            }
        }
        throw DESIError.badFile(path: path, problem: "no table with a VACUUM_WAVE, WAVE or WAVELENGTH column")
    }

    static func readText(_ path: String) throws -> [ArcLine] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DESIError.badFile(path: path, problem: "cannot read the line list as text")
        }
        var waveIndex: Int? = nil, intensityIndex: Int? = nil
        var out = [ArcLine]()
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
            let numbers = fields.map { Double($0) }
            if numbers.allSatisfy({ $0 == nil }) {
                // A header row: find the wavelength and intensity columns by name.
                let lower = fields.map { $0.lowercased() }
                waveIndex = lower.firstIndex { $0 == "wave" || $0 == "wavelength" || $0 == "vacuum_wave" }
                intensityIndex = lower.firstIndex { $0 == "relint" || $0 == "intensity" || $0 == "electrons" }
                continue
            }
            let w: Double?
            var v = 1.0
            if let wi = waveIndex {
                w = wi < numbers.count ? numbers[wi] : nil
                if let ii = intensityIndex, ii < numbers.count, let x = numbers[ii] { v = x }
            } else {
                let num = numbers.compactMap { $0 }
                w = num.first
                if num.count > 1 { v = num[1] }
            }
            guard let wave = w, wave > 1000, wave < 20000 else {
                throw DESIError.badFile(path: path, problem: "row '\(line)' has no wavelength in Angstrom")
            }
            out.append(ArcLine(wavelength: wave, intensity: v > 0 ? v : 1))
        }
        return out
    }
}
