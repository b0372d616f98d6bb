#!/usr/bin/env python
"""Compare a frame written by `desispec extract` (Swift) with desispec/specter's ex2d on the same inputs.

Usage (Python reference environment with desispec and DESI's specter, e.g. /work/refenv):
  python scripts/compare_extract.py --preproc preproc.fits --psf psf.fits --ours frame.fits \\
      [-w 5760,7620,0.8] [--specmin 0 --nspec 25] [--nsubbundles 5] [--nwavestep 50] \\
      [--specter-cache specter.npz | --reference frame-desispec.fits]

Always: opens our frame with desispec.io.read_frame (interoperability) and prints its summary.
If specter is importable: runs specter.extract.ex2d as desi_extract_spectra --use-specter calls it
(desispec.scripts.extract.main_mpi: pixel ivar times (mask & extractmaskval == 0), psferr from the PSF file,
full_output) and prints the agreement:
  - |flux_ours - flux_specter| / sigma_specter: median (required < 0.01), 99th percentile, max;
  - ivar ratio;
  - resolution data: max |R_ours - R_specter| (required < 1e-4);
  - chi2pix and mask agreement.
With --reference, the reference is instead a frame written by `desi_extract_spectra --use-specter` with the
same options (what scripts/bench/extract.sh does). The specter result can be cached (--specter-cache FILE.npz: read if present, else written) since a full frame
takes a long time. Exit status 0 when both requirements hold, 1 otherwise, 2 when specter is unavailable.
Optional timing of ex2d is printed (wall and CPU seconds).
"""
import argparse
import os
import sys
import time

import numpy as np


def run_specter(a, wave, nspec):
    from specter.psf import load_psf
    from specter.extract import ex2d
    from desispec.io import read_image
    from desispec.maskbits import extractmaskval
    img = read_image(a.preproc)
    psf = load_psf(a.psf)
    t0, c0 = time.time(), time.process_time()
    res = ex2d(img.pix, img.ivar * ((img.mask & extractmaskval) == 0), psf, a.specmin, nspec, wave,
               regularize=a.regularize, bundlesize=a.bundlesize, wavesize=a.nwavestep,
               nsubbundles=a.nsubbundles, full_output=True, psferr=a.psferr,
               pixpad_frac=0.8, wavepad_frac=0.2)
    t1, c1 = time.time(), time.process_time()
    print(f"specter ex2d: {nspec} spectra x {len(wave)} wavelengths in {t1 - t0:.2f} s (cpu {c1 - c0:.2f} s)")
    return dict(flux=res["flux"], ivar=res["ivar"], resolution_data=res["resolution_data"],
                chi2pix=res["chi2pix"], pixmask_fraction=res["pixmask_fraction"], wall=t1 - t0, cpu=c1 - c0)


