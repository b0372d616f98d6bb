#!/usr/bin/env python
"""Compare `desispec qa-frame` (Swift) with desispec's own QA functions on the same files.

Writes a cframe + fluxcalib pair and a flat frame + fiberflat pair in DESI's layouts, computes
desispec.fluxcalibration.qa_fluxcalib and desispec.fiberflat.qa_fiberflat with the reference desispec, runs
`desispec qa-frame` on the same files, and prints both.

qa_fiberflat divides by each fiber's area from desimodel (fiber_area_arcsec2 of FIBERASSIGN_X/Y); the Swift
version takes equal areas, so the script replaces fiber_area_arcsec2 by a constant for the comparison.

Usage: /work/refenv/bin/python scripts/compare_qa.py [path/to/desispec-binary]
Not used by the Swift tests.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from astropy.io import fits

BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".build", "debug", "desispec")


def fibermap_hdu(nspec, rng):
    std = np.arange(nspec) % 20 == 5
    desi_target = np.where(std, 2**33, 2).astype("i8")
    cols = [
        fits.Column(name="FIBER", format="J", array=np.arange(nspec)),
        fits.Column(name="TARGETID", format="K", array=1000 + np.arange(nspec)),
        fits.Column(name="OBJTYPE", format="3A", array=np.where(np.arange(nspec) % 10 == 0, "SKY", "TGT")),
        fits.Column(name="DESI_TARGET", format="K", array=desi_target),
        fits.Column(name="BGS_TARGET", format="K", array=np.zeros(nspec, dtype="i8")),
        fits.Column(name="MWS_TARGET", format="K", array=np.zeros(nspec, dtype="i8")),
        fits.Column(name="FIBERASSIGN_X", format="E", array=rng.uniform(-400, 400, nspec)),
        fits.Column(name="FIBERASSIGN_Y", format="E", array=rng.uniform(-400, 400, nspec)),
        fits.Column(name="FIBERSTATUS", format="J", array=np.zeros(nspec, dtype="i4")),
    ]
    return fits.BinTableHDU.from_columns(cols, name="FIBERMAP")


def write_spectral(path, kind, data, wave, header, extra=(), ivar=None, fibermap=None):
    h0 = fits.PrimaryHDU(data.astype("f4"), header=header)
    h0.header["EXTNAME"] = kind
    hdus = [h0, fits.ImageHDU((np.ones_like(data) if ivar is None else ivar).astype("f4"), name="IVAR"),
            fits.ImageHDU(np.zeros(data.shape, dtype="i4"), name="MASK")]
    hdus += list(extra)
    hdus.append(fits.ImageHDU(wave, name="WAVELENGTH"))
    if fibermap is not None:
        hdus.append(fibermap)
    fits.HDUList(hdus).writeto(path, overwrite=True)


def run_swift(frame):
    out = frame.replace(".fits", ".qa.json")
    subprocess.run([BIN, "qa-frame", frame, "-o", out, "--quiet"], check=True)
    with open(out) as f:
        return json.load(f)


def main():
    import desispec.fiberflat as dff
    import desispec.fluxcalibration as dfc
    from desispec.io import read_fiberflat, read_flux_calibration, read_frame

    rng = np.random.default_rng(12)
    tmp = tempfile.mkdtemp(prefix="compare-qa-")
    nspec, nwave = 100, 2000
    wave = 5760.0 + 0.8 * np.arange(nwave)
    hdr = fits.Header()
    for k, v in [("CAMERA", "r0"), ("EXPID", 42), ("NIGHT", "20230101"), ("FLAVOR", "science"), ("EXPTIME", 900.0)]:
        hdr[k] = v

    # cframe + fluxcalib: a smooth throughput curve, each star scaled by a few percent, one by 25%.
    throughput = 8 + 3 * np.sin((wave - 5760) / 900)
    scale = 1 + 0.03 * rng.standard_normal(nspec)
    scale[65] = 1.25
    calib = throughput[None, :] * scale[:, None]
    cframe = os.path.join(tmp, "cframe-r0-00000042.fits")
    flux = rng.standard_normal((nspec, nwave))
    ivar = np.ones((nspec, nwave))
    ivar[25, 900:1000] = 0  # a masked stretch in one star
    h = hdr.copy(); h["BUNIT"] = "10**-17 erg/(s cm2 Angstrom)"
    write_spectral(cframe, "FLUX", flux, wave, h, ivar=ivar, fibermap=fibermap_hdu(nspec, rng))
    write_spectral(os.path.join(tmp, "fluxcalib-r0-00000042.fits"), "FLUXCALIB", calib, wave, hdr)

    frame = read_frame(cframe)
    fc = read_flux_calibration(os.path.join(tmp, "fluxcalib-r0-00000042.fits"))
    ref = dfc.qa_fluxcalib({"ZP_WAVE": 6500.0, "MAX_ZP_OFF": 0.2}, frame, fc)
    ours = run_swift(cframe)["FLUXCALIB"]
    print("FLUXCALIB (cframe %d x %d, %d standard stars)" % (nspec, nwave, ref["NSTARS_FIBER"]))
    print("  %-12s %22s %22s %12s" % ("metric", "desispec 0.70", "swift", "difference"))
    for k in ["ZP", "RMS_ZP", "NSTARS_FIBER"]:
        print("  %-12s %22.10g %22.10g %12.3g" % (k, ref[k], ours[k], ours[k] - ref[k]))
    print("  %-12s %22s %22s" % ("MAX_ZP_OFF", "%.10g fiber %d" % tuple(ref["MAX_ZP_OFF"]), "%.10g fiber %d" % tuple(ours["MAX_ZP_OFF"])))

    # Flat frame + fiberflat.
    flat = 1 + 0.02 * rng.standard_normal((nspec, nwave))
    flat[17] *= 1.08
    meanspec = 5e5 * (1 + 0.3 * np.sin((wave - 5760) / 400))
    flux = flat * meanspec[None, :] * (1 + 0.001 * rng.standard_normal((nspec, nwave)))
    h = hdr.copy(); h["FLAVOR"] = "flat"; h["EXPID"] = 43
    fframe = os.path.join(tmp, "frame-r0-00000043.fits")
    write_spectral(fframe, "FLUX", flux, wave, h, fibermap=fibermap_hdu(nspec, rng))
    ffh = hdr.copy(); ffh["EXPID"] = 43; ffh["CHI2PDF"] = 1.1
    ffmask = np.zeros((nspec, nwave), dtype="i4"); ffmask[3, 10:20] = 1
    hdus = [fits.PrimaryHDU(flat.astype("f4"), header=ffh), fits.ImageHDU(np.full(flat.shape, 1e4, dtype="f4"), name="IVAR"),
            fits.ImageHDU(ffmask, name="MASK"), fits.ImageHDU(meanspec.astype("f4"), name="MEANSPEC"),
            fits.ImageHDU(wave.astype("f4"), name="WAVELENGTH")]
    hdus[0].header["EXTNAME"] = "FIBERFLAT"
    fits.HDUList(hdus).writeto(os.path.join(tmp, "fiberflat-r0-00000043.fits"), overwrite=True)

    import desimodel.focalplane
    desimodel.focalplane.fiber_area_arcsec2 = lambda x, y: np.full(len(x), 2.1)   # equal areas (see docstring)
    params = {"MAX_N_MASK": 20000, "MAX_SCALE_OFF": 0.05, "MAX_OFF": 0.15, "MAX_MEAN_OFF": 0.05, "MAX_RMS": 0.02}
    ref = dff.qa_fiberflat(params, read_frame(fframe), read_fiberflat(os.path.join(tmp, "fiberflat-r0-00000043.fits")))
    ours = run_swift(fframe)["FIBERFLAT"]
    print("FIBERFLAT (flat frame %d x %d)" % (nspec, nwave))
    print("  %-14s %26s %26s" % ("metric", "desispec 0.70", "swift"))
    for k in ["MAX_MEANSPEC", "CHI2PDF", "N_MASK", "MAX_SCALE_OFF", "MAX_OFF", "MAX_MEAN_OFF", "MAX_RMS"]:
        a, b = ref[k], ours[k]
        fmt = (lambda v: "%.10g fiber %d" % tuple(v)) if isinstance(a, list) else (lambda v: "%.10g" % v)
        print("  %-14s %26s %26s" % (k, fmt(a), fmt(b)))
    print("files in", tmp)


if __name__ == "__main__":
    main()
