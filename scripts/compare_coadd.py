#!/usr/bin/env python3
"""Compare `desispec spectra` + `desispec coadd` (Swift) with desispec's own coaddition on the same inputs.

Writes simulated cframes with desispec.io.write_frame, groups them with our `desispec spectra`, checks that
desispec.io.read_spectra opens our spectra and coadd files, runs desispec.coaddition (coadd, coadd_cameras,
spectro-perfect resampling) on OUR spectra file, and prints the largest differences in flux, ivar, resolution.

usage: /work/refenv/bin/python scripts/compare_coadd.py [--bin .build-coadd/debug/desispec] [--workdir DIR]
Not needed by the Swift tests.
"""
import argparse, os, subprocess, sys, tempfile, time
import numpy as np

from desispec.frame import Frame
from desispec.io import write_frame, read_spectra
from astropy.table import Table
from astropy.io import fits
from desispec.coaddition import coadd, coadd_cameras, resample_spectra_lin_or_log


def gauss_resolution(nspec, nwave, sigma, ndiag=11):
    h = ndiag // 2
    r = np.zeros((nspec, ndiag, nwave), dtype=np.float32)
    k = np.arange(-h, h + 1)
    w = np.exp(-0.5 * k**2 / sigma**2)
    w /= w.sum()
    for d in range(ndiag):
        r[:, d, :] = w[h - (d - h)]   # symmetric kernel; edges not renormalized
    return r


def truth(wave, t):
    return 5.0 + t + 0.001 * (wave - 3600) + 3 * np.exp(-0.5 * ((wave - 4500 - 300 * t) / 3.0)**2) + 2 * np.sin(wave / 15.0)


def make_cframes(outdir, nfiber=8, nexp=3, seed=1):
    rng = np.random.default_rng(seed)
    grids = {'b': np.arange(3600.0, 5930.0, 0.8), 'r': np.arange(5760.0, 7620.0, 0.8), 'z': np.arange(7520.0, 9824.0, 0.8)}
    files = []
    for e in range(nexp):
        expid = 100 + e
        fm = Table()
        fm['TARGETID'] = (39600000000 + np.arange(nfiber)).astype(np.int64)
        fm['PETAL_LOC'] = np.zeros(nfiber, dtype=np.int16)
        fm['LOCATION'] = np.arange(nfiber, dtype=np.int64)
        fm['FIBER'] = np.arange(nfiber, dtype=np.int32)
        fm['FIBERSTATUS'] = np.zeros(nfiber, dtype=np.int32)
        fm['FIBERSTATUS'][5] = 1 << 22 if e == 0 else 0   # BADAMPB in one exposure of one fiber
        fm['TARGET_RA'] = 150.0 + 0.01 * np.arange(nfiber)
        fm['TARGET_DEC'] = np.full(nfiber, 2.0)
        fm['OBJTYPE'] = np.array(['TGT'] * nfiber)
        fm['DELTA_X'] = (0.001 * rng.normal(size=nfiber)).astype(np.float32)
        fm['DELTA_Y'] = (0.001 * rng.normal(size=nfiber)).astype(np.float32)
        fm['FIBER_RA'] = fm['TARGET_RA'] + 1e-5 * rng.normal(size=nfiber)
        fm['FIBER_DEC'] = fm['TARGET_DEC'] + 1e-5 * rng.normal(size=nfiber)
        fm['EXPTIME'] = np.full(nfiber, 900.0, dtype=np.float32)
        fm['FIBER_X'] = (10.0 * np.arange(nfiber)).astype(np.float64)
        fm['FIBER_Y'] = np.full(nfiber, 5.0)
        for c in ('GAIA_PHOT_G_MEAN_MAG', 'GAIA_PHOT_BP_MEAN_MAG', 'GAIA_PHOT_RP_MEAN_MAG'):
            fm[c] = np.full(nfiber, 20.0, dtype=np.float32)
        fm['MJD'] = np.full(nfiber, 59197.2 + 0.02 * e)
        for band, wave in grids.items():
            nw = wave.size
            res = gauss_resolution(nfiber, nw, 1.1 + 0.1 * e)
            flux = np.zeros((nfiber, nw), dtype=np.float32)
            ivar = np.zeros((nfiber, nw), dtype=np.float32)
            for t in range(nfiber):
                from desispec.resolution import Resolution
                conv = Resolution(res[t]).dot(truth(wave, t))
                sig = 0.5 + 0.2 * e + 0.05 * t
                flux[t] = conv + sig * rng.normal(size=nw)
                ivar[t] = 1.0 / sig**2
            mask = np.zeros((nfiber, nw), dtype=np.uint32)
            mask[1, 100:103] = 1            # a few masked pixels
            flux[2, 500] += 300.0 if e == 1 else 0.0   # a cosmic
            meta = dict(CAMERA=f'{band}0', NIGHT=20201214, EXPID=expid, TILEID=1000, EXPTIME=900.0, MJD=59197.2 + 0.02 * e,
                        BUNIT='10**-17 erg/(s cm2 Angstrom)', FLAVOR='science')
            fr = Frame(wave, flux, ivar, mask=mask, resolution_data=res, fibermap=fm, meta=meta, spectrograph=0)
            path = os.path.join(outdir, f'cframe-{band}0-{expid:08d}.fits')
            write_frame(path, fr)
            # A SCORES HDU as cframes carry (desispec's grouping needs it), with TSNR2 values to coadd.
            sc = Table()
            sc['TARGETID'] = fm['TARGETID']
            sc[f'TSNR2_ELG_{band.upper()}'] = (10.0 * (e + 1) + np.arange(nfiber)).astype(np.float32)
            hdu = fits.table_to_hdu(sc)
            hdu.name = 'SCORES'
            with fits.open(path, mode='append') as hl:
                hl.append(hdu)
            files.append(path)
    return files


