/* SPDX-License-Identifier: BSD-3-Clause */
/* Bounded exponential back-off for busy servers (see remote-retry.h). */
#include <errno.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "remote-retry.h"

#define FIRST_PAUSE_MS 250L     /* then 0.5 s, 1 s, 2 s, ... */
#define LONGEST_PAUSE_MS 8000L
#define MAX_RETRIES 10          /* also bounded by the time budget */
#define DEFAULT_BUDGET_MS 120000L       /* as SOAP calls' time-out */

void
vdl_retry_start (struct vdl_retry *rt)
{
  clock_gettime (CLOCK_MONOTONIC, &rt->start);
  rt->tries = 0;
}

bool
vdl_retry_busy (const struct vdl_http_response *rs)
{
  if (rs->code == CURLE_OK)
    return rs->status == 502 || rs->status == 503 || rs->status == 504;
  /* A handshake cut short by the server (too many connections).  A
   * certificate that does not match the pin is no reason to try again. */
  if (rs->code == CURLE_SSL_CONNECT_ERROR)
    return !rs->pin_mismatch;
  /* A connection reset before any answer came, as soon as it was
   * accepted (libcurl may see that while still connecting).  A refused
   * connection (no server there) is not busy: it fails at once. */
  return rs->os_errno == ECONNRESET && rs->status == 0 && rs->got == 0 &&
    (rs->code == CURLE_COULDNT_CONNECT || rs->code == CURLE_SEND_ERROR ||
     rs->code == CURLE_RECV_ERROR || rs->code == CURLE_GOT_NOTHING);
}

static long
elapsed_ms (const struct timespec *since)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since->tv_sec) * 1000L +
    (now.tv_nsec - since->tv_nsec) / 1000000L;
}

bool
vdl_retry_wait (struct vdl_retry *rt, const struct vdl_http_response *rs,
                const char *host, const char *what)
{
  struct vdl_timeouts t;
  struct timespec pause;
  long budget, delay, spent;

  if (!vdl_retry_busy (rs) || rt->tries >= MAX_RETRIES)
    return false;
  vdl_config_timeouts (&t);
  budget = t.request_ms ? t.request_ms : DEFAULT_BUDGET_MS;
  delay = FIRST_PAUSE_MS << rt->tries;
  if (delay > LONGEST_PAUSE_MS)
    delay = LONGEST_PAUSE_MS;
  /* A server that says when to come back is believed, within bounds. */
  if (rs->retry_after_ms > delay)
    delay = rs->retry_after_ms < LONGEST_PAUSE_MS
      ? rs->retry_after_ms : LONGEST_PAUSE_MS;
  spent = elapsed_ms (&rt->start);
  if (spent + delay > budget) {
    vdl_debug ("VixDiskLib: %s: %s: still busy after %u retries over "
               "%ld ms; giving up", host, what, rt->tries, spent);
    return false;
  }
  rt->tries++;
  if (rs->code == CURLE_OK)
    vdl_debug ("VixDiskLib: %s: %s: HTTP %ld (busy); retry %u in %ld ms "
               "on a new connection", host, what, rs->status, rt->tries,
               delay);
  else
    vdl_debug ("VixDiskLib: %s: %s: %s; retry %u in %ld ms on a new "
               "connection", host, what, rs->error, rt->tries, delay);
  pause.tv_sec = delay / 1000;
  pause.tv_nsec = (delay % 1000) * 1000000L;
  while (nanosleep (&pause, &pause) == -1 && errno == EINTR)
    ;
  return true;
}
