#!/usr/bin/env python
"""The small specter-rendered arc that Tests/PSFTests/PSFFullFitTests fits (Tests/Fixtures/PSFFit/).

Independent truth for the full Gauss-Hermite PSF fit: DESI's specter draws an arc from a real specex PSF, the test
fits it with the project's own code from a Gaussian-only start and compares with the true PSF.

  make_psffit_fixture.py --psf ../shared/data/psf/psf-r0-00051060.fits \
      --lines ../shared/data/spectra/arc-lines-average-in-vacuum.fits -o Tests/Fixtures/PSFFit

Writes (about 0.5 MB in all):
  psf-truth.fits   the real PSF cut to fibers FIRST..FIRST+NFIBER-1 and to the columns they cover (XTRACE moved by
                   the first column, NPIX_X the width; every coefficient otherwise the real file's), PSFVER 3;
  arc.fits         a preprocessed arc of that PSF drawn by specter (specter_render.py render: Poisson + 3 e read
                   noise), every line of the measured list with its ELECTRONS; pixels farther than --row-margin
                   rows / --col-margin columns from every spot brighter than --min-electrons are blanked (pixel 0,
                   ivar 0) so that the file stays
                   small: the fit only looks at the pixels around lines. IMAGE and IVAR are RICE-compressed with
                   quantisation (q = 4: steps of 1/4 of the noise), MASK RICE, RDNOISE in the header;
  lines.txt        the rendered lines (vacuum wavelength, electrons).
Needs the reference environment (/work/refenv/bin/python: specter, fitsio).
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np


def cut_psf(src, dst, first, nfiber, margin):
    import fitsio
    from numpy.polynomial.legendre import legval
    with fitsio.FITS(src) as F:
        xh, yh, th = F['XTRACE'].read_header(), F['YTRACE'].read_header(), F['PSF'].read_header()
        xc, yc, t = F['XTRACE'].read(), F['YTRACE'].read(), F['PSF'].read()
    sl = slice(first, first + nfiber)
    xc, yc = xc[sl].copy(), yc[sl].copy()
    u = np.linspace(-1, 1, 201)
    xs = np.array([legval(u, c) for c in xc])
    x0 = int(np.floor(xs.min())) - margin
    x1 = int(np.ceil(xs.max())) + margin + 1
    xc[:, 0] -= x0                              # Legendre P0 = 1: moves every trace by -x0 columns
    coeff = t['COEFF'][:, sl, :].copy()
    out = np.zeros(len(t), dtype=[('PARAM', 'U8'), ('COEFF', '>f8', coeff.shape[1:]), ('LEGDEGX', '>i4'),
                                  ('LEGDEGW', '>i4')])
    out['PARAM'] = [p.strip() for p in t['PARAM']]
    out['COEFF'] = coeff
    out['LEGDEGX'] = t['LEGDEGX']
    out['LEGDEGW'] = t['LEGDEGW']
    keep = ['PSFTYPE', 'PSFVER', 'CAMERA', 'HSIZEX', 'HSIZEY', 'NPARAMS', 'LEGDEG', 'GHDEGX', 'GHDEGY', 'WAVEMIN',
            'WAVEMAX', 'NPIX_Y']
    h = {k: th[k] for k in keep if k in th}
    h.update(NPIX_X=x1 - x0, FIBERMIN=first, FIBERMAX=first + nfiber - 1)
    with fitsio.FITS(dst, 'rw', clobber=True) as G:
        for name, data, hdr in (('XTRACE', xc, xh), ('YTRACE', yc, yh)):
            hh = {k: hdr[k] for k in ('WAVEMIN', 'WAVEMAX', 'PSFTYPE', 'PSFVER') if k in hdr}
            hh.update(FIBERMIN=first, FIBERMAX=first + nfiber - 1)
            if name == 'XTRACE':
                hh['XOFFSET'] = x0
            G.write(data, extname=name, header=hh)
        G.write(out, extname='PSF', header=h)
    return x0, x1 - x0


def fixture_arguments(parser, nfiber, seed):
    """The options both fixture makers take (this one and make_psfcont_fixture.py)."""
    parser.add_argument('--psf', required=True)
    parser.add_argument('--lines', required=True)
    parser.add_argument('-o', '--outdir', required=True)
    parser.add_argument('--first-fiber', type=int, default=0)
    parser.add_argument('--nfiber', type=int, default=nfiber)
    parser.add_argument('--margin', type=int, default=12, help='columns kept beyond the outer traces')
    parser.add_argument('--seed', type=int, default=seed)


def measured_lines(path, psf, outdir):
    """The lines of the measured list inside the PSF's range with ELECTRONS > 0, by wavelength; written as lines.txt."""
    import fitsio
    lines = fitsio.read(path)
    w, e = np.asarray(lines['VACUUM_WAVE'], float), np.asarray(lines['ELECTRONS'], float)
    m = (w > psf.wmin) & (w < psf.wmax) & (e > 0)
    w, e = w[m], e[m]
    order = np.argsort(w)
    w, e = w[order], e[order]
    np.savetxt(os.path.join(outdir, 'lines.txt'), np.c_[w, e], fmt='%.4f %.2f',
               header='vacuum_wave electrons (lines drawn in arc.fits)')
    return w, e


