#!/usr/bin/env python
"""Compare our sky model and sframe with desispec's on the same frame and fiber flat.

Usage: /work/refenv/bin/python scripts/compare_sky.py --frame frame-r0-00000002.fits --fiberflat FF \
           --ours-sky sky-ours.fits --ours-sframe sframe-ours.fits
Runs, as desi_compute_sky does: read_frame, apply_fiberflat, compute_sky(add_variance=True), then
subtract_sky; reads our sky file with desispec.io.read_sky (interoperability) and compares the sky-subtracted
flux in units of desispec's sigma. Exit code 1 when the largest difference exceeds --tol sigma (default 0.05).
--adjust-wavelength / --adjust-lsf run compute_sky with those adjustments (give our sky the same flags).

Second mode, the adjustments against an independent truth (needs specter and the release binary):
  /work/refenv/bin/python scripts/compare_sky.py perturbed --bin BIN --workdir DIR [--nspec 45] [--wave 6200,7200]
Renders with specter (/work/shared/tools/specter_render.py) a science frame from the real PSF perturbed per fiber
(traces moved by --dy-per-fiber AMP,PERIOD pixels, about 0.05-0.1 A; Gaussian core widths scaled by
1 + --sigy-per-fiber AMP,PERIOD), extracts it with `desispec extract` and the UNPERTURBED PSF, then runs our
`desispec sky` and desispec's compute_sky on that frame (unit fiber flat), with and without --adjust-wavelength
--adjust-lsf, and prints for each: target-fiber pulls (sframe - R true object) / sigma on the pixels within 2 A
of bright sky lines (mean, std; sigma from the sframe ivar and from the frame's noise alone), sky-fiber chi2/ndf,
and the fitted per-fiber offsets and width changes against the injected ones (rms error). Exit code 1 when, with
the flags, our pull mean or std differs from desispec's by more than 0.02 or our sky chi2/ndf exceeds desispec's
+ 0.05.

Third mode, --fit-offsets against the injected sector offsets and against desispec (see compare_sky_offsets.py):
  /work/refenv/bin/python scripts/compare_sky.py offsets --bin BIN --workdir DIR
"""
import argparse
import sys
import time

import numpy as np
from astropy.io import fits
from desispec.fiberflat import apply_fiberflat
from desispec.io import read_fiberflat, read_frame, read_sky
from desispec.sky import compute_sky, subtract_sky


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frame", required=True)
    p.add_argument("--fiberflat", required=True)
    p.add_argument("--ours-sky", required=True)
    p.add_argument("--ours-sframe", required=True)
    p.add_argument("--tol", type=float, default=0.05)
    p.add_argument("--adjust-wavelength", action="store_true")
    p.add_argument("--adjust-lsf", action="store_true")
    a = p.parse_args()

    frame = read_frame(a.frame)
    ff = read_fiberflat(a.fiberflat)
    apply_fiberflat(frame, ff)
    t0 = time.time()
    sky = compute_sky(frame, add_variance=True, adjust_wavelength=a.adjust_wavelength, adjust_lsf=a.adjust_lsf)
    dt = time.time() - t0
    ours = read_sky(a.ours_sky)
    subtract_sky(frame, sky)
    with fits.open(a.ours_sframe) as fx:
        oflux = fx[0].data.astype("f8")
        oivar = fx["IVAR"].data.astype("f8")
    ok = (frame.ivar > 0) & (oivar > 0)
    sig = 1 / np.sqrt(frame.ivar[ok])
    d = np.abs(oflux[ok] - frame.flux[ok]) / sig
    skyok = (sky.ivar > 0) & (ours.ivar > 0)
    sd = np.abs(ours.flux - sky.flux)[skyok] * np.sqrt(sky.ivar[skyok])
    ivr = np.abs(ours.ivar[skyok] / sky.ivar[skyok] - 1)
    tc = np.abs(ours.throughput_corrections - sky.throughput_corrections)
    print(f"desispec compute_sky: {dt:.2f} s on {frame.flux.shape}")
    print(f"sframe flux difference / sigma: median {np.median(d):.2e} 99.9% {np.percentile(d, 99.9):.2e} max {d.max():.2e}")
    print(f"sky model difference / sigma(model): median {np.median(sd):.2e} max {sd.max():.2e}; "
          f"model ivar relative: median {np.median(ivr):.2e} max {ivr.max():.2e}")
    print(f"throughput corrections: max abs difference {tc.max():.2e}; pixels valid ours/desispec "
          f"{np.sum(oivar > 0)}/{np.sum(frame.ivar > 0)}")
    good = d.max() < a.tol
    print("PASS" if good else f"FAIL: max difference {d.max():.3f} sigma >= {a.tol}")
    return 0 if good else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "perturbed":
        from compare_sky_perturbed import main as perturbed_main
        sys.exit(perturbed_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "offsets":
        from compare_sky_offsets import main as offsets_main
        sys.exit(offsets_main(sys.argv[2:]))
    sys.exit(main())