def bad2dfit(chi2pix, threshold):
    """BAD2DFIT bins: chi2pix above a fixed threshold, or (desispec's current get_chi2pix_mask) above 5 times both
    its median over fibers at each wavelength and its median over each fiber's wavelengths."""
    if threshold is not None:
        return chi2pix > threshold
    per_wave = np.median(chi2pix, axis=0)[None, :]
    per_fiber = np.median(chi2pix, axis=1)[:, None]
    return (chi2pix > 5 * per_wave) & (chi2pix > 5 * per_fiber)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preproc", required=True)
    p.add_argument("--psf", required=True)
    p.add_argument("--ours", required=True)
    p.add_argument("-w", "--wavelength", default=None)
    p.add_argument("--specmin", type=int, default=0)
    p.add_argument("--nspec", type=int, default=None)
    p.add_argument("--bundlesize", type=int, default=25)
    p.add_argument("--nsubbundles", type=int, default=5)
    p.add_argument("--nwavestep", type=int, default=50)
    p.add_argument("--regularize", type=float, default=0.0)
    p.add_argument("--psferr", type=float, default=None, help="as given to desispec extract (default: the PSF file's)")
    p.add_argument("--bad2dfit-threshold", type=float, default=None,
                   help="reference BAD2DFIT from chi2pix > this (desispec <= 0.70: 100), as given to desispec extract; "
                        "default: desispec's current rule, > 5 x the medians along both axes")
    p.add_argument("--specter-cache", default=None, help="npz file with specter's result (read if present, else written)")
    p.add_argument("--reference", default=None, help="frame written by desi_extract_spectra --use-specter (instead of running ex2d)")
    a = p.parse_args()

    from desispec.io import read_frame
    from desispec.maskbits import specmask
    ours = read_frame(a.ours)
    print(f"ours: {a.ours}: nspec={ours.nspec} nwave={ours.nwave} ndiag={ours.resolution_data.shape[1]} "
          f"wave {ours.wave[0]:.2f}-{ours.wave[-1]:.2f} median flux {np.median(ours.flux):.3f} "
          f"median ivar {np.median(ours.ivar):.4g} masked {np.mean(ours.mask != 0):.4f}")

    if a.wavelength:
        wmin, wmax, dw = map(float, a.wavelength.split(","))
    else:
        wmin, wmax, dw = ours.wave[0], ours.wave[-1], ours.wave[1] - ours.wave[0]
    wave = np.arange(wmin, wmax + 0.5 * dw, dw)
    nspec = a.nspec or ours.nspec
    if len(wave) != ours.nwave or nspec != ours.nspec:
        print(f"FAIL: our frame is {ours.nspec} x {ours.nwave}, the comparison asks for {nspec} x {len(wave)}")
        return 1

    if a.reference:
        r = read_frame(a.reference)
        pmf = np.where((r.mask & specmask.ALLBADPIX) != 0, 1.0, np.where((r.mask & specmask.SOMEBADPIX) != 0, 0.75, 0.0))
        ref = dict(flux=r.flux, ivar=r.ivar, resolution_data=r.resolution_data, pixmask_fraction=pmf,
                   chi2pix=r.chi2pix if r.chi2pix is not None else np.zeros(r.flux.shape))
        print(f"reference: {a.reference} (desispec frame)")
    elif a.specter_cache and os.path.exists(a.specter_cache):
        ref = dict(np.load(a.specter_cache))
        print(f"specter result read from {a.specter_cache} (ex2d took {float(ref['wall']):.2f} s, cpu {float(ref['cpu']):.2f} s)")
    else:
        try:
            import specter.extract  # noqa: F401
        except ImportError:
            print("specter is not importable in this environment: no side-by-side comparison")
            return 2
        ref = run_specter(a, wave, nspec)
        if a.specter_cache:
            np.savez(a.specter_cache, **ref)

    flux, ivar, rd = ref["flux"], ref["ivar"], ref["resolution_data"]
    ok = True
    good = (ivar > 0) & (ours.ivar > 0)
    print(f"bins with ivar > 0: ours {np.mean(ours.ivar > 0):.5f} specter {np.mean(ivar > 0):.5f} "
          f"(disagree on {np.sum((ivar > 0) != (ours.ivar > 0))} bins)")
    pull = np.abs(ours.flux - flux)[good] * np.sqrt(ivar[good])
    med = np.median(pull)
    print(f"|flux diff|/sigma: median {med:.3g} p99 {np.percentile(pull, 99):.3g} max {pull.max():.3g}"
          f"  [required median < 0.01: {'ok' if med < 0.01 else 'FAIL'}]")
    ok &= bool(med < 0.01)
    print(f"ivar ratio ours/specter: median {np.median(ours.ivar[good] / ivar[good]):.6f} "
          f"max |ratio - 1| {np.max(np.abs(ours.ivar[good] / ivar[good] - 1)):.3g}")
    if rd.shape == ours.resolution_data.shape:
        rdiff = np.max(np.abs(rd - ours.resolution_data))
        worst = np.unravel_index(np.argmax(np.abs(rd - ours.resolution_data)), rd.shape)
        print(f"resolution max |diff| {rdiff:.3g} at (spec, diag, wave) {tuple(int(i) for i in worst)}"
              f"  [required < 1e-4: {'ok' if rdiff < 1e-4 else 'FAIL'}]")
        ok &= bool(rdiff < 1e-4)
    else:
        print(f"FAIL: resolution shapes differ: specter {rd.shape} ours {ours.resolution_data.shape}")
        ok = False
    c_ours, c_ref = ours.chi2pix, ref["chi2pix"]
    if c_ours is not None:
        dc = np.abs(c_ours - c_ref)[good]
        print(f"chi2pix: median ours {np.median(c_ours[good]):.4f} specter {np.median(c_ref[good]):.4f}, "
              f"max |diff| {dc.max():.3g}")
    mref = np.zeros(flux.shape, dtype=np.uint32)
    pmf = ref["pixmask_fraction"]
    mref[pmf > 0.5] |= specmask.SOMEBADPIX
    mref[pmf == 1.0] |= specmask.ALLBADPIX
    mref[bad2dfit(ref["chi2pix"], a.bad2dfit_threshold)] |= specmask.BAD2DFIT
    print(f"mask: {np.sum(mref != ours.mask)} of {mref.size} bins differ")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
