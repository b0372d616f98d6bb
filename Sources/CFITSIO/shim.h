#ifndef DESISPEC_CFITSIO_SHIM_H
#define DESISPEC_CFITSIO_SHIM_H
#include <fitsio.h>

/* fits_open_file is a function-like macro that Swift cannot import. */
static inline int shim_open_file(fitsfile **fptr, const char *name, int mode, int *status) {
    return ffopentest(CFITSIO_SONAME, fptr, name, mode, status);
}
static inline int shim_open_diskfile(fitsfile **fptr, const char *name, int mode, int *status) {
    return ffdkopn(fptr, name, mode, status);
}
/* cfitsio's raw byte write at the current position (fitsio2.h, not in fitsio.h): large blocks go straight to the
   file. Used to copy an image's data unit unchanged (FITSFile.writeImage(mapped:)). */
int ffpbyt(fitsfile *fptr, LONGLONG nbytes, void *buffer, int *status);
#endif
