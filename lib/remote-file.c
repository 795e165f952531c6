/* SPDX-License-Identifier: BSD-3-Clause */
/* Datastore files read over HTTPS: a HEAD for the size, then Range GETs
 * on the session's pooled connections.
 *
 * Sequential reads are read ahead: a read that follows the previous one
 * (or touches a cached window) fetches a window of bytes that later
 * reads are served from.  Windows grow while the reading stays
 * sequential (MIN_WINDOW doubling up to MAX_WINDOW), because every
 * request costs the server a look-up of the datastore and the file: a
 * whole-disk copy makes a few hundred requests, not thousands.  The
 * files open in a session share WINDOW_BUDGET bytes of windows (a chain
 * of many deltas gets smaller windows, never less than MIN_WINDOW).
 *
 * A window is usable as its bytes arrive (filled), so readers do not
 * wait for the whole of a large window; and once reading passes the
 * middle of a window, the reader that got there fetches the next one,
 * so that the stream does not stop at window boundaries.  The thread
 * that claims a window runs its transfer; readers needing bytes not yet
 * in wait, each until its own bytes are (struct waiter).  The file's lock is only
 * held to look at windows and their progress, never during a transfer
 * or a copy: a window being copied from is pinned (readers) and not
 * reused until the copy is done.
 */
#include <inttypes.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"
#include "remote-retry.h"

#define MIN_WINDOW (1u << 20)
#define MAX_WINDOW (8u << 20)
#define WINDOW_BUDGET (64u << 20)
#define WINDOWS 4               /* per file: a stream's current and next
                                 * windows, and a few for other streams */

enum window_state { EMPTY, LOADING, READY };

struct window {
  enum window_state state;
  uint64_t start;
  size_t len;
  size_t filled;                /* bytes of [start, start+len) in buf */
  unsigned char *buf;           /* cap bytes, allocated on first use */
  size_t cap;
  unsigned long used;           /* for LRU eviction */
  unsigned readers;             /* copying out without the lock */
  struct waiter *waiters;       /* for bytes not in yet */
  size_t wake_at;               /* the least fill a waiter waits for */
};

/* A reader waiting for a window's bytes up to need (filled >= need), or
 * for the end of its load.  Woken one by one, so that a 16 KiB piece
 * arriving wakes only the reader it completes, and without the lock
 * held, so that the woken reader does not at once block on it. */
struct waiter {
  size_t need;
  sem_t sem;
  struct waiter *next;
};

struct vdl_remote_file {
  struct vdl_remote *r;
  char *name, *url;
  uint64_t size;
  pthread_mutex_t lock;         /* the windows, last_end, tick */
  struct window w[WINDOWS];
  uint64_t last_end;            /* where the latest read ended */
  unsigned long tick;
  bool counted;                 /* in r->open_files */
};

/* A window's transfer reporting progress (see request). */
struct progress {
  struct vdl_remote_file *f;
  struct window *w;
  size_t base;                  /* bytes in before this attempt */
};

/* Take the waiters of w that are satisfied (all of them if all), to be
 * woken with wake once the lock is released. */
static struct waiter *
satisfied (struct window *w, bool all)
{
  struct waiter **pp = &w->waiters, *x, *woken = NULL;

  w->wake_at = SIZE_MAX;
  while ((x = *pp)) {
    if (all || x->need <= w->filled) {
      *pp = x->next;
      x->next = woken;
      woken = x;
    }
    else {
      if (x->need < w->wake_at)
        w->wake_at = x->need;
      pp = &x->next;
    }
  }
  return woken;
}

static void
wake (struct waiter *x)
{
  struct waiter *next;

  for (; x; x = next) {
    next = x->next;             /* x is gone once posted */
    sem_post (&x->sem);
  }
}

/* Called for every piece of a window's transfer (16 KiB TLS records). */
static void
window_progress (void *opaque, size_t got)
{
  struct progress *p = opaque;
  struct window *w = p->w;
  struct waiter *woken = NULL;

  pthread_mutex_lock (&p->f->lock);
  w->filled = p->base + got;
  if (w->filled >= w->wake_at)
    woken = satisfied (w, false);
  pthread_mutex_unlock (&p->f->lock);
  wake (woken);
}

