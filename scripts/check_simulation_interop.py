#!/usr/bin/env python
"""Checks a `desispec simulate` output folder with the reference desispec readers (not needed by the Swift tests).

Usage: /work/refenv/bin/python scripts/check_simulation_interop.py OUTDIR/NIGHT/EXPID
Reads the fibermap with desispec.io.read_fibermap, each truth-psf-CAM.fits with desispec.io.read_xytraceset,
and prints trace positions and the truth summary, so that a format problem shows up as an exception here.
"""
import glob
import os
import sys

import numpy as np
from astropy.io import fits
from desispec.io import read_fibermap
from desispec.io.xytraceset import read_xytraceset

d = sys.argv[1]
fm = glob.glob(os.path.join(d, "fibermap-*.fits"))[0]
fibermap = read_fibermap(fm)
print(f"fibermap: {len(fibermap)} fibers, SKY {np.sum(fibermap['OBJTYPE'] == 'SKY')}, "
      f"STD {np.sum((fibermap['DESI_TARGET'] & (1 << 33)) != 0)}")
for p in sorted(glob.glob(os.path.join(d, "truth-psf-*.fits"))):
    ts = read_xytraceset(p)
    w = np.linspace(ts.wavemin, ts.wavemax, 3)
    print(f"{os.path.basename(p)}: nspec {ts.nspec} wave {ts.wavemin}-{ts.wavemax} "
          f"x(fiber 0) {np.round(ts.x_vs_wave(0, w), 2)} y(fiber 0) {np.round(ts.y_vs_wave(0, w), 2)}")
truth = fits.open(glob.glob(os.path.join(d, "truth-[0-9]*.fits"))[0])
for cam in truth[0].header["CAMERAS"].split(","):
    e = truth[f"{cam.upper()}_ELECTRONS"].data
    print(f"{cam}: truth electrons/A median per fiber {np.round(np.median(e, axis=1)[:5], 1)} ...")
