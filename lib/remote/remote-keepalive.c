/* SPDX-License-Identifier: BSD-3-Clause */
/* Keeping a session alive while files are open.  vSphere ends sessions
 * idle for about 30 minutes, and /folder transfers do not count as
 * activity: a long copy would lose its session midway, which a cookie=
 * connection (no password to log in again) cannot survive.  As
 * govmomi's session keepalive does, a cheap call (CurrentTime) is made
 * every few minutes while at least one file is open.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "remote-internal.h"

#define DEFAULT_INTERVAL_MS (5L * 60 * 1000)

struct vdl_keepalive {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t stop_cond;
  bool stop;
};

static void
ping (struct vdl_remote *r)
{
  static const char body[] =
    "<CurrentTime><_this type=\"ServiceInstance\">ServiceInstance</_this>"
    "</CurrentTime>";
  struct vdl_soap_reply reply;
  VixError err;

  err = vdl_remote_call (r, "CurrentTime", body, &reply);
  vdl_soap_reply_free (&reply);
  if (err != VIX_OK) {
    /* The reads that follow will say what is wrong, if anything. */
    char *text = vdl_error_text (err);

    vdl_debug ("VixDiskLib: %s: keeping the session alive failed: %s",
               r->host, text ? text : "?");
    free (text);
  }
  else
    vdl_debug ("VixDiskLib: %s: session kept alive", r->host);
}

static void *
run (void *opaque)
{
  struct vdl_remote *r = opaque;
  struct vdl_keepalive *k = r->keepalive;
  struct timespec at;
  long ms;

  pthread_mutex_lock (&k->lock);
  while (!k->stop) {
    ms = vdl_config_keepalive_ms ();
    if (ms <= 0)
      ms = DEFAULT_INTERVAL_MS;
    clock_gettime (CLOCK_MONOTONIC, &at);
    at.tv_sec += ms / 1000;
    at.tv_nsec += (ms % 1000) * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
      at.tv_sec++;
      at.tv_nsec -= 1000000000L;
    }
    while (!k->stop &&
           pthread_cond_timedwait (&k->stop_cond, &k->lock, &at) != ETIMEDOUT)
      ;
    if (k->stop)
      break;
    if (__atomic_load_n (&r->open_files, __ATOMIC_RELAXED) == 0)
      continue;                 /* connecting or opening is activity */
    pthread_mutex_unlock (&k->lock);
    ping (r);
    pthread_mutex_lock (&k->lock);
  }
  pthread_mutex_unlock (&k->lock);
  return NULL;
}

VixError
vdl_keepalive_start (struct vdl_remote *r)
{
  struct vdl_keepalive *k = calloc (1, sizeof *k);
  pthread_condattr_t attr;
  int e;

  if (!k)
    return vdl_oom ();
  pthread_mutex_init (&k->lock, NULL);
  pthread_condattr_init (&attr);
  pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  pthread_cond_init (&k->stop_cond, &attr);
  pthread_condattr_destroy (&attr);
  r->keepalive = k;
  if ((e = pthread_create (&k->thread, NULL, run, r)) != 0) {
    r->keepalive = NULL;
    pthread_mutex_destroy (&k->lock);
    pthread_cond_destroy (&k->stop_cond);
    free (k);
    return vdl_error_errno (e, "cannot start the session keepalive "
                            "thread for %s", r->host);
  }
  return VIX_OK;
}

void
vdl_keepalive_stop (struct vdl_remote *r)
{
  struct vdl_keepalive *k = r->keepalive;

  if (!k)
    return;
  pthread_mutex_lock (&k->lock);
  k->stop = true;
  pthread_cond_signal (&k->stop_cond);
  pthread_mutex_unlock (&k->lock);
  pthread_join (k->thread, NULL);
  pthread_mutex_destroy (&k->lock);
  pthread_cond_destroy (&k->stop_cond);
  free (k);
  r->keepalive = NULL;
}
