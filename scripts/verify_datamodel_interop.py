#!/usr/bin/env python3
"""Checks the values of the files DataModelIOTests writes (DESISPEC_TEST_OUT=DIR) as desispec reads them.
usage: /work/refenv/bin/python scripts/verify_datamodel_interop.py DIR"""
import os, sys
import numpy as np
import fitsio
import desispec.io as io
from desispec.io.fibermap import _set_fibermap_columns
from desispec.resolution import Resolution

d = sys.argv[1]
bad = 0
def check(ok, what):
    global bad
    print(('OK   ' if ok else 'FAIL ') + what)
    bad += (not ok)

fr = io.read_frame(os.path.join(d, 'frame-r0-00000014.fits'))
nspec, nwave = fr.flux.shape
check((nspec, nwave) == (3, 40), f'frame shape {fr.flux.shape}')
check(np.array_equal(fr.flux.ravel(), np.arange(nspec * nwave) * 0.5 - 7), 'frame flux values')
check(fr.mask.dtype == np.uint32 and fr.mask[0, 3] == 2**31 + 512, f'frame mask[0,3] = {fr.mask[0, 3]} (2**31 + BADFIBER)')
check(fr.meta['FLAVOR'] == 'science' and fr.meta['CAMERA'] == 'r0', 'frame FLAVOR/CAMERA')
ref = Resolution(np.full(nwave, 1.1)).data[5:16]          # the 11 central diagonals of desispec's 21
check(np.allclose(fr.resolution_data[2], ref, atol=1e-7), f'resolution vs desispec Resolution(sigma=1.1): max diff {np.abs(fr.resolution_data[2] - ref).max():.2e}')
x = np.linspace(1, 2, nwave)
check(np.allclose(fr.R[1].dot(x), Resolution(ref, offsets=np.arange(5, -6, -1)).dot(x), atol=1e-6), 'R.dot agrees')
check(list(fr.fibermap['FIBER']) == [0, 1, 2], 'frame fibermap FIBER')

fm = io.read_fibermap(os.path.join(d, 'fibermap-00000014.fits'))
expect = {n: np.dtype(t if not isinstance(t, tuple) else f'U{t[1]}') for n, t, *_ in _set_fibermap_columns('main')}
check(fm.colnames == list(expect), f'fibermap has the {len(expect)} main-survey columns in order')
wrong = [n for n in fm.colnames if n in expect and fm[n].dtype.kind != 'U' and (fm[n].dtype.kind, fm[n].dtype.itemsize) != (expect[n].kind, expect[n].itemsize)]
check(not wrong, f'fibermap column dtypes as empty_fibermap (wrong: {wrong})')
check(np.allclose(fm['FLUX_R'], [1.5, 2.5, 100, 0.25]), 'fibermap FLUX_R values')
check(fm.meta.get('SURVEY') == 'main', 'fibermap SURVEY keyword')

img = io.read_image(os.path.join(d, 'preproc-b0-00000014.fits'))
check(img.pix.shape == (4, 6) and img.pix[1, 2] == 8 * 1.25 - 3, 'preproc pix')
check(img.mask[0, 5] == (16 | 512) and img.mask[1, 1] == 0x8001, f'preproc mask bits {img.mask[0, 5]}, {img.mask[1, 1]:#x}')
check(np.all(img.readnoise == 3.25) and img.camera == 'b0', 'preproc readnoise and camera')
h = fitsio.read_header(os.path.join(d, 'preproc-b0-00000014.fits'), 'IMAGE')
check(h['DEPNAM00'] == 'desispec-swift', 'provenance DEPNAM00')
import warnings
from astropy.io import fits
for name in ('frame-r0-00000014.fits', 'preproc-b0-00000014.fits', 'fibermap-00000014.fits'):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        with fits.open(os.path.join(d, name), checksum=True) as hx:
            hx.verify('exception')
            n = sum(1 for h in hx if 'CHECKSUM' in h.header or isinstance(h, fits.CompImageHDU))  # a compressed HDU's sums sit in its hidden table header
            for h in hx: _ = h.data
    msgs = [str(x.message) for x in w if 'checksum' in str(x.message).lower() or 'datasum' in str(x.message).lower()]
    check(not msgs and n == len(hx), f'{name}: astropy verify + checksums of {n}/{len(hx)} HDUs {msgs}')
sys.exit(1 if bad else 0)
