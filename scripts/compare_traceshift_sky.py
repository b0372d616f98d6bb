#!/usr/bin/env python
"""Trace shifts of a science exposure against an independent truth: a known flexure drawn by DESI's specter.

A night-sky frame (the UVES atlas in every fiber, continua on two fibers in three) is rendered by specter
(/work/shared/tools/specter_render.py) from a real DESI PSF whose traces are moved by (--dx, --dy) pixels; our
`desispec traceshift --sky` and desispec's desi_compute_trace_shifts --sky (desi_proc's science settings, degrees
2, 0, 2, 0) then measure the shifts starting from the unmoved PSF. A y shift common to all fibers is invisible to the
relative calibration (cross-correlations with the median spectrum); only the external one, against the sky line
spectrum both ship, sees it. Prints the injected and measured mean shifts and exits 1 when ours misses the injected
ones by more than --tolerance pixel.

Usage (reference environment with desispec and specter, see ../shared/tools/make-refenv.sh):
  /work/refenv/bin/python scripts/compare_traceshift_sky.py --bin .build/release/desispec --workdir /tmp/ts-sky
Outputs stay in --workdir (the rendered image is reused when present).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_sky_perturbed import RENDER, inputs, run  # noqa: E402

DATA = os.environ.get("DESISPEC_TESTDATA", "/work/shared/data")
DEGREES = ["--degxx", "2", "--degxy", "0", "--degyx", "2", "--degyy", "0"]


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True, help="our desispec binary (release build)")
    p.add_argument("--workdir", required=True)
    p.add_argument("--psf", default=DATA + "/psf/psf-r0-00051060.fits")
    p.add_argument("--uves", default=DATA + "/spectra/sky-uves.fits")
    p.add_argument("--nspec", type=int, default=50)
    p.add_argument("--dx", type=float, default=0.2, help="injected x shift (pixels)")
    p.add_argument("--dy", type=float, default=0.3, help="injected y shift (pixels)")
    p.add_argument("--sky-scale", type=float, default=150.0, help="electrons/A per unit of the UVES atlas")
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--tolerance", type=float, default=0.05, help="largest |ours - injected| accepted (pixels)")
    p.add_argument("--no-desispec", action="store_true", help="skip desispec's measurement")
    return p.parse_args(argv)


def mean_shifts(out_psf, in_psf, nspec):
    """Mean x and y shifts of the traces of out_psf from in_psf: fibers 0..nspec-1, 5 wavelengths (MEANDX/MEANDY)."""
    from desispec.io.xytraceset import read_xytraceset
    a, b = read_xytraceset(out_psf), read_xytraceset(in_psf)
    w = np.linspace(b.wavemin, b.wavemax, 5)
    dx = np.mean([a.x_vs_wave(i, w) - b.x_vs_wave(i, w) for i in range(nspec)])
    dy = np.mean([a.y_vs_wave(i, w) - b.y_vs_wave(i, w) for i in range(nspec)])
    return dx, dy


def main(argv=None):
    a = parse(argv if argv is not None else sys.argv[1:])
    from desispec.io.xytraceset import read_xytraceset
    os.makedirs(a.workdir, exist_ok=True)
    W = lambda name: os.path.join(a.workdir, name)
    tset = read_xytraceset(a.psf)
    w0, w1 = tset.wavemin + 20, tset.wavemax - 20
    image = W("preproc-r0-00000002.fits")
    if not os.path.exists(image):
        wave, flux, _, _ = inputs(argparse.Namespace(uves=a.uves, sky_scale=a.sky_scale, nspec=a.nspec), w0, w1)
        np.savez(W("spectra.npz"), wave=wave, flux=flux, specmin=0)
        run([sys.executable, RENDER, "perturb", "--psf", a.psf, "-o", W("psf-moved.fits"),
             "--dx", str(a.dx), "--dy", str(a.dy)])
        t = run([sys.executable, RENDER, "render", "--psf", W("psf-moved.fits"), "--spectra", W("spectra.npz"),
                 "-o", image, "--seed", str(a.seed), "--expid", "2"])
        print(f"specter render of {a.nspec} fibers, {w0:.0f}-{w1:.0f} A: {t:.0f} s")
    truth = mean_shifts(W("psf-moved.fits"), a.psf, a.nspec)
    args = ["-i", image, "--psf", a.psf, "--sky"] + DEGREES + ["--nfibers", str(a.nspec)]
    t = run([a.bin, "traceshift", "-q"] + args + ["-o", W("psf-ours.fits")])
    ours = mean_shifts(W("psf-ours.fits"), a.psf, a.nspec)
    print(f"injected       : dx {truth[0]:+.4f}  dy {truth[1]:+.4f} pixel")
    print(f"ours           : dx {ours[0]:+.4f}  dy {ours[1]:+.4f}  ({t:.1f} s)")
    if not a.no_desispec:
        ref = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench", "exposure_reference.py")
        t = run([sys.executable, ref, "traceshift", a.workdir, "--"] + args + ["-o", W("psf-ref.fits")])
        d = mean_shifts(W("desispec-psf-ref.fits"), a.psf, a.nspec)
        print(f"desispec       : dx {d[0]:+.4f}  dy {d[1]:+.4f}  ({t:.1f} s)")
    miss = max(abs(ours[0] - truth[0]), abs(ours[1] - truth[1]))
    print(f"largest |ours - injected| = {miss:.4f} pixel (tolerance {a.tolerance}): {'PASS' if miss <= a.tolerance else 'FAIL'}")
    return 0 if miss <= a.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