/* One HEAD (buf NULL) or Range GET of [offset, offset+len), with the
 * session's cookie.  A dropped or stalled connection is replaced and the
 * range resumed where it stopped, VDL_HTTP_RETRIES times; a busy server
 * is asked again with back-off (remote-retry.h); an expired session
 * (401/403) is renewed once. */
static VixError
request (struct vdl_remote_file *f, void *buf, size_t len, uint64_t offset,
         int64_t *length, struct window *w)
{
  struct vdl_remote *r = f->r;
  struct vdl_http_request rq = { .method = buf ? "GET" : "HEAD",
                                 .url = f->url };
  struct vdl_http_response rs;
  struct vdl_http *h;
  unsigned generation;
  int retries = 0, logins = 0;
  size_t done = 0;
  char *cookie, what[512];
  struct progress progress = { .f = f, .w = w };
  struct vdl_retry busy;
  VixError err;

  if (w) {
    rq.progress = window_progress;
    rq.opaque = &progress;
  }
  vdl_retry_start (&busy);
  for (;;) {
    progress.base = done;
    cookie = vdl_remote_cookie (r, &generation);
    rq.cookie = cookie;
    rq.buf = buf ? (char *) buf + done : NULL;
    rq.len = len - done;
    rq.offset = offset + done;
    if ((err = vdl_http_get (r->pool, &h)) != VIX_OK) {
      vdl_remote_cookie_free (cookie);
      return err;
    }
    vdl_http_perform (h, &rq, &rs);
    vdl_http_put (r->pool, h);
    vdl_remote_cookie_free (cookie);
    done += rs.got;
    /* Dropped after the last byte: nothing is missing. */
    if (buf && done == len && rs.code != CURLE_OK && vdl_http_retryable (&rs))
      rs.code = CURLE_OK;

    if (vdl_retry_busy (&rs)) {
      snprintf (what, sizeof what, "%s %s", rq.method, f->name);
      if (vdl_retry_wait (&busy, &rs, r->host, what)) {
        rq.fresh = true;
        vdl_http_response_free (&rs);
        continue;
      }
    }
    if (rs.code != CURLE_OK && vdl_http_retryable (&rs) &&
        retries < VDL_HTTP_RETRIES) {
      retries++;
      vdl_debug ("VixDiskLib: %s: %s %s: %s; retrying on a new connection "
                 "from offset %" PRIu64, r->host, rq.method, f->name,
                 rs.error, offset + done);
      rq.fresh = true;
      vdl_http_response_free (&rs);
      continue;
    }
    if (rs.code == CURLE_OK && (rs.status == 401 || rs.status == 403) &&
        logins == 0 && r->user && r->password) {
      logins++;
      vdl_http_response_free (&rs);
      if ((err = vdl_remote_relogin (r, generation)) != VIX_OK)
        return err;
      continue;
    }
    break;
  }

  if (rs.code != CURLE_OK) {
    if (buf)
      snprintf (what, sizeof what, "reading %s at offset %" PRIu64 "%s",
                f->name, offset + done,
                retries ? ", after retrying on new connections" : "");
    else
      snprintf (what, sizeof what, "opening %s", f->name);
    err = vdl_http_error (r->host, &r->pin, &rs, what);
  }
  else if (rs.status == 404)
    err = vdl_error (VIX_E_FILE_NOT_FOUND, "%s not found on %s",
                     f->name, r->host);
  else if (rs.status == 500)
    err = vdl_remote_locked_error (r, f->name, rq.method);
  else if (rs.status == 401 || rs.status == 403)
    err = vdl_error (VIX_E_FILE_ACCESS_ERROR, "%s refused access to %s "
                     "(HTTP %ld)", r->host, f->name, rs.status);
  else if (rs.status == 416 || (buf && (rs.status == 200 ||
                                        rs.status == 206) && done < len))
    err = vdl_error (VIX_E_DISK_OUTOFRANGE, "%s on %s is truncated: "
                     "reading %zu bytes at offset %" PRIu64 " goes past "
                     "the end of the file", f->name, r->host, len, offset);
  else if (rs.status != (buf ? 206 : 200) && rs.status != 200)
    err = vdl_error (VIX_E_FILE_ERROR, "%s answered HTTP %ld to %s %s",
                     r->host, rs.status, rq.method, f->name);
  else if (!buf && rs.length < 0)
    err = vdl_error (VIX_E_FILE_ERROR, "%s did not tell the size of %s",
                     r->host, f->name);
  else {
    err = VIX_OK;
    if (length)
      *length = rs.length;
  }
  vdl_http_response_free (&rs);
  return err;
}

