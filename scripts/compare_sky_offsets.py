"""`compare_sky.py offsets`: `desispec sky --fit-offsets` against the injected truth and against desispec.

A flat-fielded science frame (Gaussian resolutions, UVES sky lines, 60 fibers of camera r0, 20 SKY) gets CCD offsets
in two sectors that a calibration yaml names (OFFCOLSA and CTECOLSC: amplifier rows, column ranges), located with the
traces of the real PSF psf-r0-00051060: constant + ramp * i / i_max on the pixels whose trace lies in the sector,
before the fiber flat (a non-unit one) is applied, as a CCD offset is. Our `desispec sky --fit-offsets` and
desispec.sky.compute_sky(fit_offsets=True, fiberflat=...) (with DESI_SPECTRO_CALIB, and the PSF where desispec's
findfile looks for it) then fit the sector terms with the sky. Printed: the fitted coefficients (ours, desispec's,
injected), the sframe difference / sigma, and the targets' residual (sframe - R object) in each sector with and
without the flag (--adjust: all runs also with --adjust-wavelength --adjust-lsf, as desi_proc). Exit code 1 when the sframes differ by more than --tol sigma or a coefficient differs from
desispec's by more than 1e-3 of the injected scale.
"""
import argparse
import logging
import os
import re
import subprocess
import sys

import numpy as np

CCDSEC = {"A": "[1:2057,1:2064]", "B": "[2058:4114,1:2064]", "C": "[1:2057,2065:4128]", "D": "[2058:4114,2065:4128]"}
BIASSEC = {"A": "[2058:2107,1:2064]", "B": "[2108:2157,1:2064]", "C": "[2058:2107,2065:4128]", "D": "[2108:2157,2065:4128]"}
SECTORS = {"OFFCOLSA": "180:360", "CTECOLSC": "260:450"}
INJECTED = [25.0, 10.0, -15.0, 6.0]   # OFFCOLSA constant, ramp; CTECOLSC constant, ramp (electrons)
NIGHT, EXPID = 20240401, 123


