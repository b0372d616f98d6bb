#!/usr/bin/env python
"""Compare our CTE correction with desispec's (desispec.correct_cte.correct_image_via_model) on the same raw frame.

Usage (from the package root, with the reference venv, after `swift build --build-tests` and a release build):
    /work/refenv/bin/python scripts/compare_cte.py [--fixture-dir DIR] [--desispec-bin BIN] [--scratch .build]

The fixture (Tests/PreprocTests/CTECorrectionTests.testWriteCTEFrameFixture, run through `swift test` with
PREPROC_CTE_FIXTURE_DIR): a full-size r0 frame of 500 fibers, smooth spectra of 400-1100 e per row spread by
psf-r0-00051060.fits's cross-dispersion profiles, whose amplifier B (read out at the right edge) has a trap at column
3100 (simplified_regnault, amplitude 60 e, 15% leak per transfer) before the readout: desi-00001234.fits.fz; the same
electrons and read noise without the trap: desi-00001235.fits.fz.

Both programs preprocess the trapped frame (no bias, dark, mask, cosmic rays; the calibration yaml in
DESI_SPECTRO_CALIB names the PSF, a fiber flat with 5% smooth variations and CTECOLSB: '3000:3100'; the night's
ctecorr yaml gives the trap's parameters), once with the CTE correction (desispec: preproc(..., no_cte_corr=False,
cte_params_filename=...), which calls correct_image_via_model with niter=5; ours: `desispec preproc --cte-params`) and
once without. Prints
- the corrected images' difference, ours - desispec: max and rms over the CCD and over amplifier B behind the trap;
- the corrections themselves (corrected - uncorrected) against each other, with desispec's correction rms for scale;
- each program's residual against the trap-free frame (ours preprocessed) on the traces behind the trap (pixels within
  2 columns of a trace centre), before and after the correction;
- the time each program spends on the CTE correction (CPU user+sys and wall of the run with it minus the run without).
desispec's images are saved in the fixture folder (desispec-cte.npz); --reuse-desispec takes them from there.
Goal: corrected images within 0.05 e rms and 1 e max of desispec's.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_preproc import run_reference, write_mv_calibration  # noqa: E402

TRAP_COLUMN = 3100
PARAMS = """- AMPLIFIER: B
  AMPLITUDE: 60.0
  CAMERA: r0
  CHI2PDF: 1.0
  FRACLEAK: 0.15
  FUNC: simplified_regnault
  NIGHT: 20240101
  SECTOR: '3000:3100'
