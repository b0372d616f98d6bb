import DESICore
import Foundation

extension FiberPages {
    /// One exposure to draw: its frames (or cframes), one per camera, each with its related files.
    public struct Exposure {
        public var expid: Int
        public var night: String
        public var cameras: [FiberCameraFiles]
        public init(expid: Int, night: String, cameras: [FiberCameraFiles]) {
            self.expid = expid; self.night = night; self.cameras = cameras
        }

        /// Given frames or cframes (any cameras of one exposure): camera, EXPID and NIGHT from each header, the
        /// other products found by their DESI names (`FiberCameraFiles.related`).
        public static func byHand(_ frames: [String]) throws -> Exposure {
            guard !frames.isEmpty else { throw DESIError.invalidArgument("no frame given") }
            var cams: [FiberCameraFiles] = []
            var ids = Set<Int>(), night = ""
            for f in frames {
                let h = try FrameQARun.Target(path: f)
                ids.insert(h.expid); night = h.night
                cams.append(FiberCameraFiles.related(to: f, camera: h.camera, expid: h.expid, night: h.night))
            }
            guard ids.count == 1, let expid = ids.first else {
                throw DESIError.invalidArgument("the frames given are of several exposures (\(ids.sorted())): give one exposure's frames")
            }
            return Exposure(expid: expid, night: night, cameras: cams)
        }

        /// The frames of a production's exposure (PROD/exposures/NIGHT/EXPID/frame-CAM-EXPID.fits, else the
        /// cframe), of the given spectrographs (all when nil).
        public static func inProduction(specprod: String, night: String, expid: Int, spectrographs: Set<Int>?) throws -> Exposure {
            let dir = FileLayout.exposureDir(specprod: specprod, night: night, expid: expid)
            let names = try FileLayout.listing(dir)
            var cams: [FiberCameraFiles] = []
            for arm in ["b", "r", "z"] { for sp in 0..<10 where spectrographs?.contains(sp) ?? true {
                guard let camera = Camera("\(arm)\(sp)") else { continue }
                let frame = FileLayout.cameraFileName("frame", camera: camera.name, expid: expid)
                let cframe = FileLayout.cameraFileName("cframe", camera: camera.name, expid: expid)
                guard let name = [frame, cframe].first(where: names.contains) else { continue }
                cams.append(FiberCameraFiles.related(to: "\(dir)/\(name)", camera: camera, expid: expid, night: night))
            } }
            guard !cams.isEmpty else { throw DESIError.badFile(path: dir, problem: "no frame or cframe of the cameras asked for") }
            return Exposure(expid: expid, night: night, cameras: cams)
        }
    }

    /// Every exposure of a night in a production (the EXPID folders of PROD/exposures/NIGHT).
    public static func exposures(specprod: String, night: String) throws -> [Int] {
        try FileLayout.listing("\(specprod)/exposures/\(night)").compactMap { Int($0) }
    }

    /// Draws the pages of `fibers` and `targetIDs` for each exposure into `folder(expid)`; TARGETIDs absent from an
    /// exposure are skipped there when several exposures are searched, and must be somewhere. With `worthLooking`,
    /// also the fibers worth a look (`FiberPageIndex.worthLooking`, at most that many per exposure), and each
    /// exposure's list of pages is written (`FileLayout.fiberPageIndex`, also when empty).
    public static func run(_ exposures: [Exposure], fibers: [Int], targetIDs: [Int64], worthLooking: Int? = nil,
                           modelPath: String?, traces: (String, [Int]) throws -> [FiberTrace],
                           folder: (Exposure) -> String) throws -> [String] {
        let model = try modelPath.map(SpectrumEntry.load)
        var written: [String] = []
        for e in exposures {
            // the FIBERMAPs first: the products are read only when there is something to draw
            let fibermaps = try e.cameras.compactMap { c in try (c.frame ?? c.cframe).map(Fibermap.read) }
            let present = Set(fibermaps.flatMap(\.targetIDs))
            let ids = exposures.count > 1 ? targetIDs.filter(present.contains) : targetIDs
            let look = worthLooking.map { FiberPageIndex.worthLooking(fibermaps, max: $0).map(\.fiber) } ?? []
            let dir = folder(e)
            var entries: [FiberPageIndex.Entry] = []
            if !(fibers + look).isEmpty || !ids.isEmpty {
                let products = try e.cameras.map(CameraProducts.init)
                entries = try draw(cameras: products, expid: e.expid, night: e.night, fibers: fibers + look, targetIDs: ids,
                                   model: model, traces: traces, folder: dir)
            }
            written += entries.map(\.page)
            if worthLooking != nil {
                let index = FiberPageIndex(expid: e.expid, night: e.night, entries: entries.map { en in
                    FiberPageIndex.Entry(verdict: en.verdict, page: (en.page as NSString).lastPathComponent)
                })
                let path = FileLayout.fiberPageIndex(folder: dir, expid: e.expid)
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try index.qaValue.write(to: path)
                written.append(path)
            }
        }
        guard !written.isEmpty else {
            throw DESIError.invalidArgument("none of TARGETID \(targetIDs.map(String.init).joined(separator: ", ")) is in these exposures")
        }
        return written
    }
}
