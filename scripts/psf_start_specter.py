#!/usr/bin/env python
"""Independent check of `desispec psf`'s starting points and coarse scan on an arc rendered by DESI's specter.

  /work/refenv/bin/python scripts/psf_start_specter.py --bin .build/release/desispec --outdir /tmp/psfstart-specter \
      [--psf ../shared/data/psf/psf-r0-00051060.fits] [--ql ../shared/data/psf/ql-psf-r0.fits] [--nfiber 50]

1. renders with specter (../shared/tools/specter_render.py render) a preprocessed arc of the first --nfiber fibers
   of the true PSF, with the lines of the project's shipped measured list (electrons as listed), read noise 3 e;
2. writes starting PSFs with ../shared/tools/specter_render.py perturb: (a) the truth with traces moved by (+2.5, +6)
   pixels, (b) its Gaussian-only version (GH-i-j other than GH-0-0 and the tail set to 0) moved the same way,
   (c) a trace set as the quick-look files (XTRACE, YTRACE of (a); XSIGMA, WSIGMA one value per fiber: GHSIGX and
   GHSIGY / (dy/dwavelength) of the truth at the middle wavelength), (d) with --epoch-tool (scripts/psf_truth.py):
   `psf_truth.py epoch` (the same camera at another epoch) moved by (+2.5, +6), and (e) with --ql the quick-look
   trace set ../shared/data/psf/ql-psf-r0.fits as it is;
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


def write_trace_set(moved, truth, out, wmin, wmax):
    """XTRACE/YTRACE of `moved`, XSIGMA and WSIGMA (one value per fiber) from the truth at the middle wavelength."""
    import fitsio
    from specter.psf import load_psf
    p = load_psf(truth)
    wmid = 0.5 * (wmin + wmax)
    nf = p.nspec
    xsig = np.array([p.coeff['GHSIGX'].eval(f, wmid) for f in range(nf)])
    dydw = np.array([(p.y(f, wmid + 1) - p.y(f, wmid - 1)) / 2 for f in range(nf)])
    wsig = np.array([p.coeff['GHSIGY'].eval(f, wmid) for f in range(nf)]) / dydw
    hdr = fitsio.read_header(moved, 'XTRACE')
    with fitsio.FITS(out, 'rw', clobber=True) as F:
        head = {'WAVEMIN': hdr['WAVEMIN'], 'WAVEMAX': hdr['WAVEMAX'], 'CAMERA': 'r0',
                'NPIX_X': p.npix_x, 'NPIX_Y': p.npix_y}
        F.write(fitsio.read(moved, 'XTRACE'), extname='XTRACE', header=head)
        F.write(fitsio.read(moved, 'YTRACE'), extname='YTRACE', header={'WAVEMIN': hdr['WAVEMIN'], 'WAVEMAX': hdr['WAVEMAX']})
        F.write(xsig, extname='XSIGMA')
        F.write(wsig[:, None], extname='WSIGMA')


def render_specter_arc(psf, outdir, nfiber):
    """A preprocessed r0 arc of the first `nfiber` fibers of `psf` rendered by specter (specter_render.py render) with
    the lines of the shipped measured list inside the PSF's wavelengths (electrons as listed), read noise 3 e, seed 1;
    kept in `outdir` and reused. Returns its path and the line wavelengths."""
    import fitsio
    os.makedirs(outdir, exist_ok=True)
    hdr = fitsio.read_header(psf, 'PSF')
    wmin, wmax = float(hdr['WAVEMIN']), float(hdr['WAVEMAX'])
    t = fitsio.read(LINES, 1)
    keep = (t['VACUUM_WAVE'] > wmin + 5) & (t['VACUUM_WAVE'] < wmax - 5) & (t['ELECTRONS'] > 0)
    wave, elec = t['VACUUM_WAVE'][keep], t['ELECTRONS'][keep]
    spectra = os.path.join(outdir, 'arc-lines.npz')
    np.savez(spectra, wave=wave, flux=np.tile(elec, (nfiber, 1)), specmin=0)
    image = os.path.join(outdir, 'preproc-r0-00000001.fits')
    if not os.path.exists(image):
        t0 = time.time()
        run([sys.executable, TOOLS, 'render', '--psf', psf, '--spectra', spectra, '-o', image, '--readnoise', '3',
             '--seed', '1', '--camera', 'r0', '--flavor', 'arc', '--exptime', '5'])
        print(f'rendered {image} with specter in {time.time() - t0:.0f} s')
    return image, wave


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--outdir', required=True)
    ap.add_argument('--psf', default=os.path.join(SHARED, 'data', 'psf', 'psf-r0-00051060.fits'))
    ap.add_argument('--ql', help='a quick-look trace set to start from as it is (e.g. ../shared/data/psf/ql-psf-r0.fits)')
    ap.add_argument('--epoch-tool', help="scripts/psf_truth.py (its 'epoch' subcommand makes another epoch's PSF)")
    ap.add_argument('--nfiber', type=int, default=50)
    ap.add_argument('--ncpu', type=int, default=2)
    ap.add_argument('--only', help='comma-separated letters of the starts to fit (default: all)')
    a = ap.parse_args()
    import fitsio
    hdr = fitsio.read_header(a.psf, 'PSF')
    wmin, wmax = float(hdr['WAVEMIN']), float(hdr['WAVEMAX'])
    image, wave = render_specter_arc(a.psf, a.outdir, a.nfiber)
    starts = {}
    only = set(a.only.split(',')) if a.only else None
    moved = os.path.join(a.outdir, 'start-moved.fits')
    run([sys.executable, TOOLS, 'perturb', '--psf', a.psf, '-o', moved, '--dx', '2.5', '--dy', '6'])
    starts['(a) same PSF, traces moved (+2.5, +6) px'] = moved
    gauss = os.path.join(a.outdir, 'start-gaussian-moved.fits')
    run([sys.executable, TOOLS, 'perturb', '--psf', a.psf, '-o', gauss, '--dx', '2.5', '--dy', '6', '--gaussian-only'])
    starts['(b) Gaussian-only, traces moved (+2.5, +6) px'] = gauss
    traces = os.path.join(a.outdir, 'start-traceset-moved.fits')
    write_trace_set(moved, a.psf, traces, wmin, wmax)
    starts['(c) trace set (XTRACE, YTRACE, XSIGMA, WSIGMA), moved (+2.5, +6) px'] = traces
    if a.epoch_tool:
        epoch = os.path.join(a.outdir, 'epoch.fits')
        run([sys.executable, a.epoch_tool, 'epoch', '--psf', a.psf, '-o', epoch])
        epoch_moved = os.path.join(a.outdir, 'start-epoch-moved.fits')
        run([sys.executable, TOOLS, 'perturb', '--psf', epoch, '-o', epoch_moved, '--dx', '2.5', '--dy', '6'])
        starts['(d) another epoch (psf_truth.py epoch), moved (+2.5, +6) px'] = epoch_moved
    if a.ql:
        starts['(e) quick-look trace set ' + os.path.basename(a.ql)] = a.ql
    w0, w1 = wave.min(), wave.max()
    print(f'arc: {a.nfiber} fibers, {wave.size} lines {w0:.0f}-{w1:.0f} A, rendered by specter from {a.psf}')
    for name, start in starts.items():
        if only and name[1] not in only:
            continue
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