"""


def make_fixture(pkg, scratch, fixture_dir):
    env = dict(os.environ, PREPROC_CTE_FIXTURE_DIR=fixture_dir)
    env.setdefault('DESISPEC_TESTDATA', os.path.abspath(os.path.join(pkg, '..', 'shared', 'data')))
    cmd = ['swift', 'test', '--scratch-path', scratch, '--skip-build', '--filter',
           'PreprocTests.CTECorrectionTests/testWriteCTEFrameFixture']
    print('+', ' '.join(cmd), f'(PREPROC_CTE_FIXTURE_DIR={fixture_dir})', flush=True)
    subprocess.run(cmd, cwd=pkg, env=env, check=True, stdout=subprocess.DEVNULL)


def patch_rowbyrow_fibermap():
    """rowbyrowextract makes a blank fibermap with desimodel's focal plane, which the reference environment lacks; the
    image model only reads its FIBER and OBJTYPE columns (none is SKY: the faintest half of the fibers is the sky)."""
    import desispec.io.fibermap
    from astropy.table import Table

    def blank_fibermap(n):
        t = Table()
        t['FIBER'] = np.zeros(n, dtype=np.int32)
        t['OBJTYPE'] = np.array([''] * n, dtype='U10')
        return t
    desispec.io.fibermap.empty_fibermap = blank_fibermap


def run_ours(binary, raw, out, yaml, extra):
    cmd = [binary, 'preproc', '-i', raw, '--cameras', 'r0', '-o', out, '--quiet', '--nobias', '--nodark', '--nomask',
           '--nocosmic', '--calib-config', yaml] + extra
    print('+', ' '.join(cmd), flush=True)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    subprocess.run(cmd, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    from astropy.io import fits
    with fits.open(out) as f:
        pix = f['IMAGE'].data.astype(np.float64)
    return pix, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), time.time() - t0


def run_desispec(raw, tmp, yaml, extra):
    t0, c0 = time.time(), time.process_time()
    img, _ = run_reference(raw, 'r0', {'yaml': yaml}, tmp,
                           extra=dict(bias=False, dark=False, mask=False, pixflat=True, nocosmic=True, **extra))
    return img.pix.astype(np.float32).astype(np.float64), time.process_time() - c0, time.time() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    pkg = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
    p.add_argument('--fixture-dir', default=None, help='folder of the CTE frame fixture (default: a temporary one)')
    p.add_argument('--scratch', default=os.path.join(pkg, '.build'), help='swift scratch path')
    p.add_argument('--desispec-bin', default=None, help='our desispec binary (default: <scratch>/release/desispec)')
    p.add_argument('--reuse-desispec', action='store_true',
                   help='use desispec\'s images saved in the fixture folder by an earlier run (desispec-cte.npz)')
    p.add_argument('--ours-dir', default=None,
                   help='take our images from ours-cte.fits, ours-nocte.fits, ours-clean.fits there (same options) instead of '
                        'running our binary')
    p.add_argument('--desispec-only', action='store_true', help='run desispec only (and save its images), not ours')
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix='compare-cte-')
    os.environ['DESI_SPECTRO_CALIB'] = os.path.join(tmp, 'calib')   # desispec's CalibFinder reads the yaml there
    fixture = args.fixture_dir or os.path.join(tmp, 'fixture')
    raw = os.path.join(fixture, 'desi-00001234.fits.fz')
    clean_raw = os.path.join(fixture, 'desi-00001235.fits.fz')
    if not (os.path.exists(raw) and os.path.exists(clean_raw)):
        make_fixture(pkg, args.scratch, fixture)
    testdata = os.environ.get('DESISPEC_TESTDATA', os.path.abspath(os.path.join(pkg, '..', 'shared', 'data')))
    psf = os.path.join(testdata, 'psf', 'psf-r0-00051060.fits')
    yaml = write_mv_calibration(tmp, raw, 'r0', psf)
    with open(yaml, 'a') as f:
        f.write(f"    PSF: {psf}\n    CTECOLSB: '3000:3100'\n")
    params = os.path.join(tmp, 'ctecorr-20240101.yaml')
    with open(params, 'w') as f:
        f.write(PARAMS)
    binary = args.desispec_bin or os.path.join(args.scratch, 'release', 'desispec')

    cache = os.path.join(fixture, 'desispec-cte.npz')
    if args.reuse_desispec and os.path.exists(cache):
        print(f'desispec results from {cache}', flush=True)
        c = np.load(cache)
        desi, desi0 = c['desi'], c['desi0']
        cpu_d, wall_d, cpu_d0, wall_d0 = (float(v) for v in c['times'])
    else:
        patch_rowbyrow_fibermap()
        desi, cpu_d, wall_d = run_desispec(raw, tmp, yaml, dict(no_cte_corr=False, cte_params_filename=params))
        desi0, cpu_d0, wall_d0 = run_desispec(raw, tmp, yaml, dict(no_cte_corr=True))
        np.savez(cache, desi=desi, desi0=desi0, times=np.array([cpu_d, wall_d, cpu_d0, wall_d0]))
    if args.desispec_only:
        return 0

    if args.ours_dir:
        from astropy.io import fits
        print(f'our images from {args.ours_dir} (no timing)', flush=True)
        ours, ours0, truth = (fits.getdata(os.path.join(args.ours_dir, f'ours-{n}.fits'), 'IMAGE').astype(np.float64)
                              for n in ('cte', 'nocte', 'clean'))
        cpu_o = wall_o = cpu_o0 = wall_o0 = float('nan')
    else:
        ours, cpu_o, wall_o = run_ours(binary, raw, os.path.join(tmp, 'ours-cte.fits'), yaml, ['--cte-params', params])
        ours0, cpu_o0, wall_o0 = run_ours(binary, raw, os.path.join(tmp, 'ours-nocte.fits'), yaml, ['--no-cte-correction'])
        truth, _, _ = run_ours(binary, clean_raw, os.path.join(tmp, 'ours-clean.fits'), yaml, ['--no-cte-correction'])
    ny, nx = ours.shape
    behind = np.zeros((ny, nx), dtype=bool)
    behind[:ny // 2, nx // 2:TRAP_COLUMN] = True
    from desispec.io.xytraceset import read_xytraceset
    xy = read_xytraceset(psf)
    traces = np.zeros((ny, nx), dtype=bool)
    rows = np.arange(ny)
    for fiber in range(xy.nspec):
        xc = xy.x_vs_y(fiber, rows)
        for d in range(-2, 3):
            cols = np.round(xc).astype(int) + d
            ok = (cols >= 0) & (cols < nx)
            traces[rows[ok], cols[ok]] = True
    on = behind & traces

    def rms(v):
        return float(np.sqrt(np.mean(v ** 2)))

    d = ours - desi
    print(f'raw: {raw}  PSF: {psf}  CTE parameters: {params}')
    print(f'before the correction, ours - desispec: max |diff| {np.max(np.abs(ours0 - desi0)):.4g} e, '
          f'rms {rms(ours0 - desi0):.4g} e')
    print(f'corrected images, ours - desispec: whole CCD max |diff| {np.max(np.abs(d)):.4g} e, rms {rms(d):.4g} e; '
          f'amplifier B behind the trap max {np.max(np.abs(d[behind])):.4g} e, rms {rms(d[behind]):.4g} e, '
          f'on its traces rms {rms(d[on]):.4g} e')
    corr_o, corr_d = ours - ours0, desi - desi0
    print(f'corrections (corrected - uncorrected) behind the trap: desispec rms {rms(corr_d[behind]):.4g} e, '
          f'ours - desispec max {np.max(np.abs(corr_o - corr_d)[behind]):.4g} e, rms {rms((corr_o - corr_d)[behind]):.4g} e')
    for name, before, after in (('ours', ours0, ours), ('desispec', desi0, desi)):
        r0, r1 = (before - truth)[on], (after - truth)[on]
        print(f'{name}: against the trap-free frame on the traces behind the trap ({on.sum()} pixels): before mean '
              f'{r0.mean():+.3f} rms {rms(r0):.3f} e, after mean {r1.mean():+.3f} rms {rms(r1):.3f} e')
    print(f'CTE correction time (run with it minus run without): ours CPU {cpu_o - cpu_o0:.1f} s, wall '
          f'{wall_o - wall_o0:.1f} s; desispec CPU {cpu_d - cpu_d0:.1f} s, wall {wall_d - wall_d0:.1f} s; CPU ratio '
          f'{(cpu_d - cpu_d0) / max(cpu_o - cpu_o0, 1e-3):.1f}x')
    ok = rms(d) < 0.05 and np.max(np.abs(d)) < 1
    print('RESULT:', 'PASS' if ok else 'FAIL', '(goal: corrected images within 0.05 e rms and 1 e max of desispec\'s)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
