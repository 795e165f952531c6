/* SPDX-License-Identifier: BSD-3-Clause */
/* When a busy server is asked again: HTTP 502, 503 and 504 (a server or
 * a proxy in front of it that cannot take the request now) and a
 * connection reset or closed during the TLS handshake (ESXi accepts
 * 128 HTTPS connections, vCenter 2048, and drops those beyond) are
 * retried on a fresh connection after a pause that doubles each time,
 * for at most the request time-out (vixDiskLib.nfc.RequestTimeoutMs,
 * default 120 s) from the first try.  Used by SOAP calls and by /folder
 * HEAD and GET.
 */
#ifndef VDL_REMOTE_RETRY_H
#define VDL_REMOTE_RETRY_H

#include <stdbool.h>
#include <time.h>

#include "remote-http.h"

struct vdl_retry {
  struct timespec start;
  unsigned tries;               /* retries made so far */
};

void vdl_retry_start (struct vdl_retry *rt);

/* Whether rs is a busy server's answer (above). */
bool vdl_retry_busy (const struct vdl_http_response *rs);

/* If rs is busy and the budget allows, wait the back-off and return
 * true: the caller repeats the request on a fresh connection.  host and
 * what ("SOAP Login", "GET [ds] f.vmdk") are for the debug log. */
bool vdl_retry_wait (struct vdl_retry *rt, const struct vdl_http_response *rs,
                     const char *host, const char *what);

#endif
