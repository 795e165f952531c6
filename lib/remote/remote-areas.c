/* SPDX-License-Identifier: BSD-3-Clause */
/* Which areas of a flat disk file are in use, as the server says.
 *
 * Over HTTPS a datastore file has no holes to find: a thin disk's -flat
 * file reads back its unused areas as zeros, and a client that copies
 * only data (nbdcopy, CDI's importer, virt-v2v through block status)
 * would fetch all of it over the network.  With changed block tracking
 * on, vSphere's QueryChangedDiskAreas with change ID "*" lists the
 * areas of a disk that are in use (VMware's VDDK programming guide,
 * "About Changed Block Tracking"), computed from the same file holes;
 * it may list more than is in use, never less.
 *
 * The answer is for the whole virtual disk (every layer of its chain at
 * that point), so it is used only for the file that holds the base of
 * that disk byte for byte: "X-flat.vmdk" of a disk "X.vmdk" of the VM
 * (of the snapshot read, if one is), exactly the device's capacity
 * long, and placed by the extent code at the disk's start, alone
 * (remote-download.c checks that).  A superset of the base's own data
 * is what is needed there.
 * Anything else (change tracking off, a powered-on VM read without a
 * snapshot, which the API refuses, a fault, an answer that does not
 * add up) leaves the file with every byte reported as data, as before.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "remote-areas.h"
#include "remote-internal.h"
#include "remote-xml.h"

/* An answer listing more areas than this is not kept (16 bytes each). */
#define MAX_AREAS ((size_t) 1 << 22)
/* Nor one that needs more calls than this to cover the disk. */
#define MAX_CALLS 100000

struct area {
  uint64_t start, end;
};

/* Areas as the answers come, grown by doubling. */
struct area_list {
  struct area *a;
  size_t n, cap;
};

/* The disk whose base is the flat file name, if its areas may be asked
 * for: sets *key and *capacity. */
static bool
disk_of_flat (struct vdl_remote *r, const char *name, int *key,
              uint64_t *capacity)
{
  static const char flat[] = "-flat.vmdk";
  size_t n = strlen (name), i;
  char *descriptor;
  bool found = false;

  if (n <= sizeof flat - 1 || strcmp (name + n - (sizeof flat - 1), flat))
    return false;
  if (asprintf (&descriptor, "%.*s.vmdk", (int) (n - (sizeof flat - 1)),
                name) < 0)
    return false;
  pthread_mutex_lock (&r->lock);
  for (i = 0; i < r->nbackings && !found; i++) {
    const struct vdl_backing *b = &r->backings[i];

    if (b->of_snapshot == (r->snapshot != NULL) && b->device_key >= 0 &&
        b->capacity > 0 && strcmp (b->file, descriptor) == 0) {
      *key = b->device_key;
      *capacity = b->capacity;
      found = true;
    }
  }
  pthread_mutex_unlock (&r->lock);
  free (descriptor);
  return found;
}

/* Append the changedArea list of one DiskChangeInfo, clipped to the
 * disk; false if the answer is malformed or too long. */
static bool
add_areas (const xmlNode *info, uint64_t capacity, struct area_list *l)
{
  xmlNode *x;

  for (x = vdl_xml_child (info, VDL_NS_VIM, "changedArea"); x;
       x = vdl_xml_next (x, VDL_NS_VIM, "changedArea")) {
    uint64_t start, len;
    struct area *m;

    if (!vdl_xml_vim_number (x, "start", &start) ||
        !vdl_xml_vim_number (x, "length", &len))
      return false;
    if (len == 0 || start >= capacity)
      continue;
    if (len > capacity - start)
      len = capacity - start;
    if (l->n == MAX_AREAS)
      return false;
    if (l->n == l->cap) {
      size_t cap = l->cap ? 2 * l->cap : 64;

      if (!(m = realloc (l->a, cap * sizeof *m)))
        return false;
      l->a = m;
      l->cap = cap;
    }
    l->a[l->n++] = (struct area) { start, start + len };
  }
  return true;
}

static int
by_start (const void *x, const void *y)
{
  const struct area *a = x, *b = y;

  return a->start < b->start ? -1 : a->start > b->start;
}

/* Sort and merge overlapping or touching areas. */
static size_t
merge (struct area *a, size_t n)
{
  size_t i, m = 0;

  qsort (a, n, sizeof *a, by_start);
  for (i = 0; i < n; i++) {
    if (m > 0 && a[i].start <= a[m - 1].end) {
      if (a[i].end > a[m - 1].end)
        a[m - 1].end = a[i].end;
    }
    else
      a[m++] = a[i];
  }
  return m;
}

