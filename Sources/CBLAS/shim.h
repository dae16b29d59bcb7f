#ifndef WHET_CBLAS_SHIM_H
#define WHET_CBLAS_SHIM_H
#include <cblas.h>
#endif
