/* SPDX-License-Identifier: BSD-3-Clause */
/* The connection pool and single HTTPS requests (see remote-http.h). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "config.h"
#include "log.h"
#include "remote-http.h"
#include "secret.h"

/* SOAP replies bigger than this are not from a sane server. */
#define MAX_BODY (64u << 20)
/* No byte for this long is a stalled transfer. */
#define CONNECT_TIMEOUT 10L
#define STALL_TIME 30L
#define STALL_SPEED 1024L
#define SMALL_TIMEOUT 120L      /* SOAP calls and HEAD */

struct vdl_http {
  CURL *curl;
  struct vdl_pin_check check;
  char error[CURL_ERROR_SIZE];
  bool spent;                   /* carried a secret: not to be reused */
  /* The last transfer succeeded, so libcurl keeps its connection for
   * the next one (unless the server closed it). */
  bool kept;
  /* the transfer in progress */
  const struct vdl_http_request *rq;
  struct vdl_http_response *rs;
};

struct vdl_http_pool {
  pthread_mutex_t lock;
  pthread_cond_t cond;          /* a connection was given back */
  struct vdl_http **idle;        /* max of them */
  unsigned nidle, made, max;
  char *host;
  const struct vdl_pin *pin;
  /* TLS sessions, resumed by the pool's later connections: one round
   * trip less per connection to a TLS 1.2 server, and no certificate
   * sent again.  Per pool, so only among connections to one server
   * checked against one pin (remote-pin.c). */
  CURLSH *share;
  pthread_mutex_t share_lock;
};

static CURLcode global_status;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init (void)
{
  /* Only OpenSSL lets us check the pin inside the handshake. */
  curl_global_sslset (CURLSSLBACKEND_OPENSSL, NULL, NULL);
  /* libcurl copies the Cookie option and builds each request (Cookie
   * header, Login body with the password) in memory of its own: with
   * this allocator whatever it frees is zeroed first.  Only the first
   * initialisation in the process sets it: an application that set up
   * libcurl before us keeps its own. */
  global_status = curl_global_init_mem (CURL_GLOBAL_DEFAULT, malloc,
                                        vdl_zfree, vdl_zrealloc, strdup,
                                        calloc);
}

static void
share_lock (CURL *h, curl_lock_data data, curl_lock_access access,
            void *opaque)
{
  struct vdl_http_pool *p = opaque;

  (void) h; (void) data; (void) access;
  pthread_mutex_lock (&p->share_lock);
}

static void
share_unlock (CURL *h, curl_lock_data data, void *opaque)
{
  struct vdl_http_pool *p = opaque;

  (void) h; (void) data;
  pthread_mutex_unlock (&p->share_lock);
}

/* The pool's TLS session cache; false if libcurl cannot share one
 * (then every connection makes a full handshake). */