def parse(argv):
    data = os.environ.get("DESISPEC_TESTDATA", "/work/shared/data")
    p = argparse.ArgumentParser(prog="compare_sky.py offsets")
    p.add_argument("--bin", required=True, help="our desispec binary")
    p.add_argument("--workdir", required=True)
    p.add_argument("--psf", default=data + "/psf/psf-r0-00051060.fits")
    p.add_argument("--uves", default=data + "/spectra/sky-uves.fits")
    p.add_argument("--tol", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--adjust", action="store_true", help="both runs also with --adjust-wavelength --adjust-lsf (desi_proc)")
    return p.parse_args(argv)


def gaussian_resolution(sigmas, nwave, ndiag=11):
    h = ndiag // 2
    rd = np.zeros((len(sigmas), ndiag, nwave))
    k = np.arange(-h, h + 1)
    for f, s in enumerate(sigmas):
        row = np.exp(-0.5 * (k / s) ** 2)
        row /= row.sum()
        for d in range(ndiag):
            rd[f, d] = row[h - (h - d)]   # symmetric kernel: the same value on each diagonal
    return rd


def templates(psf_path, wave, nspec):
    """desispec.sky.get_sector_masks' templates for our header and sectors: [(mask, constant, ramp)]."""
    from desispec.io import read_xytraceset
    from desispec.preproc import parse_sec_keyword
    t = read_xytraceset(psf_path)
    x = np.array([t.x_vs_wave(f, wave) for f in range(nspec)])
    y = np.array([t.y_vs_wave(f, wave) for f in range(nspec)])
    out = []
    for key, cols in SECTORS.items():
        sec = parse_sec_keyword(CCDSEC[key[-1]])
        c0, c1 = (int(v) for v in cols.split(":"))
        xb, xe = max(sec[1].start, c0), min(sec[1].stop, c1)
        mask = (y >= sec[0].start) & (y < sec[0].stop) & (x >= xb) & (x < xe)
        ramp = np.ones(nspec)[:, None] * np.arange(wave.size)[None, :]
        top = np.max(ramp * mask, axis=1, keepdims=True)
        ramp = ramp / (top + (top == 0)) * mask
        out.append((mask, 1.0 * mask, ramp))
    return out


def make_inputs(a):
    """Frame, fiber flat, calibration yaml and the PSF in the production; returns paths and the truth."""
    from astropy.io import fits
    from astropy.table import Table
    from desispec.fiberflat import FiberFlat
    from desispec.frame import Frame
    from desispec.io import write_fiberflat, write_frame
    rng = np.random.default_rng(a.seed)
    nspec, wave = 60, np.arange(6200, 7400, 0.8)
    nwave = wave.size
    with fits.open(a.uves) as fx:
        uw, uf = np.asarray(fx[1].data["wavelength"], float), np.asarray(fx[1].data["flux"], float)
    sky = 40 + np.interp(wave, uw, uf) * 120
    objtype = np.array(["SKY" if f % 3 == 0 else "TGT" for f in range(nspec)])
    obj = np.zeros((nspec, nwave))
    for f in np.where(objtype == "TGT")[0]:
        obj[f] = 15 + 3 * (f % 4) + 60 * np.exp(-0.5 * ((wave - 6250 - 17 * f) / 1.5) ** 2)
    rd = gaussian_resolution(1.2 + 0.15 * np.sin(np.arange(nspec) / 7), nwave)
    from desispec.resolution import Resolution
    conv = np.array([Resolution(rd[f]).dot(sky + obj[f]) for f in range(nspec)])
    objconv = np.array([Resolution(rd[f]).dot(obj[f]) for f in range(nspec)])
    flat = 1 + 0.08 * np.sin(np.arange(nspec)[:, None] / 5 + wave[None, :] / 400)
    tpl = templates(a.psf, wave, nspec)
    offset = np.zeros((nspec, nwave))
    for s, (mask, const, ramp) in enumerate(tpl):
        offset += INJECTED[2 * s] * const + INJECTED[2 * s + 1] * ramp
    clean = conv * flat + offset                       # CCD electrons
    var = np.maximum(clean, 0) + 9
    flux = clean + rng.normal(size=clean.shape) * np.sqrt(var)
    fm = Table()
    fm["FIBER"] = np.arange(nspec, dtype="i4")
    fm["TARGETID"] = np.arange(nspec, dtype="i8") + 5000
    fm["OBJTYPE"] = objtype
    fm["FIBERSTATUS"] = np.zeros(nspec, dtype="i4")
    fm["FIBER_X"] = rng.uniform(-300, 300, nspec)
    fm["FIBER_Y"] = rng.uniform(-300, 300, nspec)
    hdr = fits.Header()
    for k, v in [("CAMERA", "r0"), ("SPECID", 1), ("DETECTOR", "M1-12"), ("NIGHT", NIGHT), ("EXPID", EXPID),
                 ("DATE-OBS", "2024-04-02T05:00:00"), ("FLAVOR", "science"), ("FIBERMIN", 0)]:
        hdr[k] = v
    for amp in "ABCD":
        hdr["CCDSEC" + amp] = CCDSEC[amp]
        hdr["BIASSEC" + amp] = BIASSEC[amp]
    frame = Frame(wave, flux, 1 / var, np.zeros(flux.shape, dtype="u4"), rd, fibermap=fm, meta=hdr, spectrograph=0)
    w = a.workdir
    os.makedirs(w, exist_ok=True)
    paths = {"frame": f"{w}/frame-r0-{EXPID:08d}.fits", "fiberflat": f"{w}/fiberflat-r0.fits",
             "yaml": f"{w}/calib/spec/sm1/sm1-r.yaml",
             "psf": f"{w}/redux/test/exposures/{NIGHT}/{EXPID:08d}/psf-r0-{EXPID:08d}.fits"}
    write_frame(paths["frame"], frame)
    shape = flux.shape
    write_fiberflat(paths["fiberflat"], FiberFlat(wave, flat, np.ones(shape) * 1e8, np.zeros(shape, dtype="u4"),
                                                  np.ones(nwave), header=fits.Header({"CAMERA": "r0"})))
    os.makedirs(os.path.dirname(paths["yaml"]), exist_ok=True)
    with open(paths["yaml"], "w") as f:
        f.write("sm1-r:\n  V1:\n    DATE-OBS-BEGIN: 20200101\n    DATE-OBS-END: None\n    DETECTOR: M1-12\n")
        for k, v in SECTORS.items():
            f.write(f"    {k}: '{v}'\n")
    os.makedirs(os.path.dirname(paths["psf"]), exist_ok=True)
    if not os.path.exists(paths["psf"]):
        os.symlink(os.path.abspath(a.psf), paths["psf"])
    return paths, objconv, tpl


def desispec_sky(paths, fit_offsets, adjust):
    """desi_compute_sky's steps; returns the sframe flux, ivar and the logged sector values."""
    from desiutil.log import get_logger
    from desispec.fiberflat import apply_fiberflat
    from desispec.io import read_fiberflat, read_frame
    from desispec.sky import compute_sky, subtract_sky
    records = []

    class Keep(logging.Handler):
        def emit(self, r):
            records.append(r.getMessage())
    handler = Keep()
    get_logger().addHandler(handler)
    frame = read_frame(paths["frame"])
    ff = read_fiberflat(paths["fiberflat"])
    apply_fiberflat(frame, ff)
    sky = compute_sky(frame, add_variance=True, fit_offsets=fit_offsets, fiberflat=ff, adjust_wavelength=adjust,
                      adjust_lsf=adjust)
    subtract_sky(frame, sky)
    get_logger().removeHandler(handler)
    return frame.flux, frame.ivar, sector_values(records)


def sector_values(lines):
    for line in lines:
        m = re.search(r"sectors: \d+ sectors fit, values (.*)", line)
        if m:
            return [float(v) for v in m.group(1).split()]
    return []


def ours_sky(a, paths, fit_offsets):
    w = a.workdir
    tag = "offsets" if fit_offsets else "plain"
    cmd = [a.bin, "sky", "-i", paths["frame"], "--fiberflat", paths["fiberflat"], "-o", f"{w}/sky-ours-{tag}.fits",
           "--sframe", f"{w}/sframe-ours-{tag}.fits", "-v"]
    if a.adjust:
        cmd += ["--adjust-wavelength", "--adjust-lsf"]
    if fit_offsets:
        cmd += ["--fit-offsets", "--calib-config", paths["yaml"], "--psf", paths["psf"]]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    from astropy.io import fits
    with fits.open(f"{w}/sframe-ours-{tag}.fits") as fx:
        flux, ivar = fx[0].data.astype("f8"), fx["IVAR"].data.astype("f8")
    return flux, ivar, sector_values((r.stdout + r.stderr).splitlines())


def main(argv):
    a = parse(argv)
    os.environ["DESI_SPECTRO_CALIB"] = os.path.abspath(f"{a.workdir}/calib")
    os.environ["DESI_SPECTRO_REDUX"] = os.path.abspath(f"{a.workdir}/redux")
    os.environ["SPECPROD"] = "test"
    paths, objconv, tpl = make_inputs(a)
    ok = True
    print(f"injected (OFFCOLSA {SECTORS['OFFCOLSA']}: constant, ramp; CTECOLSC {SECTORS['CTECOLSC']}: constant, ramp): "
          + " ".join(f"{v:.3f}" for v in INJECTED))
    for fit in (False, True):
        dflux, divar, dval = desispec_sky(paths, fit, a.adjust)
        oflux, oivar, oval = ours_sky(a, paths, fit)
        good = (divar > 0) & (oivar > 0)
        diff = np.abs(oflux - dflux)[good] * np.sqrt(divar[good])
        label = "with --fit-offsets" if fit else "without --fit-offsets"
        print(f"== {label} ==")
        if fit:
            print("  fitted, ours:     " + " ".join(f"{v:.3f}" for v in oval))
            print("  fitted, desispec: " + " ".join(f"{v:.3f}" for v in dval))
            if len(oval) != len(dval) or np.max(np.abs(np.array(oval) - np.array(dval))) > 1e-3 * max(map(abs, INJECTED)):
                ok = False
        print(f"  sframe ours - desispec / sigma: median {np.median(diff):.2e} max {diff.max():.2e}")
        ok &= diff.max() < a.tol
        for s, (mask, _, _) in enumerate(tpl):
            tgt = mask.copy()
            tgt[::3] = False                      # SKY fibers are 0, 3, 6, ...
            for name, fl, iv in (("ours", oflux, oivar), ("desispec", dflux, divar)):
                sel = tgt & (iv > 0)
                r = (fl - objconv)[sel]
                print(f"  {list(SECTORS)[s]} targets' sframe - R object ({name}): mean {r.mean():7.3f} "
                      f"(error {r.std() / np.sqrt(r.size):.3f}, {r.size} pixels)")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
