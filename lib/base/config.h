/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_InitEx's configuration file: "key = value" lines, as VMware
 * documents them.  The NFC time-outs apply here (to the https transport,
 * which replaces NFC), and keys of this library's own: the grain table
 * cache's budget, and for https the keep-alive, the connections per
 * session and whether to ask which areas of a disk are in use; other
 * keys are accepted and ignored. */
#ifndef VDL_CONFIG_H
#define VDL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "vixDiskLib.h"

/* Read path (NULL: back to the defaults). */
VixError vdl_config_load (const char *path);

/* Time-outs in milliseconds, 0 for "not set". */
struct vdl_timeouts {
  long accept_ms;               /* vixDiskLib.nfc.AcceptTimeoutMs: connect */
  long request_ms;              /* vixDiskLib.nfc.RequestTimeoutMs: calls */
  long read_ms;                 /* vixDiskLib.nfc.ReadTimeoutMs: no data */
};
void vdl_config_timeouts (struct vdl_timeouts *t);

/* vixDiskLib.grainTableCacheKB in bytes: the memory for grain tables of
 * each open extent (0: not set). */
uint64_t vdl_config_table_cache_bytes (void);

/* vixDiskLib.https.KeepAliveMs: how often a remote session with files
 * open is kept alive (0: not set). */
long vdl_config_keepalive_ms (void);
/* vixDiskLib.https.MaxConnections: HTTPS connections per connection
 * to a server (so per disk under nbdkit); dflt if not set, at most max. */
unsigned vdl_config_https_connections (unsigned dflt, unsigned max);
/* vixDiskLib.https.IgnoreChangedAreas = 1: never ask the server which
 * areas of a flat disk are in use (remote-areas.c). */
bool vdl_config_https_ignore_changed_areas (void);

#endif
