#!/usr/bin/env python
"""desispec's compute_sky timed alone, wall and CPU (the machine is shared: CPU time is the fairer figure).

Usage: /work/refenv/bin/python scripts/bench/sky_reference.py FRAME FIBERFLAT [adjust]
Reads the frame, applies the fiber flat (not timed), then times compute_sky(frame, add_variance=True) with
time.time and time.process_time (all threads of the process); with a third argument, with desi_proc's
adjust_wavelength=True, adjust_lsf=True. Compare with `/usr/bin/time -f "%e %U %S" desispec sky ...`.
"""
import sys
import time

from desispec.fiberflat import apply_fiberflat
from desispec.io import read_fiberflat, read_frame
from desispec.sky import compute_sky

frame = read_frame(sys.argv[1])
apply_fiberflat(frame, read_fiberflat(sys.argv[2]))
adjust = len(sys.argv) > 3
w0, c0 = time.time(), time.process_time()
compute_sky(frame, add_variance=True, adjust_wavelength=adjust, adjust_lsf=adjust)
print(f"desispec compute_sky adjust={adjust}: wall {time.time() - w0:.1f} s, process CPU {time.process_time() - c0:.1f} s")
