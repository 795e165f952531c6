/* SPDX-License-Identifier: BSD-3-Clause */
/* Datastore files read over HTTPS: at open, a GET of the first
 * HEAD_BYTES, whose Content-Range gives the size (one round trip where
 * a HEAD and then a GET of the descriptor or sparse header took two);
 * then Range GETs on the session's pooled connections, through the
 * read-ahead of remote-readahead.c (which fetches ahead of a sequential
 * reader on several connections at once, and passes other reads
 * straight on).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "remote-areas.h"
#include "remote-internal.h"
#include "remote-retry.h"
#include "remote-readahead.h"

/* The start of a file read at open: a descriptor, a sparse header with
 * its embedded descriptor and a small grain directory, a partition
 * table.  Small enough to cost little more than the round trip on a
 * slow link. */
#define HEAD_BYTES 16384

struct vdl_remote_file {
  struct vdl_remote *r;
  char *name, *url;
  uint64_t size;
  char *head;                   /* the file's first head_len bytes */
  size_t head_len;
  struct vdl_readahead *ra;
  bool counted;                 /* in r->open_files */
  bool may_read_ahead;          /* in r->readahead_files */
  /* The areas in use (remote-areas.c), asked for by
   * vdl_remote_file_next_data as far as it needs them; one asker at a
   * time. */
  pthread_mutex_t areas_lock;
  enum { AREAS_UNASKED, AREAS_NONE, AREAS_KNOWN } areas_state;
  struct vdl_areas areas;
  unsigned placements;          /* extents opened on it (before reads) */
  bool placed_at_start;         /* the disk's byte 0 is the file's */
  uint64_t fetched;             /* atomic: bytes that GETs brought */
  unsigned gets;                /* atomic: and how many GETs */
};

/* A transfer resumed after base bytes reports progress over the whole
 * range. */
struct resumed {
  void (*progress) (void *opaque, size_t got);
  void *opaque;
  size_t base;
};

static void
resumed_progress (void *opaque, size_t got)
{
  struct resumed *x = opaque;

  x->progress (x->opaque, x->base + got);
}

/* One HEAD (buf NULL) or Range GET of [offset, offset+len), with the
 * session's cookie.  A dropped or stalled connection is replaced and the
 * range resumed where it stopped, VDL_HTTP_RETRIES times; a busy server
 * is asked again with back-off (remote-retry.h); an expired session
 * (401/403) is renewed once.  *length (if length) is the file's size:
 * of a HEAD, or of a GET at offset 0 (the open's probe), which may get
 * fewer than len bytes (*got) from a smaller file, and sets *length to
 * -1 if the answer does not tell the size. */
