#!/usr/bin/env python
"""Fiber acceptance: desispec-swift's Moffat model against desimodel's galsim table and desispec.fiberfluxcorr (issue 14).

Usage:
  git clone https://github.com/desihub/specsim /tmp/specsim
  git -C /tmp/specsim show HEAD:specsim/data/test/test-galsim-fiber-acceptance.fits > /tmp/galsim-test.fits
  DESISPEC_ACCEPTANCE_GRID=/tmp/acceptance.json swift test --skip-build --filter FiberAcceptanceGridWriter
  /work/refenv/bin/python scripts/compare_fiber_acceptance.py --grid /tmp/acceptance.json --table /tmp/galsim-test.fits

What is compared, and why this way: desispec.fiberfluxcorr needs two desimodel data files that are not installed
here and are not on GitHub (desimodel's data live in its svn repository): throughput/galsim-fiber-acceptance.fits and
focalplane/platescale.txt. The only copy of a galsim fiber-acceptance table found is specsim's test fixture
(desihub/specsim, specsim/data/test/test-galsim-fiber-acceptance.fits, made by specsim/fitgalsim.py, the program
that makes desimodel's table): the same layout and physics (Moffat beta 3.5 seeing plus the telescope blur, 107 um
fiber, 3 random fiber positions and orientations, disks with axis ratio 0.7), on a 2 x 2 grid only: sigma for 1.0"
and 1.1" FWHM at 71.42 um/", offsets 0" and 0.2", half-light radii 0.45" and 1.0". So:
  1. the table's nodes against our fractions at the same seeing, offset and radius (a round fiber at the table's
     plate scale);
  2. desispec's flat_to_psf_flux_correction and psf_to_fiber_flux_correction run with $DESIMODEL pointing to a folder
     holding that table and a platescale.txt written from our plate-scale nodes (so only the acceptance model
     differs), on a focal-plane grid at seeing 1.0", 1.05", 1.1" (desispec interpolates the table linearly and
     extrapolates it linearly outside its nodes, a few percent in sigma here), against ours on the same fibermap.
"""
import argparse
import json
import os
import shutil
import tempfile

import numpy as np


def table_nodes(grid, path):
    from astropy.io import fits
    h = fits.open(path)
    sigma, offset, hlrad = h["SIGMA"].data, h["OFFSET"].data, h["HLRAD"].data
    mscale = h["SIGMA"].header["MSCALE"]
    point, disk = h["POINT"].data, h["DISK"].data        # [sigma, offset], [hlr, sigma, offset]
    print(f"galsim table {os.path.basename(path)}: MSCALE {mscale:.4f} um/arcsec, "
          f"sigma {sigma} um (FWHM {sigma / mscale * 2.35482} arcsec), offsets {offset / mscale} arcsec, hlr {hlrad}")
    print("seeing  offset  source          galsim   ours    ours/galsim-1")
    worst = {"POINT": 0.0, "DISK": 0.0}
    for row in grid["table"]:
        i = int(np.argmin(np.abs(sigma / mscale * 2.35482 - row["fwhm"])))
        k = int(np.argmin(np.abs(offset / mscale - row["offset_arcsec"])))
        cases = [("POINT", point[i, k], row["point"])]
        for m, r in enumerate(hlrad):
            cases.append((f"DISK hlr {r:.2f}", disk[m, i, k], row[f"disk_{r}"]))
        for name, g, o in cases:
            print(f'{row["fwhm"]:5.2f}"  {row["offset_arcsec"]:4.2f}"  {name:14s}  {g:.4f}  {o:.4f}  {o / g - 1:+.4f}')
            key = name.split()[0]
            worst[key] = max(worst[key], abs(o / g - 1))
    print(f"largest |ours/galsim - 1|: point sources {worst['POINT']:.4f}, disks {worst['DISK']:.4f}")
    return worst


