/* SPDX-License-Identifier: BSD-3-Clause */
/* The datastore store (store-datastore.c): the files of one vSphere
 * session, named "[datastore] dir/file.vmdk" and read over HTTPS. */
#ifndef VDL_STORE_DATASTORE_H
#define VDL_STORE_DATASTORE_H

#include "store.h"
#include "vixDiskLib.h"

struct vdl_remote_params;

/* Open the session (vdl_remote_connect) and make its store; it ends
 * with vdl_store_close. */
VixError vdl_store_datastore_connect (const struct vdl_remote_params *p,
                                      struct vdl_store **out);

#endif
