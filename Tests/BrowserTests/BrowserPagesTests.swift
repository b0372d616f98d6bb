import DESICore
import FITS
import Foundation
import XCTest

/// Every HTML page of a demo production, loaded in Debian's chromium (headless, through chromedriver): no console
/// error, every image loaded, every link resolving to a file; in the viewer pages the plot draws the points of the
/// files, zooms when asked (the flux axis following), and switches target by TARGETID. Screenshots go to
/// $DESISPEC_TEST_OUTPUT/browser (else a temporary folder, printed). Skipped with a message where chromium,
/// chromedriver or the release binary is missing (the demo takes 3-8 minutes on the shared 2-core machine).
final class BrowserPagesTests: XCTestCase {
    static let night = "20250101"
    static let nspec = 20

    var outputFolder: URL {
        let root = ProcessInfo.processInfo.environment["DESISPEC_TEST_OUTPUT"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("desispec-browser-tests")
        return root.appendingPathComponent("browser")
    }

    /// A demo night reduced by the release binary (b0, r0, z0; nspec fibers); $DESISPEC_BROWSER_PROD names one made
    /// before (`desispec demo --outdir D --nspec 20`: D/redux/demo) to check it instead.
    func demoProduction() throws -> URL {
        if let prod = ProcessInfo.processInfo.environment["DESISPEC_BROWSER_PROD"] { return URL(fileURLWithPath: prod) }
        guard let bin = ProcessInfo.processInfo.environment["DESISPEC_RELEASE_BIN"],
              FileManager.default.isExecutableFile(atPath: bin) else {
            throw XCTSkip("set DESISPEC_RELEASE_BIN to a release build of desispec: the browser test loads a demo production")
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-browser-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        var args = ["demo", "--outdir", root.path, "--cameras", "b0,r0,z0", "--nspec", String(Self.nspec), "--quiet"]
        if let data = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"], FileManager.default.fileExists(atPath: data) {
            args += ["--data-dir", data]
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // 0: the coadds match the truth; 3: they were made but some comparison failed (the pages exist either way)
        XCTAssert([0, 3].contains(p.terminationStatus), "desispec demo failed (exit \(p.terminationStatus)): \(stderr)")
        return root.appendingPathComponent("redux/demo")
    }

    func startBrowser() throws -> WebDriver {
        guard let chromium = WebDriver.chromium, let driver = WebDriver.chromedriver else {
            throw XCTSkip("chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; "
                          + "scripts/install-deps.sh --with-browser installs them)")
        }
        try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        do {
            return try WebDriver(chromium: chromium, chromedriver: driver, log: outputFolder.appendingPathComponent("chromedriver.log"))
        } catch {
            throw XCTSkip("headless chromium could not be started: \(error)")
        }
    }

    func htmlPages(under root: URL) -> [URL] {
        let e = FileManager.default.enumerator(atPath: root.path)
        var pages: [URL] = []
        while let rel = e?.nextObject() as? String {
            if rel.hasSuffix(".html") { pages.append(root.appendingPathComponent(rel)) }
        }
        return pages.sorted { $0.path < $1.path }
    }

    /// Loads a page and checks the console (no error), the images (each loaded) and the links (each to a file).
    func checkPage(_ page: URL, in browser: WebDriver, prod: URL) throws {
        let name = String(page.path.dropFirst(prod.path.count + 1))
        try browser.navigate(page)
        _ = try browser.execute("return document.readyState")
        let errors = try browser.consoleLog().filter { $0.level == "SEVERE" }
        XCTAssert(errors.isEmpty, "\(name): console: \(errors.map { "\($0.level) \($0.message)" })")
        let images = try browser.execute("""
            return Array.from(document.images).map(function (i) { return [i.getAttribute('src'), i.complete ? i.naturalWidth : 0]; });
            """) as? [[Any]] ?? []
        for img in images where (img[1] as? Int ?? 0) <= 0 {
            XCTFail("\(name): image \(img[0]) did not load")
        }
        let links = try browser.execute("return Array.from(document.querySelectorAll('a[href]')).map(function (a) { return a.href; });")
            as? [String] ?? []
        for link in links {
            guard let url = URL(string: link), url.isFileURL else { XCTFail("\(name): link \(link) leaves the production"); continue }
            XCTAssert(FileManager.default.fileExists(atPath: url.path), "\(name): link \(link) resolves to no file")
        }
        let shot = name.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ".html", with: ".png")
        try browser.screenshot(to: outputFolder.appendingPathComponent(shot))
    }

    /// The points the viewer should draw for one fiber of these frames: pixels with ivar > 0 and a finite flux,
    /// within [lo, hi] when given.
    func expectedPoints(frames: [Frame], fiber: Int, within range: ClosedRange<Double>? = nil) -> Int {
        var n = 0
        for f in frames {
            guard let row = f.fibers.firstIndex(of: fiber) else { continue }
            for j in 0..<f.nwave where f.ivar[row * f.nwave + j] > 0 && f.flux[row * f.nwave + j].isFinite {
                if let range, !range.contains(f.wave[j]) { continue }
                n += 1
            }
        }
        return n
    }

    func checkViewer(_ page: URL, frames: [Frame], in browser: WebDriver) throws {
        try browser.navigate(page)
        let v = "return window.desiViewer."
        let count = try XCTUnwrap(try browser.execute(v + "targetCount()") as? Int)
        XCTAssertEqual(count, frames[0].nspec)
        let fibers = frames[0].fibers
        // the whole spectrum of the first target: every good pixel of every camera
        XCTAssertEqual(try browser.execute(v + "pointCount()") as? Int, expectedPoints(frames: frames, fiber: fibers[0]))
        let fullY = try XCTUnwrap(try browser.execute(v + "yRange()") as? [Double])

        // zoom on 6500-6600 A (r camera): the x axis is that range, the points drawn there are the pixels there
        // (dygraphs also lays out the nearest point beyond each edge of each series, for the lines to reach the
        // edges), the flux axis follows
        _ = try browser.execute("window.desiViewer.zoom(6500, 6600);")
        let x = try XCTUnwrap(try browser.execute(v + "xRange()") as? [Double])
        XCTAssertEqual(x[0], 6500, accuracy: 1e-9)
        XCTAssertEqual(x[1], 6600, accuracy: 1e-9)
        let inside = expectedPoints(frames: frames, fiber: fibers[0], within: 6500...6600)
        XCTAssertEqual(try browser.execute(v + "pointCount(6500, 6600)") as? Int, inside)
        let drawn = try XCTUnwrap(try browser.execute(v + "pointCount()") as? Int)
        XCTAssert(drawn >= inside && drawn <= inside + 2 * frames.count, "zoomed: \(drawn) points laid out, \(inside) pixels inside")
        XCTAssertGreaterThan(inside, 100)
        let zoomY = try XCTUnwrap(try browser.execute(v + "yRange()") as? [Double])
        XCTAssertNotEqual(zoomY, fullY, "the flux axis should follow the zoom")

        // switch by TARGETID through the page's field, as a person would type it
        let k = min(3, frames[0].nspec - 1)
        let tid = try XCTUnwrap(frames[0].fibermap?.targetIDs[k])
        _ = try browser.execute("""
            var t = document.getElementById('targetid'); t.value = arguments[0]; t.dispatchEvent(new Event('change'));
            """, [String(tid)])
        XCTAssertEqual(try browser.execute(v + "current()") as? Int, k)
        let title = try browser.execute("return document.getElementById('target-title').textContent;") as? String ?? ""
        XCTAssert(title.contains("TARGETID \(tid)"), title)
        // the zoom is kept across targets; back to the whole spectrum, the points are this target's
        _ = try browser.execute("document.getElementById('reset').click();")
        XCTAssertEqual(try browser.execute(v + "pointCount()") as? Int, expectedPoints(frames: frames, fiber: fibers[k]))
        let errors = try browser.consoleLog().filter { $0.level == "SEVERE" }
        XCTAssert(errors.isEmpty, "viewer: console: \(errors)")
        try browser.screenshot(to: outputFolder.appendingPathComponent("viewer-interaction.png"))
    }

    func testEveryPageOfTheDemoProductionInChromium() throws {
        let started = Date()
        let browser = try startBrowser()
        defer { browser.quit() }
        let prod = try demoProduction()
        let pages = htmlPages(under: prod)
        let viewers = pages.filter { $0.lastPathComponent.hasPrefix("view-") }
        XCTAssert(pages.contains { $0.lastPathComponent == "qa-\(Self.night).html" }, "no night QA page in \(pages)")
        XCTAssertEqual(viewers.filter { !$0.lastPathComponent.hasPrefix("view-coadd") }.count, 2, "a viewer per science exposure")
        XCTAssertEqual(viewers.filter { $0.lastPathComponent.hasPrefix("view-coadd") }.count, 1, "a viewer per coadd")
        for page in pages { try checkPage(page, in: browser, prod: prod) }

        // the viewer of the first science exposure against its cframes
        let expid = 4
        let page = try XCTUnwrap(viewers.first { $0.lastPathComponent == "view-0-\(FileLayout.expidString(expid)).html" })
        let dir = FileLayout.exposureDir(specprod: prod.path, night: Self.night, expid: expid)
        let frames = try ["b0", "r0", "z0"].map { try Frame.read("\(dir)/\(FileLayout.cameraFileName("cframe", camera: $0, expid: expid))",
                                                                   skipResolution: true) }
        try checkViewer(page, frames: frames, in: browser)
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        print("BrowserTests: \(pages.count) pages checked in \(seconds) s (the demo's reduction included unless "
              + "DESISPEC_BROWSER_PROD); screenshots in \(outputFolder.path)")
    }
}