def diff(label, ours, ref, what):
    ours = np.asarray(ours, dtype=float); ref = np.asarray(ref, dtype=float)
    scale = np.max(np.abs(ref)) if ref.size else 1.0
    d = np.abs(ours - ref)
    print(f"{label:28s} {what:11s} max|diff|={d.max():.3e}  max|diff|/max|ref|={d.max() / scale:.3e}  median|diff|={np.median(d):.3e}")
    return d.max() / scale


def run(cmd):
    t0 = time.time()
    subprocess.run(cmd, check=True)
    return time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', default=os.path.join(os.path.dirname(__file__), '..', '.build-coadd', 'debug', 'desispec'))
    ap.add_argument('--workdir', default=None)
    args = ap.parse_args()
    wd = args.workdir or tempfile.mkdtemp(prefix='compare-coadd-')
    os.makedirs(wd, exist_ok=True)
    frames = make_cframes(wd)
    spectra_file = os.path.join(wd, 'spectra-0-1000-20201214.fits')
    run([args.bin, 'spectra', '--inframes', *frames, '-o', spectra_file, '-q'])
    spec = read_spectra(spectra_file)   # desispec opens our spectra file
    print(f"read_spectra(ours): bands {spec.bands}, {spec.num_spectra()} spectra, {spec.num_targets()} targets")
    worst = 0.0

    # Per-camera coadd with cosmic rejection.
    ours_file = os.path.join(wd, 'coadd-0-1000-20201214.fits')
    t_ours = run([args.bin, 'coadd', '-i', spectra_file, '-o', ours_file, '--nsig', '4', '-q'])
    ours = read_spectra(ours_file)
    ref = read_spectra(spectra_file)
    t0 = time.time(); coadd(ref, cosmics_nsig=4.0); t_ref = time.time() - t0
    for b in ref.bands:
        worst = max(worst, diff(f'coadd nsig=4 band {b}', ours.flux[b], ref.flux[b], 'flux'))
        worst = max(worst, diff(f'coadd nsig=4 band {b}', ours.ivar[b], ref.ivar[b], 'ivar'))
        worst = max(worst, diff(f'coadd nsig=4 band {b}', ours.resolution_data[b], ref.resolution_data[b], 'resolution'))
        print(f"{'':28s} mask       differing pixels: {np.count_nonzero(ours.mask[b] != ref.mask[b])}")
    for col in ('COADD_NUMEXP', 'COADD_EXPTIME', 'COADD_NUMNIGHT', 'COADD_FIBERSTATUS'):
        print(f"fibermap {col:20s} equal: {np.array_equal(np.asarray(ours.fibermap[col]), np.asarray(ref.fibermap[col]))}")
    for col in ('MEDIAN_COADD_SNR_B', 'MEDIAN_COADD_FLUX_R', 'INTEG_COADD_FLUX_Z', 'TSNR2_ELG_B', 'TSNR2_ELG'):
        worst = max(worst, diff('scores ' + col, ours.scores[col], ref.scores[col], ''))
    print(f"timing coadd: ours (CLI, incl. I/O) {t_ours:.2f} s, desispec coadd() {t_ref:.2f} s")

    # Camera coadd.
    ours_file = os.path.join(wd, 'coadd-brz.fits')
    run([args.bin, 'coadd', '-i', spectra_file, '-o', ours_file, '--nsig', '0', '--coadd-cameras', '-q'])
    ours = read_spectra(ours_file)
    ref = read_spectra(spectra_file)
    coadd(ref, cosmics_nsig=0.0)
    ref = coadd_cameras(ref)
    b = ref.bands[0]
    print(f"camera coadd bands: ours {ours.bands} desispec {ref.bands}; nwave {ours.wave[ours.bands[0]].size} vs {ref.wave[b].size}")
    worst = max(worst, diff('coadd_cameras', ours.wave[ours.bands[0]], ref.wave[b], 'wave'))
    worst = max(worst, diff('coadd_cameras', ours.flux[ours.bands[0]], ref.flux[b], 'flux'))
    worst = max(worst, diff('coadd_cameras', ours.ivar[ours.bands[0]], ref.ivar[b], 'ivar'))
    worst = max(worst, diff('coadd_cameras', ours.resolution_data[ours.bands[0]], ref.resolution_data[b], 'resolution'))

    # Spectro-perfect resampling on a restricted range.
    ours_file = os.path.join(wd, 'coadd-lin.fits')
    t_ours = run([args.bin, 'coadd', '-i', spectra_file, '-o', ours_file, '--nsig', '0', '--lin-step', '1.0',
                  '--wave-min', '5500', '--wave-max', '7700', '-q'])
    ours = read_spectra(ours_file)
    ref = read_spectra(spectra_file)
    coadd(ref, cosmics_nsig=0.0)
    t0 = time.time()
    ref = resample_spectra_lin_or_log(ref, linear_step=1.0, wave_min=5500, wave_max=7700)
    t_ref = time.time() - t0
    b = ref.bands[0]; ob = ours.bands[0]
    worst_lin = 0.0
    worst_lin = max(worst_lin, diff('spectroperf lin 1.0', ours.flux[ob], ref.flux[b], 'flux'))
    worst_lin = max(worst_lin, diff('spectroperf lin 1.0', ours.ivar[ob], ref.ivar[b], 'ivar'))
    worst_lin = max(worst_lin, diff('spectroperf lin 1.0', ours.resolution_data[ob], ref.resolution_data[b], 'resolution'))
    print(f"timing spectro-perfect resampling: ours (CLI, coadd + resampling + I/O) {t_ours:.2f} s, desispec resample {t_ref:.2f} s")
    print(f"WORST relative difference (coadd, coadd_cameras): {worst:.3e}; spectro-perfect: {worst_lin:.3e}")
    print(f"files in {wd}")
    return 0 if worst < 1e-4 and worst_lin < 1e-3 else 1


if __name__ == '__main__':
    sys.exit(main())
