#ifndef DESISPEC_CCAIRO_SHIM_H
#define DESISPEC_CCAIRO_SHIM_H
#include <cairo/cairo.h>
#endif