static bool
make_share (struct vdl_http_pool *p)
{
  pthread_mutex_init (&p->share_lock, NULL);
  if (!(p->share = curl_share_init ()))
    return false;
  if (curl_share_setopt (p->share, CURLSHOPT_LOCKFUNC, share_lock) ||
      curl_share_setopt (p->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
      curl_share_setopt (p->share, CURLSHOPT_USERDATA, p) ||
      curl_share_setopt (p->share, CURLSHOPT_SHARE,
                         CURL_LOCK_DATA_SSL_SESSION)) {
    curl_share_cleanup (p->share);
    p->share = NULL;
    return false;
  }
  return true;
}

VixError
vdl_http_pool_new (const char *host, const struct vdl_pin *pin,
                   struct vdl_http_pool **out)
{
  struct vdl_http_pool *p;

  pthread_once (&global_once, global_init);
  if (global_status != CURLE_OK)
    return vdl_error (VIX_E_FAIL, "cannot connect to %s: libcurl failed to "
                      "initialize: %s", host,
                      curl_easy_strerror (global_status));
  p = calloc (1, sizeof *p);
  if (p)
    p->max = vdl_config_https_connections (VDL_HTTP_CONNECTIONS,
                                           VDL_HTTP_CONNECTIONS_MAX);
  if (!p || !(p->host = strdup (host)) ||
      !(p->idle = calloc (p->max, sizeof *p->idle))) {
    if (p)
      free (p->host);
    free (p);
    return vdl_oom ();
  }
  pthread_mutex_init (&p->lock, NULL);
  pthread_cond_init (&p->cond, NULL);
  p->pin = pin;
  if (!make_share (p))
    vdl_debug ("VixDiskLib: %s: libcurl cannot share TLS sessions: every "
               "connection makes a full handshake", host);
  *out = p;
  return VIX_OK;
}

void
vdl_http_pool_free (struct vdl_http_pool *p)
{
  unsigned i;

  if (!p)
    return;
  /* Every connection must have been given back by now. */
  for (i = 0; i < p->nidle; i++) {
    curl_easy_cleanup (p->idle[i]->curl);
    free (p->idle[i]);
  }
  if (p->share)
    curl_share_cleanup (p->share);
  pthread_mutex_destroy (&p->share_lock);
  pthread_mutex_destroy (&p->lock);
  pthread_cond_destroy (&p->cond);
  free (p->idle);
  free (p->host);
  free (p);
}

unsigned
vdl_http_pool_size (const struct vdl_http_pool *p)
{
  return p->max;
}

static size_t on_header (char *data, size_t size, size_t n, void *opaque);
static size_t on_body (char *data, size_t size, size_t n, void *opaque);

/* A handle with everything that is the same for every request. */
static VixError
make_handle (struct vdl_http_pool *p, struct vdl_http **out)
{
  struct vdl_http *h = calloc (1, sizeof *h);
  struct vdl_timeouts t;
  CURL *c;
  VixError err;

  if (!h || !(h->curl = c = curl_easy_init ())) {
    free (h);
    return vdl_oom ();
  }
  h->check.pin = p->pin;
  if (p->share)
    curl_easy_setopt (c, CURLOPT_SHARE, p->share);
  if ((err = vdl_pin_install (c, &h->check, p->host)) != VIX_OK) {
    curl_easy_cleanup (c);
    free (h);
    return err;
  }
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);       /* threads */
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "https");
#else
  curl_easy_setopt (c, CURLOPT_PROTOCOLS, (long) CURLPROTO_HTTPS);
#endif
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  /* Straight to the server, as VMware's library goes: not through the
   * proxy that https_proxy or ALL_PROXY name (containers of CDI and
   * Forklift get the cluster's proxy for internet downloads). */
  curl_easy_setopt (c, CURLOPT_PROXY, "");
  /* One request per connection at a time, as the pool assumes. */
  curl_easy_setopt (c, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
  /* VDDK's NFC time-outs from the InitEx configuration file, if set. */
  vdl_config_timeouts (&t);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS,
                    t.accept_ms ? t.accept_ms : CONNECT_TIMEOUT * 1000);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, STALL_SPEED);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME,
                    t.read_ms ? (t.read_ms + 999) / 1000 : STALL_TIME);
  curl_easy_setopt (c, CURLOPT_TCP_KEEPALIVE, 1L);
  /* One connection per handle, so the pool's size bounds them: a retry
   * on a fresh connection closes the old one. */
  curl_easy_setopt (c, CURLOPT_MAXCONNECTS, 1L);
  /* libcurl allocates its receive buffer for each transfer, and every
   * free is zeroed (global_init): a 4 KiB read must not pay for a large
   * one.  TLS gives at most a 16 KiB record per read anyway. */
  curl_easy_setopt (c, CURLOPT_BUFFERSIZE, 64L * 1024);
  curl_easy_setopt (c, CURLOPT_USERAGENT, "open-vixdisklib");
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, h->error);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, h);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, h);
  *out = h;
  return VIX_OK;
}

VixError
vdl_http_get (struct vdl_http_pool *p, bool fresh, struct vdl_http **out)
{
  struct vdl_http *h = NULL;
  bool make = false;
  VixError err = VIX_OK;

  pthread_mutex_lock (&p->lock);
  while (p->nidle == 0 && p->made == p->max)
    pthread_cond_wait (&p->cond, &p->lock);
  /* A fresh connection is a new handle while the pool has room, so that
   * the idle ones keep their connections for the requests after it. */
  if (p->nidle > 0 && !(fresh && p->made < p->max))
    h = p->idle[--p->nidle];
  else {
    p->made++;
    make = true;
  }
  pthread_mutex_unlock (&p->lock);
  if (make && (err = make_handle (p, &h)) != VIX_OK) {
    pthread_mutex_lock (&p->lock);
    p->made--;
    pthread_cond_signal (&p->cond);
    pthread_mutex_unlock (&p->lock);
  }
  *out = h;
  return err;
}

