#!/usr/bin/env python
"""Compare our fiber flat with desispec's on the same frame file.

Usage: /work/refenv/bin/python scripts/compare_fiberflat.py --frame frame-r0-00000001.fits --ours fiberflat-ours.fits
Runs desispec.fiberflat.compute_fiberflat (defaults of desi_compute_fiberflat) on the frame, reads our file with
desispec.io.read_fiberflat (interoperability), and prints the relative differences of the flats where both have
ivar > 0. Exit code 1 when the largest relative difference exceeds --tol (default 1e-3).
"""
import argparse
import sys
import time

import numpy as np
from desispec.fiberflat import compute_fiberflat
from desispec.io import read_fiberflat, read_frame, write_fiberflat


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frame", required=True)
    p.add_argument("--ours", required=True, help="fiber flat written by desispec-swift fiberflat")
    p.add_argument("--desispec-out", default=None, help="also write desispec's fiber flat here")
    p.add_argument("--tol", type=float, default=1e-3)
    a = p.parse_args()

    frame = read_frame(a.frame)
    t0 = time.time()
    ref = compute_fiberflat(frame)
    dt = time.time() - t0
    if a.desispec_out:
        write_fiberflat(a.desispec_out, ref)
    ours = read_fiberflat(a.ours)
    assert ours.fiberflat.shape == ref.fiberflat.shape, (ours.fiberflat.shape, ref.fiberflat.shape)
    ok = (ours.ivar > 0) & (ref.ivar > 0)
    rel = np.abs(ours.fiberflat - ref.fiberflat)[ok] / np.abs(ref.fiberflat[ok])
    ivr = (ours.ivar[ok] / ref.ivar[ok]) - 1
    mask_agree = np.mean((ours.mask != 0) == (ref.mask != 0))
    print(f"desispec compute_fiberflat: {dt:.2f} s on {frame.flux.shape}")
    print(f"fiberflat relative difference: median {np.median(rel):.2e} rms {np.sqrt(np.mean(rel**2)):.2e} "
          f"99.9% {np.percentile(rel, 99.9):.2e} max {rel.max():.2e}")
    print(f"ivar relative difference: median {np.median(np.abs(ivr)):.2e} max {np.abs(ivr).max():.2e}")
    print(f"mask agreement: {mask_agree:.5f}; chi2pdf ours {ours.chi2pdf} desispec {ref.chi2pdf}")
    good = rel.max() < a.tol
    print("PASS" if good else f"FAIL: max relative difference {rel.max():.2e} >= {a.tol}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