static VixError
request (struct vdl_remote_file *f, void *buf, size_t len, uint64_t offset,
         int64_t *length, size_t *got,
         void (*progress) (void *opaque, size_t got), void *opaque,
         const bool *stop)
{
  const bool probe = buf && length;
  struct vdl_remote *r = f->r;
  struct vdl_http_request rq = { .method = buf ? "GET" : "HEAD",
                                 .url = f->url };
  struct vdl_http_response rs;
  struct vdl_http *h;
  unsigned generation;
  int retries = 0, logins = 0;
  size_t done = 0;
  const struct vdl_cookie *cookie;
  char what[512];
  struct vdl_retry busy;
  struct resumed resumed = { .progress = progress, .opaque = opaque };
  VixError err;

  if (progress) {
    rq.progress = resumed_progress;
    rq.opaque = &resumed;
  }
  vdl_retry_start (&busy);
  rq.stop = stop;
  for (;;) {
    resumed.base = done;
    cookie = vdl_remote_cookie (r, &generation);
    rq.cookie = vdl_cookie_text (cookie);
    rq.buf = buf ? (char *) buf + done : NULL;
    rq.len = len - done;
    rq.offset = offset + done;
    if ((err = vdl_http_get (r->pool, false, &h)) != VIX_OK) {
      vdl_remote_cookie_free (r, cookie);
      return err;
    }
    vdl_http_perform (h, &rq, &rs);
    vdl_http_put (r->pool, h);
    vdl_remote_cookie_free (r, cookie);
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
        retries < VDL_HTTP_RETRIES &&
        !(stop && __atomic_load_n (stop, __ATOMIC_RELAXED))) {
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

  if (probe && rs.code == CURLE_OK &&
      (rs.status == 206 || rs.status == 200 || rs.status == 416)) {
    /* The size: a 206's Content-Range, or the Content-Length of a
     * server sending the whole file; a 416 (an empty file, or a server
     * refusing a range past the end) tells nothing. */
    *length = rs.status == 206 ? rs.range_total :
      rs.status == 200 ? rs.length : -1;
    if (*length >= 0 &&
        done != ((uint64_t) *length < len ? (size_t) *length : len))
      err = vdl_error (VIX_E_FILE_ERROR, "%s sent %zu bytes of the first "
                       "%zu of %s (HTTP %ld, %" PRId64 " bytes)", r->host,
                       done, len, f->name, rs.status, *length);
    else
      err = VIX_OK;
    *got = done;
    vdl_http_response_free (&rs);
    return err;
  }
  if (rs.code != CURLE_OK) {
    if (buf && !probe)
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
    /* vCenter answers 401 to a live session whose account lacks the
     * privileges of datastore downloads (docs/testing-remote.md). */
    err = vdl_error (VIX_E_FILE_ACCESS_ERROR, "%s refused access to %s "
                     "(HTTP %ld%s): reading datastore files over HTTPS "
                     "needs the Datastore.Browse and "
                     "Datastore.FileManagement privileges on the datastore "
                     "and its datacenter, and System.View%s", r->host,
                     f->name, rs.status,
                     logins ? ", also after logging in again" : "",
                     logins ? "" : "; or the session has expired");
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
    if (buf) {
      __atomic_add_fetch (&f->gets, 1, __ATOMIC_RELAXED);
      __atomic_add_fetch (&f->fetched, done, __ATOMIC_RELAXED);
    }
  }
  vdl_http_response_free (&rs);
  return err;
}

/* The read-ahead's source (vdl_fetch_fn): ranged GETs of f. */
static VixError
fetch (void *f, void *buf, size_t len, uint64_t offset,
       void (*progress) (void *opaque, size_t got), void *opaque,
       const bool *stop)
{
  return request (f, buf, len, offset, NULL, NULL, progress, opaque, stop);
}

/* The size of f, and its first bytes: one GET, or a HEAD as well if the
 * GET's answer does not tell the size. */
static VixError
probe (struct vdl_remote_file *f, int64_t *length)
{
  VixError err;

  if (!(f->head = malloc (HEAD_BYTES)))
    return vdl_oom ();
  err = request (f, f->head, HEAD_BYTES, 0, length, &f->head_len,
                 NULL, NULL, NULL);
  if (err == VIX_OK && *length < 0) {
    vdl_debug ("VixDiskLib: %s: the GET of %s did not tell its size; "
               "asking with HEAD", f->r->host, f->name);
    f->head_len = 0;
    err = request (f, NULL, 0, 0, length, NULL, NULL, NULL, NULL);
  }
  if (err == VIX_OK && (uint64_t) *length < f->head_len)
    f->head_len = *length;
  if (err == VIX_OK) {
    f->gets++;
    f->fetched += f->head_len;
  }
  return err;
}

/* The areas in use as far as they are known, without asking the
 * server (the read-ahead asks with its own lock held, and must not wait
 * for it). */
static bool
known_data (void *opaque, uint64_t offset, uint64_t *data_start,
            uint64_t *data_end)
{
  struct vdl_remote_file *f = opaque;

  return __atomic_load_n (&f->areas_state, __ATOMIC_ACQUIRE) == AREAS_KNOWN
    && vdl_remote_areas_next (&f->areas, offset, data_start, data_end);
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
    return vdl_oom ();
  }
  pthread_mutex_init (&f->areas_lock, NULL);
  f->r = r;
  err = vdl_remote_check_transport (r, name);
  if (err == VIX_OK)
    err = vdl_remote_file_url (r, name, &f->url);
  if (err == VIX_OK)
    err = probe (f, &length);
  if (err == VIX_OK &&
      !(f->ra = vdl_readahead_new (fetch, known_data, f, length,
                                   vdl_http_pool_size (r->pool),
                                   &r->readahead_files)))
    err = vdl_oom ();
  if (err != VIX_OK) {
    vdl_remote_file_close (f);
    return err;
  }
  f->size = length;
  __atomic_add_fetch (&r->open_files, 1, __ATOMIC_RELAXED);
  f->counted = true;
  /* A descriptor (all of it in the head) never reads ahead, so it does
   * not halve the chunks of the disk's extent. */
  if (f->size > f->head_len) {
    __atomic_add_fetch (&r->readahead_files, 1, __ATOMIC_RELAXED);
    f->may_read_ahead = true;
  }
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
  if (!f)
    return;
  /* Joins the fetchers first: they use f. */
  vdl_readahead_free (f->ra);
  if (f->url)
    vdl_debug ("VixDiskLib: %s: closing %s: %" PRIu64 " bytes read in %u "
               "GETs", f->r->host, f->name, f->fetched, f->gets);
  if (f->counted)
    __atomic_sub_fetch (&f->r->open_files, 1, __ATOMIC_RELAXED);
  if (f->may_read_ahead)
    __atomic_sub_fetch (&f->r->readahead_files, 1, __ATOMIC_RELAXED);
  vdl_remote_areas_free (&f->areas);
  pthread_mutex_destroy (&f->areas_lock);
  free (f->head);
  free (f->url);
  free (f->name);
  free (f);
}

