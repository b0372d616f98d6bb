#!/usr/bin/env python
"""Time one of desispec's steps on the files of a task of our production (scripts/bench/exposure.sh).

Usage: exposure_reference.py STEP OUTDIR -- ARGS...
  STEP: preproc, traceshift, fiberflat, sky, fluxcalib or cframe; ARGS: our task's arguments without the
  subcommand (`desispec STEP ARGS`); they are mapped onto desispec's command line of the same step, every output
  path moved into OUTDIR. Prints 'seconds T cpu C peakmb M' (wall and CPU seconds of desispec's main only: imports
  excluded; for preproc the CPU of the whole subprocess; M the peak resident memory of the process, of desispec's
  subprocess for preproc) or 'failed REASON'.
  cframe: desispec's procexp with --no-xtalk --no-tsnr (ours corrects no fiber crosstalk and computes no template
  S/N; desispec's crosstalk correction also needs the DESI_SPECTRO_CALIB yaml a simulated night does not have).
  fluxcalib: without our --average-fluxcalib, and without desispec's point-source correction when desimodel's
  fiber-acceptance table is not installed (see fluxcalib_arguments).
  sky: our --calib-dir, --calib-config and --psf (for --fit-offsets) have no desispec option of that name: they are
  passed as desispec finds them (DESI_SPECTRO_CALIB, CalibFinder's yaml_file, findfile('psf')): see sky_arguments.
desispec's calibration lookup (DESI_SPECTRO_CALIB) and desimodel's focal plane are bypassed as in
scripts/compare_traceshift_desispec.py.
"""
import os
import resource
import subprocess
import sys
import time


def value(args, *names):
    for n in names:
        if n in args:
            return args[args.index(n) + 1]
    return None


def moved(path, outdir):
    return os.path.join(outdir, "desispec-" + os.path.basename(path))


def cpu_seconds(who=resource.RUSAGE_SELF):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def peak_mb(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss / 1024.0   # kB on Linux


def without(args, name):
    """args without the option `name` and its value."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a == name:
            skip = True
        else:
            out.append(a)
    return out


def sky_arguments(args):
    """Our sky task's arguments as desispec 0.70's sky takes them. Its parser has no --calib-dir, --calib-config nor
    --psf: --fit-offsets reads the sectors from CalibFinder (the camera's yaml under $DESI_SPECTRO_CALIB) and the PSF
    from findfile('psf', NIGHT, EXPID, CAMERA) (desispec.sky.get_sector_masks). So --calib-dir becomes
    DESI_SPECTRO_CALIB, --calib-config the yaml_file given to desispec.sky's CalibFinder, and --psf the path that
    desispec.sky's findfile returns for 'psf'; the three are then left out."""
    import functools
    import desispec.sky as sky
    calib_dir, calib_config, psf = (value(args, n) for n in ("--calib-dir", "--calib-config", "--psf"))
    if calib_dir:
        os.environ["DESI_SPECTRO_CALIB"] = calib_dir
    if calib_config:
        sky.CalibFinder = functools.partial(sky.CalibFinder, yaml_file=calib_config)
    if psf:
        findfile = sky.findfile
        sky.findfile = lambda filetype, *a, **k: psf if filetype == "psf" else findfile(filetype, *a, **k)
    for n in ("--calib-dir", "--calib-config", "--psf"):
        args = without(args, n)
    return args


def fluxcalib_arguments(args):
    """Our flux calibration task's arguments as desispec 0.70's fluxcalib takes them: it has no --average-fluxcalib
    (ours falls back to that average calibration when the standard stars fail; with stars it is not used), so the
    option is left out. desispec's point-source corrections (desispec.fiberfluxcorr.flat_to_psf_flux_correction and
    psf_to_fiber_flux_correction) read desimodel's data/throughput/galsim-fiber-acceptance.fits, which pip's desimodel does not install (the data
    live in desimodel's svn): when that file is missing, both are replaced by 1 for every fiber, so that
    desispec's time is measured without it (a table lookup per fiber: desispec's time is slightly underestimated,
    the ratio with ours slightly too small); its numbers are then not comparable with ours."""
    import numpy as np
    import desimodel.io
    import desispec.fiberfluxcorr as fiberfluxcorr
    table = os.path.join(desimodel.io.datadir(), "throughput", "galsim-fiber-acceptance.fits")
    if not os.path.exists(table):   # compute_flux_calibration imports it from desispec.fiberfluxcorr when it runs
        ones = lambda fibermap, *a, **k: np.ones(len(fibermap))
        fiberfluxcorr.flat_to_psf_flux_correction = ones
        fiberfluxcorr.psf_to_fiber_flux_correction = ones
    return without(args, "--average-fluxcalib")


def main():
    step, outdir = sys.argv[1], sys.argv[2]
    args = sys.argv[sys.argv.index("--") + 1:]
    os.makedirs(outdir, exist_ok=True)
    os.environ.setdefault("DESI_SPECTRO_CALIB", outdir)
    out = value(args, "-o", "--outfile")
    if step == "preproc":
        here = os.path.dirname(os.path.abspath(__file__))
        r = subprocess.run([sys.executable, os.path.join(here, "preproc_reference.py"), value(args, "-i"),
                            value(args, "--cameras"), moved(out, outdir)], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if line.startswith("desispec_seconds"):
                c = resource.RUSAGE_CHILDREN
                print(f"seconds {float(line.split()[1]):.2f} cpu {cpu_seconds(c):.2f} peakmb {peak_mb(c):.0f}")
                return 0
        print("failed " + (r.stderr.strip().splitlines() or ["no output"])[-1])
        return 0
    mapped = [moved(a, outdir) if a == out else a for a in args]
    if step == "traceshift":
        import numpy as np
        from astropy.table import Table
        import desispec.scripts.trace_shifts as module
        import desispec.qproc.qextract as qx

        class NoCalib:
            def __init__(self, *a, **k): pass
            def haskey(self, k): return False
        module.CalibFinder = NoCalib
        qx.empty_fibermap = lambda n: Table({"FIBER": np.zeros(n, dtype=int)})
    elif step == "fiberflat":
        import desispec.scripts.fiberflat as module
    elif step == "sky":
        import desispec.scripts.sky as module
        mapped = sky_arguments(mapped)
    elif step == "fluxcalib":
        import desispec.scripts.fluxcalibration as module
        mapped = fluxcalib_arguments(mapped)
    elif step == "cframe":
        import desispec.scripts.procexp as module
        mapped += ["--no-xtalk", "--no-tsnr"]
    else:
        print(f"failed unknown step {step}")
        return 0
    try:
        t0, c0 = time.time(), cpu_seconds()
        module.main(module.parse(mapped))
        print(f"seconds {time.time() - t0:.2f} cpu {cpu_seconds() - c0:.2f} peakmb {peak_mb():.0f}")
    except BaseException as e:  # argparse exits with SystemExit on options desispec does not have
        print(f"failed {type(e).__name__}: {e}".splitlines()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
