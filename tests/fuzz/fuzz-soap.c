/* SPDX-License-Identifier: BSD-3-Clause */
/* The vSphere client's handling of SOAP replies (lib/remote/remote-soap.c,
 * remote-session.c, remote-props.c, remote-vm.c, remote-datastore.c,
 * remote-areas.c, remote-xml.c): a whole session from connect to
 * disconnect, with every reply taken from the input.
 *
 * This file replaces the HTTPS layer (lib/remote/remote-http.c): it defines
 * every vdl_http_* function, so the linker takes them from here and
 * never pulls remote-http.o out of the static library.  Each POST is
 * answered with the next part of the input (parts are separated by
 * FUZZ_SEP lines).  A part starting with "status NNN\n" has that HTTP
 * status (200 otherwise); a part "drop" is a dropped connection (which
 * the client retries); when the parts run out the server is
 * unreachable.
 *
 * The first part holds options, one letter each: 's' open a snapshot,
 * 'c' connect with a session cookie instead of logging in, 'v' name
 * the disk by a /vmfs/volumes path, 'a' ask which areas of the 1 GiB
 * base "[ds1] vm/vm-flat.vmdk" are in use.  The session then checks the VM,
 * a disk of it, resolves a /vmfs/volumes path, makes a datastore URL and
 * logs out: the calls vdl_remote_connect, VixDiskLib_Open and the
 * datastore reads make.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "remote.h"
#include "remote-areas.h"
#include "remote-internal.h"
#include "secret.h"
#include "fuzz.h"

#define MAX_PARTS 32

static struct fuzz_part parts[MAX_PARTS];
static size_t n_parts, next_part;

struct vdl_http_pool {
  int in_use;
};

struct vdl_http {
  int unused;
};

VixError
vdl_http_pool_new (const char *host, const struct vdl_pin *pin,
                   struct vdl_http_pool **out)
{
  (void) host;
  (void) pin;
  *out = calloc (1, sizeof **out);
  return *out ? VIX_OK : vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
}

void
vdl_http_pool_free (struct vdl_http_pool *p)
{
  if (p)
    FUZZ_CHECK (p->in_use == 0);        /* every connection came back */
  free (p);
}

VixError
vdl_http_get (struct vdl_http_pool *p, bool fresh, struct vdl_http **out)
{
  (void) fresh;
  *out = calloc (1, sizeof **out);
  if (!*out)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  p->in_use++;
  return VIX_OK;
}

void
vdl_http_put (struct vdl_http_pool *p, struct vdl_http *h)
{
  p->in_use--;
  free (h);
}

void
vdl_http_perform (struct vdl_http *h, const struct vdl_http_request *rq,
                  struct vdl_http_response *rs)
{
  const struct fuzz_part *part;
  const char *body;
  size_t len;

  (void) h;
  memset (rs, 0, sizeof *rs);
  rs->length = -1;
  FUZZ_CHECK (strcmp (rq->method, "POST") == 0 && rq->body);
  if (next_part >= n_parts) {
    rs->code = CURLE_COULDNT_CONNECT;
    snprintf (rs->error, sizeof rs->error, "no more replies");
    return;
  }
  part = &parts[next_part++];
  body = (const char *) part->data;
  len = part->size;
  if (len == 4 && memcmp (body, "drop", 4) == 0) {
    rs->code = CURLE_RECV_ERROR;
    snprintf (rs->error, sizeof rs->error, "connection dropped");
    return;
  }
  rs->status = 200;
  if (len >= 11 && memcmp (body, "status ", 7) == 0 && body[10] == '\n') {
    rs->status = strtol (body + 7, NULL, 10);
    body += 11;
    len -= 11;
  }
  /* As remote-http.c delivers bodies: malloc'd and NUL-terminated. */
  rs->body = malloc (len + 1);
  FUZZ_CHECK (rs->body != NULL);
  memcpy (rs->body, body, len);
  rs->body[len] = '\0';
  rs->body_len = len;
  /* As remote-http.c keeps cookies: in secret memory. */
  rs->session_cookie = vdl_secret_strdup ("vmware_soap_session=\"fuzz\"");
}

void
vdl_http_response_free (struct vdl_http_response *rs)
{
  free (rs->body);
  vdl_secret_free (rs->session_cookie);
  memset (rs, 0, sizeof *rs);
}

bool
vdl_http_retryable (const struct vdl_http_response *rs)
{
  return rs->code == CURLE_RECV_ERROR;
}

VixError
vdl_http_error (const char *host, const struct vdl_pin *pin,
                const struct vdl_http_response *rs, const char *what)
{
  (void) pin;
  return vdl_error (VIX_E_HOST_NOT_CONNECTED, "%s: %s: %s", host, what,
                    rs->error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct vdl_remote_params p = {
    .server = "esx.fuzz",
    .thumbprint = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD",
    .user = "root", .password = "secret", .vm_moref = "vm-16",
  };
  struct vdl_remote *r;
  const char *opts;
  size_t olen;
  char *s = NULL;
  bool vmfs;

  if (size > 256 * 1024)
    return 0;
  n_parts = fuzz_split (data, size, parts, MAX_PARTS);
  next_part = 1;
  opts = (const char *) parts[0].data;
  olen = parts[0].size;
  if (memchr (opts, 's', olen))
    p.snapshot_moref = "snapshot-1";
  if (memchr (opts, 'c', olen))
    p.cookie = "52a3c0de-fuzz";
  vmfs = memchr (opts, 'v', olen) != NULL;

  if (vdl_remote_connect (&p, &r) != VIX_OK)
    return 0;
  vdl_remote_check_disk (r, vmfs ? "/vmfs/volumes/ds1/vm/vm.vmdk"
                         : "[ds1] vm/vm.vmdk");
  if (vdl_remote_resolve (r, "/vmfs/volumes/5f1e-uuid/vm/vm-000001.vmdk",
                          &s) == VIX_OK) {
    FUZZ_CHECK (s[0] == '[');
    free (s);
  }
  s = NULL;
  if (vdl_remote_file_url (r, "[ds1] vm/vm-flat.vmdk", &s) == VIX_OK) {
    FUZZ_CHECK (strncmp (s, "https://esx.fuzz:443/folder/", 28) == 0);
    free (s);
  }
  if (memchr (opts, 'a', olen)) {
    const uint64_t size = (uint64_t) 1 << 30;
    struct vdl_areas areas;
    uint64_t at = 0, start, end;

    if (vdl_remote_areas_start (r, "[ds1] vm/vm-flat.vmdk", size, &areas)) {
      /* Areas in order, disjoint, inside the file, asked for as a
       * block status walk needs them. */
      while (vdl_remote_areas_fill (r, &areas, at) &&
             vdl_remote_areas_next (&areas, at, &start, &end) &&
             start != UINT64_MAX) {
        FUZZ_CHECK (start >= at && end > start && end <= size);
        at = end;
      }
      vdl_remote_areas_free (&areas);
    }
  }
  vdl_remote_disconnect (r);
  return 0;
}
