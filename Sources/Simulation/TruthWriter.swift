import DESICore
import FITS
import Foundation

/// Writes truth-EXPID.fits: for each camera CAM, images CAM_WAVELENGTH [nwave], CAM_ELECTRONS (expected extracted
/// electrons/A), CAM_FLUX (object flux above the atmosphere, 1e-17 erg/s/cm2/A), CAM_SKY (sky flux in the fiber),
/// CAM_CALIB (electrons/A per unit object flux), all [nspec, nwave], CAM_THROUGHPUT [nwave], CAM_FIBERTHRU [nspec],
/// and optionally CAM_IMAGE, the noiseless electron image [ny, nx].
public enum TruthWriter {
    public static func write(path: String, exposures: [CameraExposure], header: FITSHeader, includeImages: Bool) throws {
        try FITSFile.writeAtomically(path) { f in
            var h = header
            h.set("CAMERAS", exposures.map(\.camera.name).joined(separator: ","))
            try f.writeEmptyHDU(name: "TRUTH", header: h)
            for e in exposures {
                let t = e.truth, cam = e.camera.name.uppercased(), nw = t.wave.count
                var wh = FITSHeader(); wh.set("BUNIT", "Angstrom")
                try f.writeImage(t.wave, shape: [nw], name: "\(cam)_WAVELENGTH", header: wh)
                func img(_ data: [Double], _ name: String, _ unit: String) throws {
                    var ih = FITSHeader(); ih.set("BUNIT", unit); ih.set("CAMERA", e.camera.name)
                    try f.writeImage(data.map(Float.init), shape: [t.nspec, nw], name: "\(cam)_\(name)", header: ih)
                }
                try img(t.electrons, "ELECTRONS", "electron/Angstrom")
                try img(t.objectFlux, "FLUX", "10**-17 erg/(s cm2 Angstrom)")
                try img(t.skyFlux, "SKY", "10**-17 erg/(s cm2 Angstrom)")
                try img(t.calibration, "CALIB", "electron/Angstrom per 10**-17 erg/(s cm2 Angstrom)")
                try f.writeImage(t.throughput, shape: [nw], name: "\(cam)_THROUGHPUT")
                try f.writeImage(t.fiberThroughput, shape: [t.nspec], name: "\(cam)_FIBERTHRU")
                if includeImages {
                    var ih = FITSHeader(); ih.set("BUNIT", "electron")
                    try f.writeImage(e.expectedElectrons, shape: [e.ny, e.nx], name: "\(cam)_IMAGE", header: ih)
                }
            }
        }
    }
}
