#!/usr/bin/env python
"""Run desispec's desi_compute_trace_shifts and `desispec traceshift` on the same preproc image and PSF and
print MEANDX/MEANDY of both and the max difference of the shifted traces.

Usage: compare_traceshift_desispec.py IMAGE PSF [--spectrum FILE | --sky | --arc-lamps] [--deg 1 | --degs 2,0,2,0]
                                      [--continuum] [--nfibers N] [--desispec BIN]
--sky: both calibrate the wavelengths against their sky line spectrum (desispec's data/spec-sky.dat; ours ships the
same samples), as desi_proc does for science exposures with --degs 2,0,2,0.
--arc-lamps: both calibrate against desispec's data/spec-arc-lamps.dat (ours ships the file), as desi_proc does on an
arc before its PSF fit with --deg 0.
(The synthetic inputs are written by the PSFTests with PSFTESTS_EXPORT_DIR=DIR.)
desispec's calibration lookup (DESI_SPECTRO_CALIB) and desimodel fibermap are bypassed: no broken fibers.
"""
import argparse, os, subprocess, sys, tempfile, time
import numpy as np
from astropy.io import fits

def desispec_trace_shifts():
    """desispec.scripts.trace_shifts with its calibration lookup (DESI_SPECTRO_CALIB) bypassed and qproc's fibermap
    (built through desimodel's focal plane, absent here) replaced by a minimal table."""
    import desispec.scripts.trace_shifts as ts
    import desispec.qproc.qextract as qx
    from astropy.table import Table

    class NoCalib:
        def __init__(self, *args, **kw): pass
        def haskey(self, k): return False
    ts.CalibFinder = NoCalib
    qx.empty_fibermap = lambda n: Table({"FIBER": np.zeros(n, dtype=int)})
    return ts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image"); ap.add_argument("psf")
    ap.add_argument("--spectrum"); ap.add_argument("--deg", type=int, default=1)
    ap.add_argument("--degs", help="degxx,degxy,degyx,degyy (instead of --deg)")
    ap.add_argument("--continuum", action="store_true"); ap.add_argument("--sky", action="store_true")
    ap.add_argument("--arc-lamps", action="store_true")
    ap.add_argument("--nfibers", type=int)
    ap.add_argument("--desispec", default=os.path.join(os.path.dirname(__file__), "..", ".build", "debug", "desispec"))
    a = ap.parse_args()
    ts = desispec_trace_shifts()
    tmp = tempfile.mkdtemp()
    out_ref, out_ours = os.path.join(tmp, "psf-desispec.fits"), os.path.join(tmp, "psf-swift.fits")
    degs = [int(d) for d in a.degs.split(",")] if a.degs else [a.deg] * 4
    opts = ["-i", a.image, "--psf", a.psf] + sum([[f"--deg{k}", str(d)] for k, d in zip(("xx", "xy", "yx", "yy"), degs)], [])
    if a.spectrum: opts += ["--spectrum", a.spectrum]
    if a.continuum: opts += ["--continuum"]
    if a.sky: opts += ["--sky"]
    if a.arc_lamps: opts += ["--arc-lamps"]
    if a.nfibers: opts += ["--nfibers", str(a.nfibers)]
    t0 = time.time(); ts.main(ts.parse(opts + ["-o", out_ref])); t_ref = time.time() - t0
    t0 = time.time(); subprocess.run([a.desispec, "traceshift", "-q"] + opts + ["-o", out_ours], check=True); t_ours = time.time() - t0
    from desispec.io.xytraceset import read_xytraceset
    r, o = read_xytraceset(out_ref), read_xytraceset(out_ours)
    w = np.linspace(r.wavemin, r.wavemax, 20)
    dx = max(np.abs(r.x_vs_wave(i, w) - o.x_vs_wave(i, w)).max() for i in range(r.nspec))
    dy = max(np.abs(r.y_vs_wave(i, w) - o.y_vs_wave(i, w)).max() for i in range(r.nspec))
    hr, ho = fits.getheader(out_ref, "PSF"), fits.getheader(out_ours, "PSF")
    print(f"desispec: MEANDX {hr['MEANDX']:+.4f} MEANDY {hr['MEANDY']:+.4f}  ({t_ref:.1f} s)")
    print(f"swift   : MEANDX {ho['MEANDX']:+.4f} MEANDY {ho['MEANDY']:+.4f}  ({t_ours:.1f} s)")
    print(f"max |x_swift - x_desispec| = {dx:.4f} px, max |y_swift - y_desispec| = {dy:.4f} px")

if __name__ == "__main__":
    sys.exit(main())