void
vdl_remote_file_place (struct vdl_remote_file *f, uint64_t disk_offset,
                       uint64_t file_offset)
{
  pthread_mutex_lock (&f->areas_lock);
  f->placements++;
  f->placed_at_start = disk_offset == 0 && file_offset == 0;
  pthread_mutex_unlock (&f->areas_lock);
}

bool
vdl_remote_file_next_data (struct vdl_remote_file *f, uint64_t offset,
                           uint64_t *data_start, uint64_t *data_end)
{
  bool known;

  pthread_mutex_lock (&f->areas_lock);
  if (f->areas_state == AREAS_UNASKED) {
    if (f->placements == 1 && f->placed_at_start)
      known = vdl_remote_areas_start (f->r, f->name, f->size, &f->areas) &&
        vdl_remote_areas_fill (f->r, &f->areas, offset);
    else {
      vdl_debug ("VixDiskLib: %s: %s is not the whole of its disk from "
                 "the start: every sector of it counts as data", f->r->host,
                 f->name);
      known = false;
    }
    __atomic_store_n (&f->areas_state, known ? AREAS_KNOWN : AREAS_NONE,
                      __ATOMIC_RELEASE);
  }
  else if (f->areas_state == AREAS_KNOWN)
    vdl_remote_areas_fill (f->r, &f->areas, offset);
  pthread_mutex_unlock (&f->areas_lock);
  return known_data (f, offset, data_start, data_end);
}

VixError
vdl_remote_file_pread (struct vdl_remote_file *f, void *buf, size_t len,
                       uint64_t offset)
{
  if (len == 0)
    return VIX_OK;
  if (offset > f->size || len > f->size - offset)
    return vdl_error (VIX_E_DISK_OUTOFRANGE, "%s on %s is truncated: "
                      "reading %zu bytes at offset %" PRIu64 " goes past "
                      "the end of the file (%" PRIu64 " bytes)", f->name,
                      f->r->host, len, offset, f->size);
  if (offset + len <= f->head_len) {
    memcpy (buf, f->head + offset, len);
    return VIX_OK;
  }
  return vdl_readahead_read (f->ra, buf, len, offset);
}