def desimodel_folder(grid, table):
    root = tempfile.mkdtemp(prefix="desimodel-")
    os.makedirs(f"{root}/data/throughput")
    os.makedirs(f"{root}/data/focalplane")
    shutil.copy(table, f"{root}/data/throughput/galsim-fiber-acceptance.fits")
    ps = grid["platescale"]
    # desimodel.io.load_platescale reads columns 0 (radius), 1 (theta), 6 (radial), 7 (azimuthal), 8 (arclength)
    with open(f"{root}/data/focalplane/platescale.txt", "w") as f:
        f.write("# radius theta c2 c3 c4 c5 radial_platescale az_platescale arclength (desispec-swift's nodes)\n")
        for r, m, s in zip(ps["radius"], ps["radial"], ps["azimuthal"]):
            f.write(f"{r:.1f} 0 0 0 0 0 {m:.8f} {s:.8f} 0\n")
    return root


def corrections(grid, table):
    root = desimodel_folder(grid, table)
    os.environ["DESIMODEL"] = root
    from astropy.table import Table
    import desispec.fiberfluxcorr as ffc
    f = grid["fibers"]
    n = len(f["FIBER_X"])
    fm = Table()
    fm["FIBER"] = np.arange(n)
    fm["OBJTYPE"] = np.array(["TGT"] * n)
    for c in ["FIBER_X", "FIBER_Y", "DELTA_X", "DELTA_Y", "SHAPE_R"]:
        fm[c] = np.array(f[c], dtype=float)
    fm["MORPHTYPE"] = np.array(f["MORPHTYPE"])
    psf = fm["MORPHTYPE"] == "PSF"
    radius = np.hypot(fm["FIBER_X"], fm["FIBER_Y"])
    print("\nseeing  correction        source     fibers  max|ours/desispec-1|  rms     desispec range   ours range")
    result = {}
    for entry in grid["corrections"]:
        s = entry["seeing"]
        theirs = {"FLAT_TO_PSF_FLUX": ffc.flat_to_psf_flux_correction(fm.copy(), s),
                  "PSF_TO_FIBER_FLUX": ffc.psf_to_fiber_flux_correction(fm.copy(), s)}
        ours = {"FLAT_TO_PSF_FLUX": np.array(entry["flat_to_psf"]), "PSF_TO_FIBER_FLUX": np.array(entry["psf_to_fiber"])}
        for name in theirs:
            groups = [("PSF", psf)] + [(f"EXP {r:g}\"", ~psf & (fm["SHAPE_R"] == r)) for r in np.unique(fm["SHAPE_R"][~psf])]
            for label, sel in groups:
                t, o = theirs[name][sel], ours[name][sel]
                d = o / t - 1
                print(f'{s:5.2f}"  {name:17s} {label:9s}  {sel.sum():3d}    {np.max(np.abs(d)):.4f}              '
                      f'{np.sqrt(np.mean(d ** 2)):.4f}  {t.min():.4f}-{t.max():.4f}   {o.min():.4f}-{o.max():.4f}')
                result[(s, name, label)] = d
        if s == 1.1:
            print("  FLAT_TO_PSF_FLUX of the centred point sources against radius at 1.1\":")
            print("  radius[mm]  desispec  ours")
            sel = psf & (fm["DELTA_X"] == 0)
            for r in np.unique(np.round(radius[sel])):
                i = np.where(sel & (np.round(radius) == r))[0][0]
                print(f"  {r:6.0f}      {theirs['FLAT_TO_PSF_FLUX'][i]:.4f}    {ours['FLAT_TO_PSF_FLUX'][i]:.4f}")
    shutil.rmtree(root)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--grid", required=True, help="JSON written by FiberAcceptanceGridWriter")
    p.add_argument("--table", required=True, help="a galsim-fiber-acceptance.fits (specsim's test fixture)")
    a = p.parse_args()
    with open(a.grid) as f:
        grid = json.load(f)
    table_nodes(grid, a.table)
    corrections(grid, a.table)


if __name__ == "__main__":
    main()