void
vdl_http_put (struct vdl_http_pool *p, struct vdl_http *h)
{
  if (h->spent) {
    /* Its receive buffer, its response headers and its connection's
     * TLS buffers saw the secret: all are freed (and so zeroed, see
     * global_init) with it.  The next request makes a new one. */
    curl_easy_cleanup (h->curl);
    free (h);
    h = NULL;
  }
  pthread_mutex_lock (&p->lock);
  if (h)
    p->idle[p->nidle++] = h;
  else
    p->made--;
  pthread_cond_signal (&p->cond);
  pthread_mutex_unlock (&p->lock);
}

/* Header lines: the session cookie and where a range starts.  Only the
 * last response's headers count (a 100 Continue has its own). */
static size_t
on_header (char *data, size_t size, size_t n, void *opaque)
{
  struct vdl_http *h = opaque;
  struct vdl_http_response *rs = h->rs;
  size_t len = size * n, vlen;
  const char *v;
  uint64_t start = 0, end = 0, total = 0;
  char line[128];
  int fields;
  static const char set_cookie[] = "set-cookie:";
  static const char range[] = "content-range:";
  static const char session[] = "vmware_soap_session=";
  static const char retry_after[] = "retry-after:";
  long secs;

  if (len > 5 && strncmp (data, "HTTP/", 5) == 0) {
    rs->wrong_range = false;
    rs->retry_after_ms = 0;
    rs->range_total = -1;
    return len;
  }
  /* Only the delay-seconds form; an HTTP date is ignored. */
  if (len > sizeof retry_after &&
      strncasecmp (data, retry_after, sizeof retry_after - 1) == 0 &&
      sscanf (data + sizeof retry_after - 1, " %ld", &secs) == 1 &&
      secs >= 0 && secs < 3600)
    rs->retry_after_ms = secs * 1000;
  if (len > sizeof set_cookie &&
      strncasecmp (data, set_cookie, sizeof set_cookie - 1) == 0) {
    v = data + sizeof set_cookie - 1;
    while (v < data + len && (*v == ' ' || *v == '\t'))
      v++;
    vlen = 0;
    while (v + vlen < data + len && v[vlen] != ';' && v[vlen] != '\r' &&
           v[vlen] != '\n')
      vlen++;
    if (vlen > sizeof session - 1 &&
        strncmp (v, session, sizeof session - 1) == 0) {
      vdl_secret_free (rs->session_cookie);
      rs->session_cookie = vdl_secret_strndup (v, vlen);
    }
  }
  if (h->rq->buf && len > sizeof range &&
      strncasecmp (data, range, sizeof range - 1) == 0) {
    /* "Content-Range: bytes START-END/TOTAL" (TOTAL may be "*"); the
     * header is not NUL-terminated.  One too long to be that is not
     * trusted to say where its bytes start. */
    fields = 0;
    if (len < sizeof line) {
      memcpy (line, data + sizeof range - 1, len - (sizeof range - 1));
      line[len - (sizeof range - 1)] = '\0';
      fields = sscanf (line, " bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64,
                       &start, &end, &total);
    }
    rs->range_total = fields == 3 && end < total && total <= INT64_MAX
      ? (int64_t) total : -1;
    if (fields < 1 || start != h->rq->offset)
      rs->wrong_range = true;
  }
  return len;
}

static size_t
on_body (char *data, size_t size, size_t n, void *opaque)
{
  struct vdl_http *h = opaque;
  const struct vdl_http_request *rq = h->rq;
  struct vdl_http_response *rs = h->rs;
  size_t len = size * n, room;
  char *nb;

  if (rq->buf) {
    if (rq->stop && __atomic_load_n (rq->stop, __ATOMIC_RELAXED))
      return 0;
    curl_easy_getinfo (h->curl, CURLINFO_RESPONSE_CODE, &rs->status);
    if (rs->status != 200 && rs->status != 206)
      return len;               /* an error page: the status says it */
    /* A server ignoring Range sends the file from its start. */
    if (rs->wrong_range || (rs->status == 200 && rq->offset != 0)) {
      rs->wrong_range = true;
      return 0;
    }
    room = rq->len - rs->got;
    memcpy ((char *) rq->buf + rs->got, data, len < room ? len : room);
    rs->got += len < room ? len : room;
    if (rq->progress)
      rq->progress (rq->opaque, rs->got);
    return len <= room ? len : 0;     /* stop once we have our bytes */
  }
  if (rs->body_len + len > MAX_BODY)
    return 0;
  nb = vdl_zrealloc (rs->body, rs->body_len + len + 1);
  if (!nb)
    return 0;
  rs->body = nb;
  memcpy (nb + rs->body_len, data, len);
  rs->body_len += len;
  nb[rs->body_len] = '\0';
  return len;
}

