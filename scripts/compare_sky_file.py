#!/usr/bin/env python
"""The sky file's HDUs, ours against desispec's write_sky, with the adjustments carried by a PCA file.

Usage: /work/refenv/bin/python scripts/compare_sky_file.py --bin BIN --frame FRAME --fiberflat FF --workdir DIR
Writes a PCA file in desispec's layout (write_skycorr_pca: a mean and two smooth eigenvectors across fibers) for the
frame, runs desi_compute_sky's steps (compute_sky with adjust_wavelength, adjust_lsf, pcacorr; write_sky) and our
`desispec sky --adjust-wavelength --adjust-lsf --pca-corr`, then prints both files' HDUs (name, shape, type) and
the PCA coefficients (DWAVECOEFF, DLSFCOEFF) desispec's read_sky gets from each. Exit code 1 when the HDU names
differ or a coefficient differs by more than 1e-4 (relative to the largest).
(`compare_sky.py offsets --workdir DIR` makes a suitable frame and fiber flat in DIR.)
"""
import argparse
import subprocess
import sys

import numpy as np
from astropy.io import fits


def hdus(path):
    with fits.open(path) as fx:
        return [(h.name, tuple(h.data.shape) if h.data is not None else None,
                 str(h.data.dtype.newbyteorder("=")) if h.data is not None else None) for h in fx]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True)
    p.add_argument("--frame", required=True)
    p.add_argument("--fiberflat", required=True)
    p.add_argument("--workdir", required=True)
    a = p.parse_args()
    from desispec.fiberflat import apply_fiberflat
    from desispec.io import read_fiberflat, read_frame, read_sky, write_sky
    from desispec.io.skycorr import read_skycorr_pca, write_skycorr_pca
    from desispec.sky import compute_sky
    from desispec.skycorr import SkyCorrPCA
    frame = read_frame(a.frame)
    nspec, nwave = frame.flux.shape
    fib = np.arange(nspec)[:, None] * np.ones(nwave)[None, :]
    eig = np.array([np.sin(2 * np.pi * fib / 40), np.cos(2 * np.pi * fib / 25)])
    pca = SkyCorrPCA(0.02 * np.ones((nspec, nwave)), eig, np.array([1.0, 0.5]), 0.1 * np.ones((nspec, nwave)), 0.5 * eig,
                     np.array([1.0, 0.5]), frame.wave, fits.Header())
    pca_path = f"{a.workdir}/skycorr-pca.fits"
    write_skycorr_pca(pca_path, pca)
    ff = read_fiberflat(a.fiberflat)
    apply_fiberflat(frame, ff)
    sky = compute_sky(frame, add_variance=True, adjust_wavelength=True, adjust_lsf=True,
                      pcacorr=read_skycorr_pca(pca_path))
    theirs = f"{a.workdir}/sky-desispec-pca.fits"
    write_sky(theirs, sky, frame.meta)
    ours = f"{a.workdir}/sky-ours-pca.fits"
    r = subprocess.run([a.bin, "sky", "-i", a.frame, "--fiberflat", a.fiberflat, "-o", ours, "--adjust-wavelength",
                        "--adjust-lsf", "--pca-corr", pca_path, "-q"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    ok = True
    h_ours, h_theirs = hdus(ours), hdus(theirs)
    for name, label in ((h_theirs, "desispec"), (h_ours, "ours")):
        print(f"{label:9s}: " + ", ".join(f"{n}{list(s) if s is not None else ''} {t or ''}".strip() for n, s, t in name))
    if [h[0] for h in h_ours] != [h[0] for h in h_theirs]:
        print("FAIL: the HDU names differ")
        ok = False
    so, st = read_sky(ours), read_sky(theirs)
    for attr in ("dwavecoeff", "dlsfcoeff", "skygradpcacoeff"):
        vo, vt = getattr(so, attr), getattr(st, attr)
        print(f"{attr}: ours {None if vo is None else np.round(vo, 6).tolist()} "
              f"desispec {None if vt is None else np.round(vt, 6).tolist()}")
        if (vo is None) != (vt is None):
            ok = False
        elif vo is not None and vo.shape != vt.shape:
            ok = False
        elif vo is not None and vo.size and np.max(np.abs(vo - vt)) > 1e-4 * max(1e-3, np.max(np.abs(vt))):
            ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
