#!/usr/bin/env python
"""Compare a frame written by `desispec extract` (Swift) with desispec/specter on the same inputs.

Usage:
  /work/refenv/bin/python scripts/compare_extract.py --preproc preproc.fits --psf psf.fits --ours frame.fits \
      [-w 5760,7620,0.8] [--specmin 0 --nspec 25] [--nsubbundles 6] [--nwavestep 50]

Always: opens our frame with desispec.io.read_frame (interop) and prints its summary.
If specter is importable: runs specter.extract.ex2d with the same options (timed), and prints the
agreement: median and 99th percentile of |flux_ours - flux_specter| * sqrt(ivar), ivar ratio, and the
largest difference of the resolution matrix elements.
"""
import argparse
import time
import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preproc", required=True)
    p.add_argument("--psf", required=True)
    p.add_argument("--ours", required=True)
    p.add_argument("-w", "--wavelength", default=None)
    p.add_argument("--specmin", type=int, default=0)
    p.add_argument("--nspec", type=int, default=None)
    p.add_argument("--bundlesize", type=int, default=25)
    p.add_argument("--nsubbundles", type=int, default=6)
    p.add_argument("--nwavestep", type=int, default=50)
    a = p.parse_args()

    from desispec.io import read_frame, read_image
    ours = read_frame(a.ours)
    print(f"ours: {a.ours}: nspec={ours.nspec} nwave={ours.nwave} ndiag={ours.resolution_data.shape[1]} "
          f"wave {ours.wave[0]:.2f}-{ours.wave[-1]:.2f} median flux {np.median(ours.flux):.3f} "
          f"median ivar {np.median(ours.ivar):.4g} masked {np.mean(ours.mask != 0):.4f}")
    try:
        from specter.psf import load_psf
        from specter.extract import ex2d
    except ImportError:
        print("specter is not importable in this environment: no side-by-side comparison")
        return
    from desispec.maskbits import extractmaskval
    img = read_image(a.preproc)
    psf = load_psf(a.psf)
    if a.wavelength:
        wmin, wmax, dw = map(float, a.wavelength.split(","))
    else:
        wmin, wmax, dw = psf.wmin, psf.wmax, 0.8
    wave = np.arange(wmin, wmax + 0.5 * dw, dw)
    nspec = a.nspec or ours.nspec
    t0 = time.time()
    res = ex2d(img.pix, img.ivar * ((img.mask & extractmaskval) == 0), psf, a.specmin, nspec, wave,
               bundlesize=a.bundlesize, wavesize=a.nwavestep, nsubbundles=a.nsubbundles, full_output=True)
    t1 = time.time()
    print(f"specter ex2d: {nspec} spectra x {len(wave)} wavelengths in {t1 - t0:.2f} s")
    flux, ivar, rd = res["flux"], res["ivar"], res["resolution_data"]
    good = (ivar > 0) & (ours.ivar > 0)
    pull = np.abs(ours.flux - flux)[good] * np.sqrt(ivar[good])
    print(f"|flux diff|/sigma: median {np.median(pull):.4f} p99 {np.percentile(pull, 99):.4f} max {pull.max():.4f}")
    print(f"ivar ratio ours/specter: median {np.median(ours.ivar[good] / ivar[good]):.5f}")
    if rd.shape == ours.resolution_data.shape:
        print(f"resolution max |diff| {np.max(np.abs(rd - ours.resolution_data)):.3g}")
    else:
        print(f"resolution shapes differ: specter {rd.shape} ours {ours.resolution_data.shape}")


if __name__ == "__main__":
    main()
