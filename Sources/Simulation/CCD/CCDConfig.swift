import FITS
import Foundation

/// One CCD amplifier as the simulator reads it out.
public struct AmplifierConfig: Sendable, Equatable {
    /// "A", "B", "C" or "D" (DESI layout after the ICS transform: C D on top of A B).
    public var name: String
    /// Gain in electrons per ADU.
    public var gain: Double
    /// Read noise in electrons (RMS).
    public var readNoise: Double
    /// Bias (pedestal) level in ADU.
    public var biasLevel: Double
    /// Saturation level in raw ADU, bias included (the ADC saturates at 65535 anyway).
    public var saturation: Double
    /// Dark current in electrons per pixel per second.
    public var darkCurrent: Double

    public init(name: String, gain: Double, readNoise: Double, biasLevel: Double, saturation: Double = 65535, darkCurrent: Double = 0) {
        self.name = name; self.gain = gain; self.readNoise = readNoise; self.biasLevel = biasLevel
        self.saturation = saturation; self.darkCurrent = darkCurrent
    }
}

/// A defective CCD column (in preproc-image coordinates): extra charge per pixel (hot, > 0) or a dead one (< 0 means
/// the column collects no signal).
public struct BadColumn: Sendable, Equatable {
    public var column: Int
    public var extraElectrons: Double
    public var dead: Bool
    public init(column: Int, extraElectrons: Double = 0, dead: Bool = false) {
        self.column = column; self.extraElectrons = extraElectrons; self.dead = dead
    }
}

/// A jump of an amplifier's bias level (ADU) from one of its rows on (counted from the amplifier's first data row),
/// in its data, overscan and prescan columns alike: what makes desispec subtract the overscan per row.
public struct BiasStep: Sendable, Equatable {
    public var amp: Int
    public var row: Int
    public var adu: Double
    public init(amp: Int, row: Int, adu: Double) { self.amp = amp; self.row = row; self.adu = adu }
}

/// Electronic crosstalk: `fraction` of amplifier `from`'s signal (electrons) appears, mirrored, in amplifier `to`
/// (desispec's CROSSTALK<from><to> calibration keyword; amplifiers 0-3 = A-D).
public struct Crosstalk: Sendable, Equatable {
    public var from: Int
    public var to: Int
    public var fraction: Double
    public init(from: Int, to: Int, fraction: Double) { self.from = from; self.to = to; self.fraction = fraction }
}

/// Geometry and electronics of one camera's CCD in DESI's raw layout.
///
/// Raw frame (numpy order, row 0 at the bottom), per half: `prescan` columns, the data columns, then `overscanColumns`
/// overscan columns next to the middle of the frame; the data rows of the bottom amplifiers, then `overscanRows` rows of
/// row overscan (ORSEC) for the bottom amps and as many for the top amps, then the top data rows:
///
///     C D      [prescan | data C | overscan C | overscan D | data D | prescan]
///     A B      [prescan | data A | overscan A | overscan B | data B | prescan]
///
/// With ny = 4128, nx = 4114 (a DESI preproc image) the raw frame is 4192 x 4256, as DESI's raw files.
public struct CCDConfig: Sendable, Equatable {
    public var camera: String
    public var detector: String
    /// Active (preproc) image rows and columns; both even.
    public var ny: Int
    public var nx: Int
    public var prescan: Int
    public var overscanColumns: Int
    public var overscanRows: Int
    /// Amplifiers in the order A, B, C, D.
    public var amplifiers: [AmplifierConfig]
    public var badColumns: [BadColumn]
    /// Amplitude (ADU) of a fixed bias structure: a ramp along each amplifier's rows (present in the bias
    /// calibration frame, so that subtracting the bias removes it).
    public var biasStructure: Double
    public var biasSteps: [BiasStep] = []
    public var crosstalk: [Crosstalk] = []

    public init(camera: String, detector: String, ny: Int, nx: Int, prescan: Int, overscanColumns: Int, overscanRows: Int,
                amplifiers: [AmplifierConfig], badColumns: [BadColumn] = [], biasStructure: Double = 0) {
        precondition(ny % 2 == 0 && nx % 2 == 0, "CCDConfig: ny and nx must be even")
        precondition(amplifiers.count == 4, "CCDConfig: four amplifiers A, B, C, D")
        self.camera = camera; self.detector = detector; self.ny = ny; self.nx = nx
        self.prescan = prescan; self.overscanColumns = overscanColumns; self.overscanRows = overscanRows
        self.amplifiers = amplifiers; self.badColumns = badColumns; self.biasStructure = biasStructure
    }

    /// Realistic DESI values: gains 1.45-1.80 e-/ADU (as calib-sm1-r.yaml), read noise ~3 e-, bias 1000-2000 ADU,
    /// 7 prescan and 64 overscan columns, 32 overscan rows per half (DESI's 4192 x 4256 raw frame at full size;
    /// scaled down to at most ny/8 rows for small test CCDs), dark current 0.0003 e-/pix/s (about 0.3 e- in 1000 s).
    public static func desiDefault(ny: Int = 4128, nx: Int = 4114, camera: String = "r0") -> CCDConfig {
        let amps = [
            AmplifierConfig(name: "A", gain: 1.802, readNoise: 3.1, biasLevel: 1520, darkCurrent: 3e-4),
            AmplifierConfig(name: "B", gain: 1.658, readNoise: 2.9, biasLevel: 1380, darkCurrent: 3e-4),
            AmplifierConfig(name: "C", gain: 1.513, readNoise: 3.3, biasLevel: 1710, darkCurrent: 3e-4),
            AmplifierConfig(name: "D", gain: 1.531, readNoise: 2.8, biasLevel: 1105, darkCurrent: 3e-4),
        ]
        let detector = camera.lowercased().hasPrefix("b") ? "sn22797" : "M1-12"
        return CCDConfig(camera: camera.lowercased(), detector: detector, ny: ny, nx: nx, prescan: 7, overscanColumns: 64,
                         overscanRows: min(32, max(4, ny / 8)), amplifiers: amps)
    }

