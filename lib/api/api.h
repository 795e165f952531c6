/* SPDX-License-Identifier: BSD-3-Clause */
/* What the api-*.c files, the entry points of VixDiskLib, share.
 *
 * The library is built with hidden visibility (lib/meson.build), so only
 * the functions marked API are exported (and libvixDiskLib.syms names
 * them for the version script). */
#ifndef VDL_API_H
#define VDL_API_H

#include "vixDiskLib.h"

/* An exported VixDiskLib_* or OpenVixDiskLib_* function. */
#define API __attribute__ ((visibility ("default")))

/* Bytes in a sector, the unit of every offset and length in the API. */
#define SS VIXDISKLIB_SECTOR_SIZE

#endif
