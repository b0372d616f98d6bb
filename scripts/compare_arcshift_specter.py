#!/usr/bin/env python
"""Independent check of `desispec traceshift --arc-lamps` (the arcs' large shift scan, desi_proc's arc_traceshift) on
an arc rendered by DESI's specter, against desispec's desi_compute_trace_shifts on the same files.

  /work/refenv/bin/python scripts/compare_arcshift_specter.py --bin .build/release/desispec --outdir /tmp/arcshift-specter \
      [--psf ../shared/data/psf/psf-r0-00051060.fits] [--nfiber 50]

1. renders with specter a preprocessed arc of the first --nfiber fibers of the PSF (psf_start_specter.py's
   render_specter_arc: the shipped measured line list, read noise 3 e; kept in --outdir and reused);
2. writes starting PSFs with the traces moved (specter_render.py perturb): (0, 0), (+17.3, -6.2) and (-30.4, +9.5)
   pixels;
3. runs ours and desispec's with desi_proc's arc options (--arc-lamps, degrees 0) from each and prints, for both,
   the mean and the largest |error| of the shifted traces against the rendering PSF over the lit fibers and 41
   wavelengths between the first and the last line, and ours - desispec.
Needs the reference environment with specter; outputs stay in --outdir (not in the repository).
"""
import argparse, os, subprocess, sys, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(os.path.dirname(HERE), '..', 'shared')
TOOLS = os.path.join(SHARED, 'tools', 'specter_render.py')
sys.path.insert(0, HERE)
from compare_traceshift_desispec import desispec_trace_shifts   # noqa: E402
from psf_start_specter import render_specter_arc                 # noqa: E402
DEGREES = ['--degxx', '0', '--degxy', '0', '--degyx', '0', '--degyy', '0']


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f'failed: {" ".join(cmd)}\n{r.stderr}')
    return r


def desispec_shift(image, psf, out):
    """desi_compute_trace_shifts in this process, its calibration lookup and desimodel's fibermap bypassed."""
    ts = desispec_trace_shifts()
    t0 = time.time()
    ts.main(ts.parse(['-i', image, '--psf', psf, '-o', out, '--arc-lamps'] + DEGREES))
    return time.time() - t0


def errors(shifted, truth, nfiber, w0, w1):
    """(mean, max |.|) of x and y of `shifted` minus `truth` over the lit fibers and 41 wavelengths."""
    from desispec.io.xytraceset import read_xytraceset
    a, t = read_xytraceset(shifted), read_xytraceset(truth)
    wave = np.linspace(w0, w1, 41)
    dx = np.array([a.x_vs_wave(f, wave) - t.x_vs_wave(f, wave) for f in range(nfiber)])
    dy = np.array([a.y_vs_wave(f, wave) - t.y_vs_wave(f, wave) for f in range(nfiber)])
    return dx.mean(), np.abs(dx).max(), dy.mean(), np.abs(dy).max()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--outdir', required=True)
    ap.add_argument('--psf', default=os.path.join(SHARED, 'data', 'psf', 'psf-r0-00051060.fits'))
    ap.add_argument('--nfiber', type=int, default=50)
    a = ap.parse_args()
    image, wave = render_specter_arc(a.psf, a.outdir, a.nfiber)
    w0, w1 = wave.min(), wave.max()
    print(f'arc: {a.nfiber} fibers lit, {wave.size} lines {w0:.0f}-{w1:.0f} A, rendered by specter from {a.psf}')
    print(f'{"start moved by (x, y) px":26s} {"who":9s} {"mean dx":>8s} {"max|dx|":>8s} {"mean dy":>8s} {"max|dy|":>8s} '
          f'{"seconds":>8s}  scan')
    for dx, dy in [(0.0, 0.0), (17.3, -6.2), (-30.4, 9.5)]:
        start = os.path.join(a.outdir, f'start-{dx:+.1f}-{dy:+.1f}.fits')
        run([sys.executable, TOOLS, 'perturb', '--psf', a.psf, '-o', start, '--dx', str(dx), '--dy', str(dy)])
        ours, ref = os.path.join(a.outdir, 'ours.fits'), os.path.join(a.outdir, 'desispec.fits')
        t0 = time.time()
        r = run([a.bin, 'traceshift', '-i', image, '--psf', start, '-o', ours, '--arc-lamps'] + DEGREES)
        t_ours = time.time() - t0
        scan = next((l.split('large shift scan: ')[1] for l in r.stderr.splitlines() if 'large shift scan' in l), '')
        t_ref = desispec_shift(image, start, ref)
        eo, er = errors(ours, a.psf, a.nfiber, w0, w1), errors(ref, a.psf, a.nfiber, w0, w1)
        label = f'({dx:+.1f}, {dy:+.1f})'
        print(f'{label:26s} {"ours":9s} {eo[0]:+8.4f} {eo[1]:8.4f} {eo[2]:+8.4f} {eo[3]:8.4f} {t_ours:8.1f}  {scan}')
        print(f'{"":26s} {"desispec":9s} {er[0]:+8.4f} {er[1]:8.4f} {er[2]:+8.4f} {er[3]:8.4f} {t_ref:8.1f}')
        print(f'{"":26s} {"ours - ds":9s} {eo[0] - er[0]:+8.4f} {"":8s} {eo[2] - er[2]:+8.4f}')


if __name__ == '__main__':
    sys.exit(main())
