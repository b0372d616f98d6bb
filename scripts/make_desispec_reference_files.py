#!/usr/bin/env python3
"""Write small frame and preproc files with desispec's own writers. The Swift test
DataModelIOTests.testReadsFilesWrittenByDesispec embeds the output of
  NSPEC=3 NWAVE=24 /work/refenv/bin/python scripts/make_desispec_reference_files.py DIR; gzip -9 -n DIR/*.fits
(base64, Tests/DESICoreTests/DesispecWrittenFiles.swift). NWAVE must exceed 21 (desispec's resolution ndiag).
usage: /work/refenv/bin/python scripts/make_desispec_reference_files.py DIR"""
import os, sys
import numpy as np
from astropy.table import Table
from desispec.frame import Frame
from desispec.image import Image
from desispec.resolution import Resolution
from desispec.io import write_frame, write_image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

nspec, nwave = int(os.environ.get('NSPEC', 4)), int(os.environ.get('NWAVE', 50))
wave = 5800 + 0.8 * np.arange(nwave)
flux = np.arange(nspec)[:, None] + 0.01 * np.arange(nwave)[None, :]
ivar = np.full((nspec, nwave), 2.0)
mask = np.zeros((nspec, nwave), dtype=np.uint32)
mask[1, 7] = 2**31 + 4
rdata = np.array([Resolution(np.full(nwave, 1.3)).data for _ in range(nspec)])
fibermap = Table()
fibermap['FIBER'] = np.arange(500, 500 + nspec, dtype=np.int32)
fibermap['TARGETID'] = np.arange(nspec, dtype=np.int64) + 1000
fibermap['OBJTYPE'] = (['TGT', 'SKY', 'TGT', 'TGT'] * nspec)[:nspec]
meta = dict(CAMERA='r1', FLAVOR='science', NIGHT=20250101, EXPID=99)
frame = Frame(wave, flux, ivar, mask, rdata, fibermap=fibermap, meta=meta, spectrograph=1)
write_frame(os.path.join(out, 'frame-r1-00000099.fits'), frame)

ny, nx = 5, 7
pix = np.arange(ny * nx, dtype=np.float64).reshape(ny, nx) - 3
pix[3, 4] = 34
imask = np.zeros((ny, nx), dtype=np.uint16)
imask[3, 4] = 16
imask[0, 0] = 0x8002
image = Image(pix, np.ones((ny, nx)), mask=imask, readnoise=np.full((ny, nx), 2.5), camera='b1',
              meta=dict(CAMERA='b1', EXPID=99, NIGHT=20250101))
write_image(os.path.join(out, 'preproc-b1-00000099.fits'), image)
print('wrote', sorted(os.listdir(out)))
