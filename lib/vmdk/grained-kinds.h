/* SPDX-License-Identifier: BSD-3-Clause */
/* The kinds of grain-table extent, as extent-grained.c hands an opened
 * extent to one of them.  Each kind's file implements its function;
 * grained.c, below them all, does not include this. */
#ifndef VDL_GRAINED_KINDS_H
#define VDL_GRAINED_KINDS_H

#include "grained.h"

/* The last step of opening, once header and directories are loaded:
 * the kind sets its operations (s->e.ops, which then closes s on
 * failure too), its table write-back and where grains go.  a is the
 * extent's open arguments. */

/* Hosted sparse and COWD (extent-sparse.c). */
VixError sparse_open_kind (struct grained_extent *s,
                           const struct vdl_extent_open_args *a);
/* Stream-optimized: compressed grains (extent-stream.c). */
VixError stream_open_kind (struct grained_extent *s,
                           const struct vdl_extent_open_args *a);

#endif
