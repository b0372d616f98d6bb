#!/usr/bin/env python
"""The small specter-rendered arc with a continuum that Tests/PSFTests/PSFContinuumTests fits (Tests/Fixtures/PSFCont/).

Independent truth for the continuum (CONT) of the PSF fit: DESI's specter draws, from a real specex PSF, every line of
the measured arc list plus a smooth continuum spectrum common to the fibers (as specex's model assumes in a bundle),
sampled every 0.25 A (each sample a spot of the PSF: the continuum as specter renders any spectrum). The test fits it
with the project's code and compares the fitted CONT (electrons per CCD row) with the truth, f(w) |dw/dy|.

  make_psfcont_fixture.py --psf ../shared/data/psf/psf-r0-00051060.fits \\
      --lines ../shared/data/spectra/arc-lines-average-in-vacuum.fits -o Tests/Fixtures/PSFCont

Writes:
  psf-truth.fits   the real PSF cut to fibers FIRST..FIRST+NFIBER-1 and the columns they cover (make_psffit_fixture.py's
                   cut_psf), PSFVER 3;
  arc.fits         the preprocessed arc (specter_render.py render: Poisson + 3 e read noise), IMAGE and IVAR
                   RICE-compressed with quantisation (q = 4), MASK; the continuum in the IMAGE header: f(w) =
                   CONTL0 + CONTL1 t + CONTL2 (3 t^2 - 1) / 2 electrons per Angstrom, t = 2 (w - CONTWMIN) /
                   (CONTWMAX - CONTWMIN) - 1 (a Legendre series over the PSF's wavelength range);
  lines.txt        the rendered lines (vacuum wavelength, electrons).
Needs the reference environment (/work/refenv/bin/python: specter, fitsio).
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_psffit_fixture import fixture_arguments, render_arc, true_psf_and_lines, write_preproc  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fixture_arguments(p, nfiber=25, seed=12)
    p.add_argument('--level', type=float, nargs=3, default=[40.0, -10.0, 5.0],
                   help='Legendre coefficients of the continuum in electrons per Angstrom')
    p.add_argument('--step', type=float, default=0.25, help='continuum sampling (Angstrom)')
    p.add_argument('--camera', default='z0', help='CAMERA of the image (z: the fit is on by default)')
    a = p.parse_args()
    import fitsio
    truth, x0, nx, psf, w, e = true_psf_and_lines(a)
    wmin, wmax = fitsio.read_header(truth, 'PSF')['WAVEMIN'], fitsio.read_header(truth, 'PSF')['WAVEMAX']
    grid = np.arange(np.ceil(psf.wmin), np.floor(psf.wmax), a.step)
    t = 2 * (grid - wmin) / (wmax - wmin) - 1
    c0, c1, c2 = a.level
    per_angstrom = c0 + c1 * t + c2 * (3 * t * t - 1) / 2
    wave = np.concatenate([w, grid])
    flux1 = np.concatenate([e, per_angstrom * a.step])
    order = np.argsort(wave, kind='stable')
    img, ivar = render_arc(truth, wave[order], flux1[order], a.nfiber, a.seed, a.camera)
    h = dict(CAMERA=a.camera, RDNOISE=3.0, EXPID=1, NIGHT='20250101', FLAVOR='arc', OBSTYPE='ARC', XOFFSET=x0,
             CONTL0=c0, CONTL1=c1, CONTL2=c2, CONTWMIN=wmin, CONTWMAX=wmax,
             COMMENT='specter render of psf-truth.fits: arc lines + continuum CONTL* (e/A, Legendre in wavelength)')
    write_preproc(os.path.join(a.outdir, 'arc.fits'), img, ivar, h)
    sizes = {f: os.path.getsize(os.path.join(a.outdir, f)) for f in os.listdir(a.outdir)}
    print(f'{a.nfiber} fibers from {a.first_fiber}, columns {x0}-{x0 + nx - 1}, {len(w)} lines, continuum '
          f'{per_angstrom.min():.1f}-{per_angstrom.max():.1f} e/A; sizes {sizes}')


if __name__ == '__main__':
    sys.exit(main())