VixError
vdl_remote_file_open (struct vdl_remote *r, const char *name,
                      struct vdl_remote_file **out)
{
  struct vdl_remote_file *f = calloc (1, sizeof *f);
  int64_t length = -1;
  VixError err;
  int i;

  if (!f || !(f->name = strdup (name))) {
    free (f);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  f->r = r;
  pthread_mutex_init (&f->lock, NULL);
  for (i = 0; i < WINDOWS; i++)
    f->w[i].wake_at = SIZE_MAX;
  err = vdl_remote_check_transport (r, name);
  if (err == VIX_OK)
    err = vdl_remote_file_url (r, name, &f->url);
  if (err == VIX_OK)
    err = request (f, NULL, 0, 0, &length, NULL);
  if (err != VIX_OK) {
    vdl_remote_file_close (f);
    return err;
  }
  f->size = length;
  __atomic_add_fetch (&r->open_files, 1, __ATOMIC_RELAXED);
  f->counted = true;
  vdl_debug ("VixDiskLib: %s: opened %s, %" PRIu64 " bytes", r->host, name,
             f->size);
  *out = f;
  return VIX_OK;
}

uint64_t
vdl_remote_file_size (const struct vdl_remote_file *f)
{
  return f->size;
}

void
vdl_remote_file_close (struct vdl_remote_file *f)
{
  int i;

  if (!f)
    return;
  if (f->counted)
    __atomic_sub_fetch (&f->r->open_files, 1, __ATOMIC_RELAXED);
  for (i = 0; i < WINDOWS; i++)
    free (f->w[i].buf);
  pthread_mutex_destroy (&f->lock);
  free (f->url);
  free (f->name);
  free (f);
}

/* The window holding the byte at offset, if any. */
static struct window *
containing (struct vdl_remote_file *f, uint64_t offset)
{
  int i;

  for (i = 0; i < WINDOWS; i++)
    if (f->w[i].state != EMPTY && f->w[i].start <= offset &&
        offset - f->w[i].start < f->w[i].len)
      return &f->w[i];
  return NULL;
}

/* Whether a read at offset continues an earlier one. */
static bool
sequential (struct vdl_remote_file *f, uint64_t offset)
{
  int i;

  if (offset == f->last_end)
    return true;
  for (i = 0; i < WINDOWS; i++)
    if (f->w[i].state != EMPTY && f->w[i].start <= offset &&
        offset <= f->w[i].start + f->w[i].len)
      return true;
  return false;
}

/* The largest window for a file now: its share of the session's budget. */
static size_t
window_cap (struct vdl_remote_file *f)
{
  unsigned files = __atomic_load_n (&f->r->open_files, __ATOMIC_RELAXED);
  size_t cap = WINDOW_BUDGET / WINDOWS / (files ? files : 1);

  if (cap > MAX_WINDOW)
    return MAX_WINDOW;
  return cap < MIN_WINDOW ? MIN_WINDOW : cap;
}

/* Claim a window to fetch [offset, ...) into, and mark it LOADING: an
 * empty one, else the least recently used ready one that nobody is
 * copying from; NULL if there is none.  It continues a stream, and is
 * twice as large as the window before it, if one ends at offset. */
static struct window *
claim (struct vdl_remote_file *f, uint64_t offset)
{
  struct window *best = NULL;
  size_t len = MIN_WINDOW, cap = window_cap (f);
  int i;

  for (i = 0; i < WINDOWS; i++) {
    struct window *w = &f->w[i];

    if (w->state != EMPTY && w->start + w->len == offset)
      len = w->len * 2;
    if (w->state == LOADING || w->readers > 0)
      continue;
    if (!best || (best->state == READY &&
                  (w->state == EMPTY || w->used < best->used)))
      best = w;
  }
  if (!best)
    return NULL;
  if (best->cap != cap) {
    /* First use, or the share changed as files were opened or closed:
     * untouched pages of a large buffer cost nothing. */
    free (best->buf);
    best->cap = 0;
    if (!(best->buf = malloc (cap))) {
      best->state = EMPTY;
      return NULL;
    }
    best->cap = cap;
  }
  if (len > cap)
    len = cap;
  best->state = LOADING;
  best->start = offset;
  best->len = f->size - offset < len ? f->size - offset : len;
  best->filled = 0;
  best->used = ++f->tick;
  return best;
}

/* Fetch a claimed window (called without the lock, returns with it). */
static VixError
load (struct vdl_remote_file *f, struct window *w)
{
  VixError err = request (f, w->buf, w->len, w->start, NULL, w);
  struct waiter *woken;

  pthread_mutex_lock (&f->lock);
  /* On failure, waiters fetch their own bytes. */
  w->state = err == VIX_OK ? READY : EMPTY;
  woken = satisfied (w, true);
  pthread_mutex_unlock (&f->lock);
  wake (woken);
  pthread_mutex_lock (&f->lock);
  return err;
}

VixError
vdl_remote_file_pread (struct vdl_remote_file *f, void *buf, size_t len,
                       uint64_t offset)
{
  struct window *w, *last = NULL, *next;
  unsigned char *p = buf;
  size_t n, need;
  VixError err;

  if (len == 0)
    return VIX_OK;
  if (offset > f->size || len > f->size - offset)
    return vdl_error (VIX_E_DISK_OUTOFRANGE, "%s on %s is truncated: "
                      "reading %zu bytes at offset %" PRIu64 " goes past "
                      "the end of the file (%" PRIu64 " bytes)", f->name,
                      f->r->host, len, offset, f->size);

  pthread_mutex_lock (&f->lock);
  while (len > 0) {
    if ((w = containing (f, offset))) {
      /* From a window, as far as it goes, once those bytes are in. */
      n = w->start + w->len - offset < len ? w->start + w->len - offset : len;
      need = offset + n - w->start;
      if (w->state == LOADING && w->filled < need) {
        struct waiter me = { .need = need, .next = w->waiters };

        sem_init (&me.sem, 0, 0);
        w->waiters = &me;
        if (need < w->wake_at)
          w->wake_at = need;
        pthread_mutex_unlock (&f->lock);
        while (sem_wait (&me.sem) == -1)
          ;                     /* EINTR */
        sem_destroy (&me.sem);
        pthread_mutex_lock (&f->lock);
        continue;               /* look again: it may have failed */
      }
      w->readers++;
      w->used = ++f->tick;
      pthread_mutex_unlock (&f->lock);
      memcpy (p, w->buf + (offset - w->start), n);
      pthread_mutex_lock (&f->lock);
      w->readers--;
      p += n;
      offset += n;
      len -= n;
      f->last_end = offset;
      last = w;
      continue;
    }
    if (len < window_cap (f) && sequential (f, offset) &&
        (w = claim (f, offset))) {
      /* Read ahead; then the loop copies from the window. */
      pthread_mutex_unlock (&f->lock);
      if ((err = load (f, w)) != VIX_OK) {
        pthread_mutex_unlock (&f->lock);
        return err;
      }
      continue;
    }
    /* A random or a large read: straight into the caller's buffer. */
    f->last_end = offset + len;
    pthread_mutex_unlock (&f->lock);
    return request (f, p, len, offset, NULL, NULL);
  }

  /* Past the middle of a window whose successor is not there yet: fetch
   * it now, so that the readers after us find it arriving.  Our own
   * bytes are copied already; a failure here is the next reader's. */
  if (last && offset - last->start > last->len / 2 &&
      last->start + last->len < f->size &&
      !containing (f, last->start + last->len) &&
      (next = claim (f, last->start + last->len))) {
    pthread_mutex_unlock (&f->lock);
    load (f, next);
  }
  pthread_mutex_unlock (&f->lock);
  return VIX_OK;
}
