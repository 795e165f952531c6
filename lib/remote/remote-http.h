/* SPDX-License-Identifier: BSD-3-Clause */
/* HTTPS requests to one vSphere server over a small pool of kept-alive,
 * pinned connections (one libcurl easy handle each).  This layer only
 * moves bytes and reports what happened; the callers decide about
 * retries, logins and messages.
 */
#ifndef VDL_REMOTE_HTTP_H
#define VDL_REMOTE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "remote-pin.h"
#include "vixDiskLib.h"

/* Connections (so transfers in flight at once) per session, unless
 * vixDiskLib.https.MaxConnections says otherwise: servers limit them
 * (ESXi about 128 HTTPS connections, vCenter 2048), and CDI or virt-v2v
 * read many disks at once, each on a session of its own. */
#define VDL_HTTP_CONNECTIONS 4
#define VDL_HTTP_CONNECTIONS_MAX 32
/* Fresh connections tried after a dropped one, per request. */
#define VDL_HTTP_RETRIES 3

struct vdl_http;
struct vdl_http_pool;

struct vdl_http_request {
  const char *method;           /* "GET", "HEAD" or "POST" */
  const char *url;
  const char *cookie;           /* "vmware_soap_session=...", or NULL */
  const char *soap_action;      /* POST */
  const char *body;             /* POST */
  void *buf;                    /* GET: the range goes here ... */
  size_t len;                   /* ... len bytes from offset */
  uint64_t offset;
  bool fresh;                   /* on a new connection (a retry) */
  /* The request or its answer holds a secret (Login): the handle is
   * freed by vdl_http_put instead of being kept for the next request,
   * so that no buffer of libcurl or of its OpenSSL connection keeps
   * the password or the new session's Set-Cookie header. */
  bool secret;
  /* GET: called as bytes arrive, with how many of buf are filled, so
   * that readers can use the start of a range before its end is in. */
  void (*progress) (void *opaque, size_t got);
  void *opaque;
  /* GET: once *stop is true (an atomic load), the transfer is abandoned
   * at its next piece (CURLE_WRITE_ERROR, connection closed). */
  const bool *stop;
};

struct vdl_http_response {
  CURLcode code;
  long status;                  /* HTTP status, 0 if none came */
  size_t got;                   /* GET: bytes stored into buf */
  char *body;                   /* POST: malloc'd, NUL-terminated */
  size_t body_len;
  int64_t length;               /* Content-Length, -1 if not sent */
  int64_t range_total;          /* GET: the file's size from a 206's
                                 * Content-Range, -1 if not sent */
  char *session_cookie;         /* "vmware_soap_session=..." if set, in
                                 * secret memory (secret.h) */
  bool wrong_range;             /* the server sent other bytes */
  long retry_after_ms;          /* Retry-After (seconds) of a busy
                                 * answer, 0 if none */
  long os_errno;                /* errno of a failed socket call, or 0 */
  bool reused;                  /* on a connection kept from before */
  bool pin_mismatch;
  char seen_sha1[VDL_FP_TEXT], seen_sha256[VDL_FP_TEXT];
  char error[CURL_ERROR_SIZE];
};

/* host ("server:port") is for messages; pin must outlive the pool. */
VixError vdl_http_pool_new (const char *host, const struct vdl_pin *pin,
                            struct vdl_http_pool **out);
void vdl_http_pool_free (struct vdl_http_pool *p);
/* The most connections the pool opens at once. */
unsigned vdl_http_pool_size (const struct vdl_http_pool *p);

/* Take a connection (waiting while all are busy) and give it back.
 * fresh: the request will open a connection of its own (a secret one),
 * so take a new handle rather than end an idle one's connection.  Fails
 * only if a new handle cannot be made. */
VixError vdl_http_get (struct vdl_http_pool *p, bool fresh,
                       struct vdl_http **out);
void vdl_http_put (struct vdl_http_pool *p, struct vdl_http *h);

/* One request, no retries.  Free the response with
 * vdl_http_response_free even on failure: it zeroes the body.  The
 * cookie is given to libcurl for this request only. */
void vdl_http_perform (struct vdl_http *h, const struct vdl_http_request *rq,
                       struct vdl_http_response *rs);
void vdl_http_response_free (struct vdl_http_response *rs);

/* Whether a failed transfer may succeed on a fresh connection: the
 * connection dropped or stalled after the request got through. */
bool vdl_http_retryable (const struct vdl_http_response *rs);

/* Record the error of a transfer that failed below HTTP (rs->code set):
 * what is the operation ("logging in", "reading [ds] f.vmdk"). */
VixError vdl_http_error (const char *host, const struct vdl_pin *pin,
                         const struct vdl_http_response *rs,
                         const char *what);

#endif
