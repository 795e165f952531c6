/* Datastore files read over HTTPS: a HEAD for the size, then Range GETs
 * on the session's pooled connections.
 *
 * Sequential reads are read ahead: a read that follows the previous one
 * (or touches a cached window) fetches READ_AHEAD bytes into a window
 * that later reads are served from.  A window being fetched is marked
 * LOADING, and readers needing it wait on a condition variable rather
 * than fetching the same bytes again.  The file's lock is only held to
 * look at and copy out of windows, never during a transfer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"

#define READ_AHEAD (1u << 20)
#define WINDOWS 4               /* per file: a few sequential streams */

enum window_state { EMPTY, LOADING, READY };

struct window {
  enum window_state state;
  uint64_t start;
  size_t len;
  unsigned char *buf;           /* READ_AHEAD bytes once used */
  unsigned long used;           /* for LRU eviction */
};

struct vdl_remote_file {
  struct vdl_remote *r;
  char *name, *url;
  uint64_t size;
  pthread_mutex_t lock;         /* the windows, last_end, tick */
  pthread_cond_t loaded;        /* a LOADING window finished */
  struct window w[WINDOWS];
  uint64_t last_end;            /* where the latest read ended */
  unsigned long tick;
};

/* One HEAD (buf NULL) or Range GET of [offset, offset+len), with the
 * session's cookie.  A dropped or stalled connection is replaced and the
 * range resumed where it stopped, VDL_HTTP_RETRIES times; an expired
 * session (401/403) is renewed once. */
static VixError
request (struct vdl_remote_file *f, void *buf, size_t len, uint64_t offset,
         int64_t *length)
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
  VixError err;

  for (;;) {
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

  if (!f || !(f->name = strdup (name))) {
    free (f);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  f->r = r;
  pthread_mutex_init (&f->lock, NULL);
  pthread_cond_init (&f->loaded, NULL);
  err = vdl_remote_file_url (r, name, &f->url);
  if (err == VIX_OK)
    err = request (f, NULL, 0, 0, &length);
  if (err != VIX_OK) {
    vdl_remote_file_close (f);
    return err;
  }
  f->size = length;
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
  for (i = 0; i < WINDOWS; i++)
    free (f->w[i].buf);
  pthread_mutex_destroy (&f->lock);
  pthread_cond_destroy (&f->loaded);
  free (f->url);
  free (f->name);
  free (f);
}

/* The window holding all of [offset, offset+len), if any. */
static struct window *
covering (struct vdl_remote_file *f, size_t len, uint64_t offset)
{
  int i;

  for (i = 0; i < WINDOWS; i++)
    if (f->w[i].state != EMPTY && f->w[i].start <= offset &&
        offset + len <= f->w[i].start + f->w[i].len)
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

/* A window to fetch into: an empty one, else the least recently used
 * ready one; NULL if all are being fetched. */
static struct window *
claim (struct vdl_remote_file *f)
{
  struct window *best = NULL;
  int i;

  for (i = 0; i < WINDOWS; i++) {
    if (f->w[i].state == LOADING)
      continue;
    if (!best || f->w[i].state == EMPTY ||
        (best->state == READY && f->w[i].used < best->used))
      best = &f->w[i];
    if (best->state == EMPTY)
      break;
  }
  if (best && !best->buf && !(best->buf = malloc (READ_AHEAD)))
    return NULL;
  return best;
}

VixError
vdl_remote_file_pread (struct vdl_remote_file *f, void *buf, size_t len,
                       uint64_t offset)
{
  struct window *w;
  VixError err;

  if (len == 0)
    return VIX_OK;
  if (offset > f->size || len > f->size - offset)
    return vdl_error (VIX_E_DISK_OUTOFRANGE, "%s on %s is truncated: "
                      "reading %zu bytes at offset %" PRIu64 " goes past "
                      "the end of the file (%" PRIu64 " bytes)", f->name,
                      f->r->host, len, offset, f->size);

  pthread_mutex_lock (&f->lock);
  while ((w = covering (f, len, offset)) && w->state == LOADING)
    pthread_cond_wait (&f->loaded, &f->lock);
  if (w) {
    memcpy (buf, w->buf + (offset - w->start), len);
    w->used = ++f->tick;
    f->last_end = offset + len;
    pthread_mutex_unlock (&f->lock);
    return VIX_OK;
  }
  w = len < READ_AHEAD && sequential (f, offset) ? claim (f) : NULL;
  f->last_end = offset + len;
  if (!w) {
    /* A random or a large read: straight into the caller's buffer. */
    pthread_mutex_unlock (&f->lock);
    return request (f, buf, len, offset, NULL);
  }
  w->state = LOADING;
  w->start = offset;
  w->len = f->size - offset < READ_AHEAD ? f->size - offset : READ_AHEAD;
  pthread_mutex_unlock (&f->lock);

  err = request (f, w->buf, w->len, w->start, NULL);

  pthread_mutex_lock (&f->lock);
  if (err == VIX_OK) {
    memcpy (buf, w->buf, len);
    w->state = READY;
    w->used = ++f->tick;
  }
  else
    w->state = EMPTY;           /* waiters fetch their own bytes */
  pthread_cond_broadcast (&f->loaded);
  pthread_mutex_unlock (&f->lock);
  return err;
}
