import Foundation

// Where the production's interactive viewer pages (`desispec view`) go, beside the QA pages that link them:
//   QA/exposures/NIGHT/EXPID/view-PETAL-EXPID.html               the cframes of one exposure and petal
//   QA/tiles/cumulative/TILE/NIGHT/view-coadd-PETAL-TILE-thruNIGHT.html   one coadd
extension FileLayout {
    /// The viewer page of one exposure and petal in the exposure's QA `folder`: view-PETAL-EXPID.html.
    public static func viewerExposurePage(folder: String, spectrograph: Int, expid: Int) -> String {
        "\(folder)/view-\(spectrographString(spectrograph))-\(expidString(expid)).html"
    }

    /// Viewer pages of an exposure in its QA folder, names relative to it, sorted (none when the folder is absent).
    public static func viewerExposurePages(in folder: String, expid: Int) -> [String] {
        let tail = "-\(expidString(expid)).html"
        return ((try? listing(folder)) ?? []).filter { $0.hasPrefix("view-") && $0.hasSuffix(tail) }
    }

    /// PROD/QA/tiles/cumulative/TILE/NIGHT: the viewer pages of a tile's coadds through a night.
    public static func viewerTileDir(specprod: String, tile: Int, night: String) -> String {
        "\(qaDir(specprod: specprod))/tiles/cumulative/\(tile)/\(night)"
    }

    /// The viewer page of a coadd file, named after it: view-coadd-PETAL-TILE-thruNIGHT.html in `viewerTileDir`.
    public static func viewerCoaddPage(specprod: String, tile: Int, night: String, coadd: String) -> String {
        let base = ((coadd as NSString).lastPathComponent as NSString).deletingPathExtension
        return "\(viewerTileDir(specprod: specprod, tile: tile, night: night))/view-\(base).html"
    }

    /// The coadd viewer pages of a night, relative to PROD/QA (where the night's page is), sorted.
    public static func viewerCoaddPages(specprod: String, night: String) -> [String] {
        let tilesDir = "\(qaDir(specprod: specprod))/tiles/cumulative"
        var found: [String] = []
        for tile in (try? listing(tilesDir)) ?? [] {
            let dir = "\(tilesDir)/\(tile)/\(night)"
            for name in (try? listing(dir)) ?? [] where name.hasPrefix("view-") && name.hasSuffix(".html") {
                found.append("tiles/cumulative/\(tile)/\(night)/\(name)")
            }
        }
        return found
    }
}
