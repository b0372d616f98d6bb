#!/usr/bin/env python3
"""Coadd benchmark, ours (release build of `desispec`) vs desispec (/work/refenv) measured in the same run.

Simulated cframes (scripts/compare_coadd.py make_cframes: b/r/z on DESI-like 0.8 A grids, NFIBER fibers, NEXP
exposures) are written with desispec.io.write_frame, then:
  grouping:  ours `desispec spectra` (read cframes, group, write)  vs  desispec FrameLite.read + frames2spectra + write_spectra
  coadd:     ours `desispec coadd --nsig 4` (read, coadd, write)   vs  desispec read_spectra + coadd + write_spectra
  resample:  ours `desispec coadd --lin-step 0.8` over NRES targets vs desispec coadd + resample_spectra_lin_or_log
usage: /work/refenv/bin/python scripts/bench/coadd.py --bin PATH/desispec [--nfiber 100] [--nexp 4] [--nres 4]
"""
import argparse, os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import numpy as np
from compare_coadd import make_cframes
from desispec.io import read_frame, read_spectra, write_spectra
from desispec.pixgroup import frames2spectra, FrameLite
from desispec.coaddition import coadd, resample_spectra_lin_or_log


def timed(f):
    t0 = time.time(); r = f(); return time.time() - t0, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--nfiber', type=int, default=100)
    ap.add_argument('--nexp', type=int, default=4)
    ap.add_argument('--nres', type=int, default=4)
    ap.add_argument('--workdir', default=None)
    a = ap.parse_args()
    wd = a.workdir or tempfile.mkdtemp(prefix='bench-coadd-')
    frames = make_cframes(wd, nfiber=a.nfiber, nexp=a.nexp)
    sp_ours = os.path.join(wd, 'spectra-ours.fits'); sp_ref = os.path.join(wd, 'spectra-ref.fits')
    rows = []
    t_o, _ = timed(lambda: subprocess.run([a.bin, 'spectra', '--inframes', *frames, '-o', sp_ours, '-q'], check=True))
    def ref_group():
        fr = [FrameLite.read(f) for f in frames]
        s = frames2spectra(fr)
        from astropy.table import Table
        from desispec.spectra import Spectra
        sp = Spectra(bands=s.bands, wave=s.wave, flux=s.flux, ivar=s.ivar, mask=s.mask, resolution_data=s.resolution_data,
                     fibermap=Table(s.fibermap), exp_fibermap=s.exp_fibermap, scores=s.scores)
        write_spectra(sp_ref, sp)
    t_r, _ = timed(ref_group)
    rows.append(('group %d cframes' % len(frames), t_o, t_r))

    co = os.path.join(wd, 'coadd-ours.fits')
    t_o, _ = timed(lambda: subprocess.run([a.bin, 'coadd', '-i', sp_ours, '-o', co, '--nsig', '4', '-q'], check=True))
    def ref_coadd():
        s = read_spectra(sp_ours); coadd(s, cosmics_nsig=4.0); write_spectra(os.path.join(wd, 'coadd-ref.fits'), s)
    t_r, _ = timed(ref_coadd)
    rows.append(('coadd %d spectra (nsig 4)' % (a.nfiber * a.nexp), t_o, t_r))

    tids = [str(39600000000 + i) for i in range(a.nres)]
    lin = os.path.join(wd, 'coadd-lin-ours.fits')
    t_o, _ = timed(lambda: subprocess.run([a.bin, 'coadd', '-i', sp_ours, '-o', lin, '--nsig', '0', '--lin-step', '0.8',
                                           '--targetids', *tids, '-q'], check=True))
    def ref_lin():
        s = read_spectra(sp_ours).select(targets=[int(t) for t in tids]); coadd(s, cosmics_nsig=0.0)
        return resample_spectra_lin_or_log(s, linear_step=0.8)
    t_r, ref = timed(ref_lin)
    rows.append(('spectro-perfect 0.8 A, %d targets' % a.nres, t_o, t_r))
    ours = read_spectra(lin)
    b = ref.bands[0]
    d = np.max(np.abs(ours.flux[ours.bands[0]] - ref.flux[b])) / np.max(np.abs(ref.flux[b]))
    print(f"(check) spectro-perfect flux max relative difference ours vs desispec: {d:.2e}")
    print(f"{'step':40s} {'ours [s]':>9s} {'desispec [s]':>13s} {'speed-up':>9s}")
    for name, o, r in rows:
        print(f"{name:40s} {o:9.2f} {r:13.2f} {r / o:9.1f}x")


if __name__ == '__main__':
    main()
