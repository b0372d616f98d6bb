#!/usr/bin/env python
"""Independent check of `desispec psf`'s starting points and coarse scan on an arc rendered by DESI's specter.

  /work/refenv/bin/python scripts/psf_start_specter.py --bin .build/release/desispec --outdir /tmp/psfstart-specter \
      [--psf ../shared/data/psf/psf-r0-00051060.fits] [--ql ../shared/data/psf/ql-psf-r0.fits] [--nfiber 50]

1. renders with specter (../shared/tools/specter_render.py render) a preprocessed arc of the first --nfiber fibers
   of the true PSF, with the lines of the project's shipped measured list (electrons as listed), read noise 3 e;
2. writes starting PSFs with ../shared/tools/specter_render.py perturb: (a) the truth with traces moved by (+2.5, +6)
   pixels, (b) its Gaussian-only version (GH-i-j other than GH-0-0 and the tail set to 0) moved the same way, and
   (c) the quick-look trace set of another epoch (--ql, if it exists) as it is;
3. runs `desispec psf` from each and prints the rms and largest trace error against the truth over the lit fibers
   and the wavelengths between the first and the last line (desispec's read_xytraceset on both files).
Needs the reference environment with specter; outputs stay in --outdir (not in the repository).
"""
import argparse, os, subprocess, sys, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, '..', 'shared')
TOOLS = os.path.join(SHARED, 'tools', 'specter_render.py')
LINES = os.path.join(ROOT, 'Sources', 'PSF', 'Resources', 'arclines', 'arc-lines-average-in-vacuum.fits')


def run(cmd):
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f'failed: {" ".join(cmd)}\n{r.stderr}')
    return r, time.time() - t0


def trace_errors(fitted, truth, nfiber, w0, w1):
    from desispec.io.xytraceset import read_xytraceset
    a, t = read_xytraceset(fitted), read_xytraceset(truth)
    wave = np.linspace(w0, w1, 41)
    dx = np.array([a.x_vs_wave(f, wave) - t.x_vs_wave(f, wave) for f in range(nfiber)])
    dy = np.array([a.y_vs_wave(f, wave) - t.y_vs_wave(f, wave) for f in range(nfiber)])
    return np.sqrt(np.mean(dx ** 2)), np.sqrt(np.mean(dy ** 2)), np.abs(dx).max(), np.abs(dy).max()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--outdir', required=True)
    ap.add_argument('--psf', default=os.path.join(SHARED, 'data', 'psf', 'psf-r0-00051060.fits'))
    ap.add_argument('--ql', default=os.path.join(SHARED, 'data', 'psf', 'ql-psf-r0.fits'))
    ap.add_argument('--nfiber', type=int, default=50)
    ap.add_argument('--ncpu', type=int, default=2)
    a = ap.parse_args()
    import fitsio
    os.makedirs(a.outdir, exist_ok=True)
    hdr = fitsio.read_header(a.psf, 'PSF')
    wmin, wmax = float(hdr['WAVEMIN']), float(hdr['WAVEMAX'])
    t = fitsio.read(LINES, 1)
    keep = (t['VACUUM_WAVE'] > wmin + 5) & (t['VACUUM_WAVE'] < wmax - 5) & (t['ELECTRONS'] > 0)
    wave, elec = t['VACUUM_WAVE'][keep], t['ELECTRONS'][keep]
    spectra = os.path.join(a.outdir, 'arc-lines.npz')
    np.savez(spectra, wave=wave, flux=np.tile(elec, (a.nfiber, 1)), specmin=0)
    image = os.path.join(a.outdir, 'preproc-r0-00000001.fits')
    if not os.path.exists(image):
        run([sys.executable, TOOLS, 'render', '--psf', a.psf, '--spectra', spectra, '-o', image, '--readnoise', '3',
             '--seed', '1', '--camera', 'r0', '--flavor', 'arc', '--exptime', '5'])
    starts = {}
    moved = os.path.join(a.outdir, 'start-moved.fits')
    run([sys.executable, TOOLS, 'perturb', '--psf', a.psf, '-o', moved, '--dx', '2.5', '--dy', '6'])
    starts['(a) same PSF, traces moved (+2.5, +6) px'] = moved
    gauss = os.path.join(a.outdir, 'start-gaussian-moved.fits')
    run([sys.executable, TOOLS, 'perturb', '--psf', a.psf, '-o', gauss, '--dx', '2.5', '--dy', '6', '--gaussian-only'])
    starts['(b) Gaussian-only, traces moved (+2.5, +6) px'] = gauss
    if os.path.exists(a.ql):
        starts['(c) quick-look trace set of another epoch'] = a.ql
    w0, w1 = wave.min(), wave.max()
    print(f'arc: {a.nfiber} fibers, {wave.size} lines {w0:.0f}-{w1:.0f} A, rendered by specter from {a.psf}')
    for name, start in starts.items():
        out = os.path.join(a.outdir, 'psf-' + os.path.basename(start))
        r, dt = run([a.bin, 'psf', '-i', image, '--psf', start, '-o', out, '--ncpu', str(a.ncpu)])
        s0 = trace_errors(start, a.psf, a.nfiber, w0, w1)
        s = trace_errors(out, a.psf, a.nfiber, w0, w1)
        scan = [l for l in r.stderr.splitlines() if 'coarse scan' in l]
        print(f'{name}: start rms x {s0[0]:.3f} y {s0[1]:.3f} px; fitted rms x {s[0]:.4f} y {s[1]:.4f}, '
              f'max |dx| {s[2]:.4f} |dy| {s[3]:.4f} px; {dt:.0f} s')
        if scan:
            print('   ', scan[0].split('coarse scan: ')[-1])


if __name__ == '__main__':
    main()
