"""Writes real covariance blocks of the extraction's resolution step for scripts/bench/resolution_eigen.c.

For four patches of a full r0 image (7 fibers x 73 wavelengths at 0.8 A, the shape of desispec's default
patches), specter's projection matrix A with the image's inverse variance W gives the inverse covariance
A^T W A; its inverse's 5 core-fiber diagonal blocks (73 x 73) are the matrices whose inverse square root
becomes the resolution matrix. Prints each block's condition number; writes 20 blocks as little-endian float64.
Usage: python resolution_blocks.py PSF PREPROC OUT.bin
"""
import sys

import fitsio
import numpy as np
from specter.psf import load_psf

psf = load_psf(sys.argv[1])
ivar = fitsio.read(sys.argv[2], 'IVAR').astype(float)
blocks = []
for spec0, w0 in [(100, 6000.0), (200, 7000.0), (350, 5800.0), (450, 7400.0)]:
    ww = w0 + 0.8 * np.arange(73)
    xmin, xmax, ymin, ymax = psf.xyrange((spec0, spec0 + 7), ww)
    a = psf.projection_matrix((spec0, spec0 + 7), ww, (xmin, xmax, ymin, ymax)).toarray()
    w = ivar[ymin:ymax, xmin:xmax].ravel()
    cov = np.linalg.inv(a.T @ (w[:, None] * a))
    for s in range(1, 6):
        b = cov[s * 73:(s + 1) * 73, s * 73:(s + 1) * 73]
        ev = np.linalg.eigvalsh(b)
        print(f'fibers {spec0}+{s} at {w0:.0f} A: condition {ev[-1] / ev[0]:.0f}')
        blocks.append(b)
np.array(blocks).astype('<f8').tofile(sys.argv[3])
