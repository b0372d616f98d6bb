#!/usr/bin/env python
"""Compare desispec-swift PSF evaluation (desispec psf-eval) with specter's GaussHermitePSF.

Usage: compare_psf_specter.py [--desispec PATH_TO_BINARY] [--data DIR]
Needs specter (desihub/specter) importable; prints max |ours - specter| of x, y, wavelength(y) and spot pixels.
"""
import argparse, json, os, subprocess, sys
import numpy as np

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--desispec", default=os.path.join(os.path.dirname(__file__), "..", ".build", "debug", "desispec"))
    ap.add_argument("--data", default=os.environ.get("DESISPEC_TESTDATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")))
    ap.add_argument("--print-fixtures", action="store_true", help="print a few specter values for the Swift tests")
    args = ap.parse_args()
    from specter.psf import load_psf

    cases = [("psf/psf-r0-00051060.fits", [0, 1, 24, 250, 499], [5600.0, 6000.25, 6789.1, 7500.0, 7800.0], [10.0, 1000.3, 2064.0, 4100.7]),
             ("psf/psf-gausshermite-v2.fits", [0, 7, 24], [5600.0, 6000.25, 6789.1, 7790.0], [30.0, 2064.0, 4000.5])]
    worst = 0.0
    for name, fibers, waves, ys in cases:
        path = os.path.join(args.data, name)
        sp = load_psf(path)
        cmd = [args.desispec, "psf-eval", path, "--json"]
        for f in fibers: cmd += ["--fiber", str(f)]
        for w in waves: cmd += ["--wavelength", repr(w)]
        for y in ys: cmd += ["--y", repr(y)]
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        dx = dy = dpix = dw = 0.0
        for p in out["points"]:
            f, w = p["fiber"], p["wavelength"]
            dx = max(dx, abs(p["x"] - sp.x(f, w)))
            dy = max(dy, abs(p["y"] - sp.y(f, w)))
            xs, ys_, pix = sp._xypix(f, w)
            assert xs.start == p["x0"] and ys_.start == p["y0"], (name, f, w, xs, ys_, p["x0"], p["y0"])
            ours = np.array(p["spot"]).reshape(p["ny"], p["nx"])
            assert ours.shape == pix.shape, (ours.shape, pix.shape)
            dpix = max(dpix, np.abs(ours - pix).max())
            if args.print_fixtures and f in (0, fibers[-1]) and w in (6000.25,):
                iy, ix = np.unravel_index(np.argmax(pix), pix.shape)
                print(f"FIXTURE {name} fiber={f} w={w} x={sp.x(f, w)!r} y={sp.y(f, w)!r} x0={xs.start} y0={ys_.start} "
                      f"peak[{iy},{ix}]={pix[iy, ix]!r} pix[0,0]={pix[0, 0]!r} pix[{iy},{ix + 2}]={pix[iy, ix + 2]!r} "
                      f"pix[{iy + 1},{ix}]={pix[iy + 1, ix]!r}")
        for q in out["inverse"]:
            ref = float(sp.wavelength(q["fiber"], q["y"]))
            dw = max(dw, abs(q["wavelength"] - ref))
            if args.print_fixtures and q["fiber"] == fibers[-1]:
                print(f"FIXTURE {name} fiber={q['fiber']} y={q['y']} wavelength={ref!r}")
        print(f"{name}: {len(out['points'])} spots; max |dx| = {dx:.3g} px, |dy| = {dy:.3g} px, "
              f"|d wavelength(y)| = {dw:.3g} A, |d spot pixel| = {dpix:.3g}")
        worst = max(worst, dx, dy, dw, dpix)
    print(f"worst difference: {worst:.3g} (goal 1e-6)")
    return 0 if worst < 1e-6 else 1

if __name__ == "__main__":
    sys.exit(main())
