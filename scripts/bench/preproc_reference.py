#!/usr/bin/env python
"""Time desispec's preproc of one camera (read raw + preproc + write), as `desispec preproc` does it.

Usage: preproc_reference.py RAW CAMERA OUTFILE [--bias F --dark F --pixflat F --mask F] [--model-variance YAML PSF]
With --model-variance: desispec's model variance with that PSF, the fiber flat of the calibration YAML (the mask from
the YAML too, which makes desispec build the calibration finder the model variance needs).
Prints 'desispec_seconds <t_total> preproc_only <t_preproc> cpu_seconds <c_total>': wall-clock seconds of read + preproc
+ write and of preproc alone, and the CPU seconds (user + sys, all threads: time.process_time) of read + preproc + write
(imports excluded, as for the wall time).
"""
import argparse
import os
import sys
import tempfile
import time

p = argparse.ArgumentParser()
p.add_argument('raw'); p.add_argument('camera'); p.add_argument('outfile')
for k in ('bias', 'dark', 'pixflat', 'mask'):
    p.add_argument('--' + k, default=False)
p.add_argument('--model-variance', nargs=2, metavar=('YAML', 'PSF'), default=None)
args = p.parse_args()
os.environ.setdefault('DESI_SPECTRO_CALIB', tempfile.mkdtemp())

from astropy.io import fits
from desispec.io.raw import read_raw_primary_header
from desispec.io import write_image
from desispec.preproc import preproc

t0 = time.time()
c0 = time.process_time()
primary = read_raw_primary_header(args.raw)
with fits.open(args.raw, memmap=False) as fx:
    rawimage = fx[args.camera.upper()].data
    header = fx[args.camera.upper()].header
    header.extend(fx[0].header, strip=True, unique=True)
t1 = time.time()
kw = dict(bias=args.bias, dark=args.dark, pixflat=args.pixflat, mask=args.mask, ccd_calibration_filename=False,
          no_cte_corr=True)
if args.model_variance:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
    from compare_preproc import patch_blank_fibermap
    patch_blank_fibermap()  # no desimodel focal plane in the reference environment
    kw.update(mask=True, ccd_calibration_filename=args.model_variance[0], model_variance=True,
              psf_filename=args.model_variance[1])
img = preproc(rawimage, header, primary, **kw)
t2 = time.time()
write_image(args.outfile, img)
t3 = time.time()
c3 = time.process_time()
print(f'desispec_seconds {t3 - t0:.3f} preproc_only {t2 - t1:.3f} cpu_seconds {c3 - c0:.3f}')