    /// Raw frame shape.
    public var rawNy: Int { ny + 2 * overscanRows }
    public var rawNx: Int { nx + 2 * (prescan + overscanColumns) }

    /// Regions of one amplifier, 0-based half-open ranges (rows, columns).
    public struct AmpRegions: Sendable, Equatable {
        /// Active area in the preproc image.
        public var ccdRows: Range<Int>, ccdCols: Range<Int>
        /// Data area in the raw frame.
        public var dataRows: Range<Int>, dataCols: Range<Int>
        /// Overscan columns (BIASSEC) in the raw frame.
        public var biasRows: Range<Int>, biasCols: Range<Int>
        /// Overscan rows (ORSEC) in the raw frame.
        public var orRows: Range<Int>, orCols: Range<Int>
        /// Prescan columns in the raw frame.
        public var prescanCols: Range<Int>
    }

    /// Regions of amplifier `index` (0 = A, 1 = B, 2 = C, 3 = D).
    public func regions(amp index: Int) -> AmpRegions {
        let hy = ny / 2, hx = nx / 2
        let half = prescan + hx + overscanColumns
        let right = index == 1 || index == 3
        let top = index >= 2
        let ccdRows = top ? hy..<ny : 0..<hy
        let ccdCols = right ? hx..<nx : 0..<hx
        let dataRows = top ? (hy + 2 * overscanRows)..<(ny + 2 * overscanRows) : 0..<hy
        let orRows = top ? (hy + overscanRows)..<(hy + 2 * overscanRows) : hy..<(hy + overscanRows)
        let dataCols = right ? (half + overscanColumns)..<(half + overscanColumns + hx) : prescan..<(prescan + hx)
        let biasCols = right ? half..<(half + overscanColumns) : (prescan + hx)..<half
        let prescanCols = right ? (2 * half - prescan)..<(2 * half) : 0..<prescan
        return AmpRegions(ccdRows: ccdRows, ccdCols: ccdCols, dataRows: dataRows, dataCols: dataCols,
                          biasRows: dataRows, biasCols: biasCols, orRows: orRows, orCols: dataCols, prescanCols: prescanCols)
    }

    /// FITS section keyword "[x1:x2,y1:y2]" (1-indexed, inclusive) of 0-based half-open ranges.
    public static func section(rows: Range<Int>, cols: Range<Int>) -> String {
        "[\(cols.lowerBound + 1):\(cols.upperBound),\(rows.lowerBound + 1):\(rows.upperBound)]"
    }

    /// Camera-HDU keywords describing this CCD: CAMERA, DETECTOR, GAIN/RDNOISE/SATURLEV and the sections per amp.
    public func headerCards() -> FITSHeader {
        var h = FITSHeader()
        h.set("CAMERA", camera.lowercased(), comment: "Spectrograph Camera")
        h.set("DETECTOR", detector, comment: "CCD identifier")
        if let sp = Int(camera.suffix(1)) { h.set("SPECID", sp, comment: "spectrograph serial number") }
        h.set("CCDSIZE", "\(nx),\(ny)", comment: "active CCD size nx,ny")
        for (i, a) in amplifiers.enumerated() {
            let r = regions(amp: i)
            h.set("GAIN\(a.name)", a.gain, comment: "e/ADU amplifier \(a.name)")
            h.set("RDNOISE\(a.name)", a.readNoise, comment: "expected read noise [e-]")
            h.set("SATURLEV\(a.name)", a.saturation, comment: "saturation level [ADU]")
            h.set("CCDSEC\(a.name)", Self.section(rows: r.ccdRows, cols: r.ccdCols))
            h.set("DATASEC\(a.name)", Self.section(rows: r.dataRows, cols: r.dataCols))
            h.set("BIASSEC\(a.name)", Self.section(rows: r.biasRows, cols: r.biasCols))
            h.set("ORSEC\(a.name)", Self.section(rows: r.orRows, cols: r.orCols))
            h.set("PRESEC\(a.name)", Self.section(rows: r.dataRows, cols: r.prescanCols))
        }
        return h
    }

    /// The fixed bias structure (ADU) at raw pixel (row, col): a ramp along the rows of each amplifier's
    /// half (zero at the amplifier's first row), in data and overscan alike.
    @inlinable
    public func biasStructureValue(rawRow: Int, rawCol: Int) -> Double {
        guard biasStructure != 0 else { return 0 }
        let half = rawNy / 2
        let t = rawRow < half ? Double(rawRow) / Double(half) : Double(rawNy - 1 - rawRow) / Double(half)
        return biasStructure * t
    }

    /// Sum of the bias steps of amplifier `amp` at its data row `k` (0 = first data row).
    public func biasStep(amp: Int, row k: Int) -> Double {
        biasSteps.reduce(0) { $0 + ($1.amp == amp && k >= $1.row ? $1.adu : 0) }
    }

    /// Index of the amplifier that reads raw pixel (row, col).
    public func amplifier(rawRow: Int, rawCol: Int) -> Int {
        (rawRow < rawNy / 2 ? 0 : 2) + (rawCol < rawNx / 2 ? 0 : 1)
    }
}
