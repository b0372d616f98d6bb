#!/usr/bin/env python
"""Compare the SCORES HDU of frames, sframes or cframes written by desispec-swift with desispec's own scores of
the same files (desispec.specscore.compute_frame_scores, as compute_and_append_frame_scores calls it).

Usage (reference environment, e.g. /work/refenv/bin/python):
  python scripts/compare_scores.py FILE [FILE ...] [--frame frame-r0-00000003.fits] [--rtol 1e-6]

For each FILE, read with desispec.io.read_frame (so its SCORES table and the TTYPE comments must be readable by
desispec), the columns of the last suffix in the table (RAW for a frame, SKYSUB for an sframe, CALIB for a cframe)
are recomputed by desispec on the file's own spectra and compared; with --frame, the RAW columns are also
recomputed on that frame (the extraction's output the file was made from). Column names, order within a suffix
and comments must be desispec's. Prints, per column, the largest relative difference; exit status 0 when all are
within --rtol, 1 otherwise.
"""
import argparse
import copy
import sys

import numpy as np


def suffixes_in(names):
    """Suffixes in column order: SUM_RAW_COUNT_R -> RAW."""
    out = []
    for n in names:
        parts = n.split("_")
        if len(parts) >= 4 and parts[0] in ("SUM", "MEDIAN", "INTEG"):
            s = "_".join(parts[1:-2])
            if s not in out:
                out.append(s)
    return out


def compare(ours_frame, ours_names, ref_frame, suffix, rtol, label):
    from desispec.specscore import compute_frame_scores
    ref, comments = compute_frame_scores(copy.deepcopy(ref_frame), suffix=suffix, flux_per_angstrom=False)
    ok = True
    ours_cols = [n for n in ours_names if suffix in suffixes_in([n])]
    if ours_cols != list(ref.keys()):
        print(f"  {label} {suffix}: columns {ours_cols} differ from desispec's {list(ref.keys())}")
        return False
    for k, v in ref.items():
        mine = np.asarray(ours_frame.scores[k], dtype=float)
        scale = np.maximum(np.abs(v), 1e-30)
        rel = np.max(np.abs(mine - v) / scale)
        good = rel <= rtol
        ours_comment = (ours_frame.scores_comments or {}).get(k)
        if ours_comment != comments[k]:
            print(f"  {label} {k}: comment '{ours_comment}' differs from desispec's '{comments[k]}'")
            good = False
        print(f"  {label} {k}: max relative difference {rel:.2e} over {len(v)} spectra"
              f" (median value {np.median(v):.4g}) {'ok' if good else 'FAIL'}")
        ok &= bool(good)
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+")
    p.add_argument("--frame", help="the frame the files were made from: their RAW scores are checked against it")
    p.add_argument("--rtol", type=float, default=1e-6)
    a = p.parse_args()
    from desispec.io import read_frame
    ok = True
    for path in a.files:
        fr = read_frame(path)
        if fr.scores is None:
            print(f"{path}: no SCORES HDU")
            ok = False
            continue
        names = list(fr.scores.dtype.names)
        sufs = suffixes_in(names)
        print(f"{path}: SCORES suffixes {sufs}, {len(names)} columns, {len(fr.scores)} rows")
        ok &= compare(fr, names, fr, sufs[-1], a.rtol, "self")
        if a.frame and "RAW" in sufs and sufs[-1] != "RAW":
            ok &= compare(fr, names, read_frame(a.frame), "RAW", a.rtol, "frame")
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