def true_psf_and_lines(a):
    """The fixture's true PSF (a.psf cut to the fibers, written as OUTDIR/psf-truth.fits) and its lines in range:
    (path, first column, width, specter PSF, wavelengths, electrons)."""
    from specter.psf import load_psf
    os.makedirs(a.outdir, exist_ok=True)
    truth = os.path.join(a.outdir, 'psf-truth.fits')
    x0, nx = cut_psf(a.psf, truth, a.first_fiber, a.nfiber, a.margin)
    psf = load_psf(truth)
    w, e = measured_lines(a.lines, psf, a.outdir)
    return truth, x0, nx, psf, w, e


def render_arc(truth, wave, flux, nfiber, seed, camera):
    """specter_render.py render of one spectrum (wave, electrons) in every fiber: (image, ivar)."""
    import fitsio
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'tools', 'specter_render.py')
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, 'arc.npz')
        np.savez(spec, wave=wave, flux=np.tile(flux, (nfiber, 1)), specmin=0)
        raw = os.path.join(tmp, 'arc.fits')
        subprocess.check_call([sys.executable, tool, 'render', '--psf', truth, '--spectra', spec, '-o', raw,
                               '--readnoise', '3', '--seed', str(seed), '--camera', camera, '--flavor', 'arc'])
        return fitsio.read(raw, 'IMAGE'), fitsio.read(raw, 'IVAR')


def write_preproc(out, img, ivar, header, compress=True):
    """A preprocessed image (IMAGE, IVAR, a zero MASK); RICE with quantisation q = 4 unless compress is False."""
    import fitsio
    with fitsio.FITS(out, 'rw', clobber=True) as G:
        G.write(None)
        packed = dict(compress='RICE', qlevel=4) if compress else {}
        G.write(img.astype(np.float32), extname='IMAGE', header=header, **packed)
        G.write(ivar.astype(np.float32), extname='IVAR', **packed)
        G.write(np.zeros(img.shape, np.int16), extname='MASK', compress='RICE')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fixture_arguments(p, nfiber=50, seed=11)
    p.add_argument('--row-margin', type=int, default=9, help='rows kept around each line')
    p.add_argument('--col-margin', type=int, default=10, help='columns kept around each line of each fiber')
    p.add_argument('--min-electrons', type=float, default=500.0)
    p.add_argument('--no-blank', action='store_true', help='keep every pixel, no compression (benchmarks, not the fixture)')
    a = p.parse_args()
    truth, x0, nx, psf, w, e = true_psf_and_lines(a)
    img, ivar = render_arc(truth, w, e, a.nfiber, a.seed, 'r0')
    ny = img.shape[0]
    keep = np.zeros(img.shape, bool)
    for wl in w[e > a.min_electrons]:
        for f in range(a.nfiber):
            x, y = psf.x(f, wl), psf.y(f, wl)
            j0, j1 = max(0, int(y) - a.row_margin), min(ny, int(y) + a.row_margin + 2)
            i0, i1 = max(0, int(x) - a.col_margin), min(img.shape[1], int(x) + a.col_margin + 2)
            if j0 < j1 and i0 < i1:
                keep[j0:j1, i0:i1] = True
    if a.no_blank:
        keep[:] = True
    img[~keep] = 0
    ivar[~keep] = 0
    h = dict(CAMERA='r0', RDNOISE=3.0, EXPID=1, NIGHT='20250101', FLAVOR='arc', OBSTYPE='ARC', XOFFSET=x0,
             COMMENT='specter render of psf-truth.fits; rows without lines blanked (ivar 0)')
    write_preproc(os.path.join(a.outdir, 'arc.fits'), img, ivar, h, compress=not a.no_blank)
    sizes = {f: os.path.getsize(os.path.join(a.outdir, f)) for f in os.listdir(a.outdir)}
    print(f'{a.nfiber} fibers from {a.first_fiber}, columns {x0}-{x0 + nx - 1}, {keep.sum()} of {keep.size} pixels kept, '
          f'{len(w)} lines; sizes {sizes}')


if __name__ == '__main__':
    sys.exit(main())
