#!/usr/bin/env python
"""Compare a fitted PSF with the true one, both read by DESI's specter (independent of this project's PSF code).

  psffit_compare.py --truth psf-truth.fits --fit psf-fit.fits [--wmin A --wmax A] [--fibers 0:50]

Prints, over the fibers and 41 wavelengths of [wmin, wmax] (default: the PSF's range):
  trace rms x, y (pixels) of the fitted traces about the true ones;
  spot shape: median over every 3rd fiber x 13 wavelengths of the rms difference of the normalised spots (specter's
  pix, fitted vs true, the fitted PSF placed on the true traces), in % of the true spot's peak.
Needs the reference environment (/work/refenv/bin/python).
"""
import argparse, sys
import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--truth', required=True)
    p.add_argument('--fit', required=True)
    p.add_argument('--wmin', type=float)
    p.add_argument('--wmax', type=float)
    p.add_argument('--fibers', default=None, help='first:last+1 (default: all of the truth)')
    a = p.parse_args()
    from specter.psf import load_psf
    t, f = load_psf(a.truth), load_psf(a.fit)
    w0 = a.wmin or t.wmin
    w1 = a.wmax or t.wmax
    fibers = range(t.nspec) if a.fibers is None else range(*map(int, a.fibers.split(':')))
    waves = np.linspace(w0, w1, 41)
    dx = np.array([f.x(i, waves) - t.x(i, waves) for i in fibers])
    dy = np.array([f.y(i, waves) - t.y(i, waves) for i in fibers])
    # the fitted PSF on the true traces: specter's GaussHermitePSF evaluates xy through _x, _y trace sets
    f._x, f._y = t._x, t._y
    f._w = t._w if hasattr(t, '_w') else None
    shapes = []
    for i in list(fibers)[::3]:
        for w in np.linspace(w0, w1, 13):
            xs, ys, pt = t.xypix(i, w)
            xf, yf, pf = f.xypix(i, w)
            if pt.size == 0 or pt.shape != pf.shape or xs != xf or ys != yf or pt.max() <= 0:
                continue
            shapes.append(np.sqrt(np.mean((pf - pt) ** 2)) / pt.max())
    print(f'trace rms x {np.sqrt(np.mean(dx ** 2)):.4f} y {np.sqrt(np.mean(dy ** 2)):.4f} px '
          f'(max |dx| {np.abs(dx).max():.4f} |dy| {np.abs(dy).max():.4f}); '
          f'spot shape rms median {100 * np.median(shapes):.3f} % of peak (90th percentile '
          f'{100 * np.percentile(shapes, 90):.3f} %, {len(shapes)} spots), {w0:.0f}-{w1:.0f} A')


if __name__ == '__main__':
    sys.exit(main())