void
vdl_http_perform (struct vdl_http *h, const struct vdl_http_request *rq,
                  struct vdl_http_response *rs)
{
  CURL *c = h->curl;
  struct curl_slist *headers = NULL, *more;
  char range[64], action[128];
  struct vdl_timeouts t;
  curl_off_t length = -1;
  long connects = -1;

  memset (rs, 0, sizeof *rs);
  rs->length = rs->range_total = -1;
  h->rq = rq;
  h->rs = rs;
  h->check.mismatch = false;
  h->error[0] = '\0';
  /* A request carrying a secret (Login: the password out, the new
   * session's cookie back) gets a connection of its own whose TLS
   * buffers are cleansed (see vdl_pin_install), and the handle is not
   * reused.  Data transfers keep their connections and skip the cost
   * of cleansing every record. */
  if (rq->secret)
    h->spent = h->check.cleanse = true;

  curl_easy_setopt (c, CURLOPT_URL, rq->url);
  curl_easy_setopt (c, CURLOPT_COOKIE, rq->cookie);
  curl_easy_setopt (c, CURLOPT_FRESH_CONNECT,
                    rq->fresh || rq->secret ? 1L : 0L);
  curl_easy_setopt (c, CURLOPT_RANGE, NULL);
  /* Small answers have a deadline; data transfers only the stall
   * limit, as a large range on a slow link may take long. */
  vdl_config_timeouts (&t);
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, rq->buf ? 0L :
                    t.request_ms ? t.request_ms : SMALL_TIMEOUT * 1000);
  if (strcmp (rq->method, "POST") == 0) {
    snprintf (action, sizeof action, "SOAPAction: %s", rq->soap_action);
    headers = curl_slist_append (NULL,
                                 "Content-Type: text/xml; charset=utf-8");
    more = headers ? curl_slist_append (headers, action) : NULL;
    /* No "Expect: 100-continue": libcurl sends it for large bodies (and
     * older versions for any over 1 KiB) and then waits for an interim
     * answer that ESXi never sends. */
    more = more ? curl_slist_append (more, "Expect:") : NULL;
    if (!more) {
      curl_slist_free_all (headers);
      rs->code = CURLE_OUT_OF_MEMORY;
      return;
    }
    headers = more;
    curl_easy_setopt (c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, rq->body);
    curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, (long) strlen (rq->body));
  }
  else if (strcmp (rq->method, "HEAD") == 0) {
    curl_easy_setopt (c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  }
  else {
    curl_easy_setopt (c, CURLOPT_HTTPGET, 1L);
    snprintf (range, sizeof range, "%" PRIu64 "-%" PRIu64,
              rq->offset, rq->offset + rq->len - 1);
    curl_easy_setopt (c, CURLOPT_RANGE, range);
  }
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);

  rs->code = curl_easy_perform (c);

  /* libcurl keeps its copy of the cookie until told otherwise: not
   * while the handle waits in the pool. */
  curl_easy_setopt (c, CURLOPT_COOKIE, NULL);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt (c, CURLOPT_POSTFIELDS, NULL);
  curl_slist_free_all (headers);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &rs->status);
  if (rs->code != CURLE_OK)
    curl_easy_getinfo (c, CURLINFO_OS_ERRNO, &rs->os_errno);
  /* No new connection, and one kept from a transfer that succeeded: the
   * request went on that.  (A new connection that failed to connect
   * counts as none either.) */
  if (curl_easy_getinfo (c, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
    rs->reused = connects == 0 && h->kept && !rq->fresh;
  if (curl_easy_getinfo (c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                         &length) == CURLE_OK)
    rs->length = length;
  /* We stopped the transfer ourselves once the range was complete. */
  if (rs->code == CURLE_WRITE_ERROR && rq->buf && !rs->wrong_range &&
      rs->got == rq->len)
    rs->code = CURLE_OK;
  if (h->check.mismatch) {
    rs->pin_mismatch = true;
    memcpy (rs->seen_sha1, h->check.seen_sha1, sizeof rs->seen_sha1);
    memcpy (rs->seen_sha256, h->check.seen_sha256, sizeof rs->seen_sha256);
  }
  snprintf (rs->error, sizeof rs->error, "%s",
            h->error[0] ? h->error : curl_easy_strerror (rs->code));
  h->kept = rs->code == CURLE_OK;
  h->rq = NULL;
  h->rs = NULL;
}

void
vdl_http_response_free (struct vdl_http_response *rs)
{
  /* A Login answer names the new session (on some servers its key is
   * the cookie's value). */
  vdl_zfree (rs->body);
  vdl_secret_free (rs->session_cookie);
  rs->body = rs->session_cookie = NULL;
}

bool
vdl_http_retryable (const struct vdl_http_response *rs)
{
  switch (rs->code) {
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_PARTIAL_FILE:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2_STREAM:
    return true;
  case CURLE_OPERATION_TIMEDOUT:
    /* Stalled after some progress, or on a connection kept from an
     * earlier request (which a NAT, firewall or load balancer may have
     * forgotten while it was idle, dropping its packets without a
     * reset): a new connection may do better.  A server that never
     * answered a new connection will not. */
    return rs->got > 0 || rs->reused;
  default:
    return false;
  }
}

VixError
vdl_http_error (const char *host, const struct vdl_pin *pin,
                const struct vdl_http_response *rs, const char *what)
{
  char want[VDL_FP_TEXT];

  if (rs->pin_mismatch && pin->len == 0)
    return vdl_error (VIX_E_FAIL,
                      "the thumbprint \"%s\" given for %s is not a SHA-1 "
                      "or SHA-256 fingerprint (40 or 64 hex digits, colons "
                      "optional); the server's SHA-1 fingerprint is %s "
                      "(SHA-256 %s): check it by other means before using "
                      "it", pin->given, host, rs->seen_sha1,
                      rs->seen_sha256);
  if (rs->pin_mismatch) {
    vdl_pin_format (pin->digest, pin->len, want);
    if (pin->len == VDL_SHA1_LEN)
      return vdl_error (VIX_E_FAIL,
                        "the TLS certificate of %s does not match the "
                        "thumbprint: expected %s, but the server's SHA-1 "
                        "fingerprint is %s", host, want, rs->seen_sha1);
    return vdl_error (VIX_E_FAIL,
                      "the TLS certificate of %s does not match the "
                      "thumbprint: expected SHA-256 %s, but the server's "
                      "SHA-256 fingerprint is %s (SHA-1 %s)", host, want,
                      rs->seen_sha256, rs->seen_sha1);
  }
  switch (rs->code) {
  case CURLE_COULDNT_RESOLVE_HOST:
    return vdl_error (VIX_E_HOST_NOT_CONNECTED,
                      "cannot find the address of %s (%s): %s",
                      host, what, rs->error);
  case CURLE_COULDNT_CONNECT:
    return vdl_error (VIX_E_HOST_NOT_CONNECTED,
                      "cannot connect to %s (%s): %s", host, what, rs->error);
  case CURLE_OPERATION_TIMEDOUT:
    return vdl_error (VIX_E_HOST_NOT_CONNECTED,
                      "%s stopped answering (%s): %s", host, what, rs->error);
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
    return vdl_error (VIX_E_HOST_NOT_CONNECTED,
                      "TLS handshake with %s failed (%s): %s",
                      host, what, rs->error);
  case CURLE_OUT_OF_MEMORY:
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory (%s on %s)",
                      what, host);
  case CURLE_WRITE_ERROR:
    if (rs->wrong_range)
      return vdl_error (VIX_E_FILE_ERROR,
                        "%s sent other bytes than the range asked for (%s)",
                        host, what);
    return vdl_error (VIX_E_FILE_ERROR,
                      "the answer of %s is too large or memory ran out (%s)",
                      host, what);
  default:
    return vdl_error (VIX_E_HOST_NOT_CONNECTED,
                      "HTTPS request to %s failed (%s): %s",
                      host, what, rs->error);
  }
}