/* Every QueryChangedDiskAreas call that covering the disk takes. */
static bool
query (struct vdl_remote *r, const char *name, int key, uint64_t capacity,
       struct area_list *l)
{
  char *vm = vdl_xml_escape (r->vm), *snap = NULL, *body = NULL;
  uint64_t at = 0;
  unsigned calls = 0;
  bool ok = vm != NULL;

  if (ok && r->snapshot)
    ok = (snap = vdl_xml_escape (r->snapshot)) != NULL;
  while (ok && at < capacity) {
    struct vdl_soap_reply reply;
    xmlNode *info;
    uint64_t start, len;

    free (body);
    body = NULL;
    if (++calls > MAX_CALLS ||
        asprintf (&body, "<QueryChangedDiskAreas><_this type=\"VirtualMachine"
                  "\">%s</_this>%s%s%s<deviceKey>%d</deviceKey><startOffset>%"
                  PRIu64 "</startOffset><changeId>*</changeId>"
                  "</QueryChangedDiskAreas>", vm,
                  snap ? "<snapshot type=\"VirtualMachineSnapshot\">" : "",
                  snap ? snap : "", snap ? "</snapshot>" : "", key, at) < 0) {
      ok = false;
      break;
    }
    if (vdl_remote_call (r, "QueryChangedDiskAreas", body, &reply)
        != VIX_OK) {
      vdl_debug ("VixDiskLib: %s: QueryChangedDiskAreas for %s failed (%s)",
                 r->host, name, reply.fault[0] ? reply.fault : "no fault");
      vdl_soap_reply_free (&reply);
      ok = false;
      break;
    }
    info = vdl_xml_child (reply.response, VDL_NS_VIM, "returnval");
    /* Each answer must cover the next part of the disk, or the loop
     * would not end (or would leave a part unasked). */
    if (!vdl_xml_vim_number (info, "startOffset", &start) ||
        !vdl_xml_vim_number (info, "length", &len) || start != at ||
        len == 0 || !add_areas (info, capacity, l)) {
      vdl_debug ("VixDiskLib: %s: QueryChangedDiskAreas for %s at offset %"
                 PRIu64 ": an answer that does not cover the next part of "
                 "the disk, or too long", r->host, name, at);
      ok = false;
    }
    else
      at = len >= capacity - at ? capacity : at + len;
    vdl_soap_reply_free (&reply);
  }
  free (body);
  free (snap);
  free (vm);
  return ok;
}

bool
vdl_remote_areas_load (struct vdl_remote *r, const char *name,
                       uint64_t size, struct vdl_areas *out)
{
  struct area_list l = { 0 };
  uint64_t capacity, used = 0;
  int key;
  size_t i;

  memset (out, 0, sizeof *out);
  if (vdl_config_https_ignore_changed_areas () ||
      !disk_of_flat (r, name, &key, &capacity))
    return false;
  if (!r->change_tracking) {
    vdl_debug ("VixDiskLib: %s: changed block tracking is off for VM %s: "
               "every sector of %s counts as data", r->host, r->vm, name);
    return false;
  }
  if (r->powered_on && !r->snapshot) {
    /* The API answers for a running VM only with a snapshot. */
    vdl_debug ("VixDiskLib: %s: VM %s is powered on and no snapshot is "
               "read: every sector of %s counts as data", r->host, r->vm,
               name);
    return false;
  }
  if (capacity != size) {
    vdl_debug ("VixDiskLib: %s: %s is %" PRIu64 " bytes, its disk %" PRIu64
               ": not asking which areas are in use", r->host, name, size,
               capacity);
    return false;
  }
  if (!query (r, name, key, capacity, &l)) {
    free (l.a);
    return false;
  }
  l.n = merge (l.a, l.n);
  for (i = 0; i < l.n; i++)
    used += l.a[i].end - l.a[i].start;
  vdl_debug ("VixDiskLib: %s: %s: %" PRIu64 " of %" PRIu64 " bytes in use "
             "in %zu areas (QueryChangedDiskAreas)", r->host, name, used,
             capacity, l.n);
  out->areas = l.a;
  out->n = l.n;
  return true;
}

bool
vdl_remote_areas_next (const struct vdl_areas *areas, uint64_t offset,
                       uint64_t *data_start, uint64_t *data_end)
{
  const struct area *a = areas->areas;
  size_t lo = 0, hi = areas->n;

  /* The first area ending after offset. */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (a[mid].end <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == areas->n) {
    *data_start = *data_end = UINT64_MAX;
    return true;
  }
  *data_start = a[lo].start > offset ? a[lo].start : offset;
  *data_end = a[lo].end;
  return true;
}

void
vdl_remote_areas_free (struct vdl_areas *areas)
{
  free (areas->areas);
  memset (areas, 0, sizeof *areas);
}
