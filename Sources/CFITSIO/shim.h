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
#endif
