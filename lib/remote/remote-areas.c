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
 *
 * Servers may answer for part of the disk at a time (a real ESXi was
 * seen listing 2000 areas per answer), so a large, fragmented disk can
 * take many calls.  They are made only as far as a caller needs: the
 * plugin's can_extents probe of every NBD connection costs one, and a
 * copy asks for the next part as its block status requests get there.
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

/* No more areas than this are kept (16 bytes each). */
#define MAX_AREAS ((size_t) 1 << 22)
/* Nor more calls made for one file. */
#define MAX_CALLS 100000

struct area {
  uint64_t start, end;
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

bool
vdl_remote_areas_start (struct vdl_remote *r, const char *name,
                        uint64_t size, struct vdl_areas *out)
{
  int key;
  uint64_t capacity;

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
  if (!(out->name = strdup (name)))
    return false;
  out->key = key;
  out->capacity = capacity;
  pthread_mutex_init (&out->lock, NULL);
  return true;
}

static int
by_start (const void *x, const void *y)
{
  const struct area *a = x, *b = y;

  return a->start < b->start ? -1 : a->start > b->start;
}

/* The changedArea list of one DiskChangeInfo for [at, end), clipped to
 * it at the start and to the disk at the end, in *out (sorted, merged);
 * false if it is malformed or too long. */
static bool
answer_areas (const xmlNode *info, uint64_t at, uint64_t end,
              uint64_t capacity, struct area **out, size_t *n)
{
  struct area *a = NULL;
  size_t cap = 0, i, m = 0;
  xmlNode *x;

  *n = 0;
  for (x = vdl_xml_child (info, VDL_NS_VIM, "changedArea"); x;
       x = vdl_xml_next (x, VDL_NS_VIM, "changedArea")) {
    uint64_t start, len, stop;

    if (!vdl_xml_vim_number (x, "start", &start) ||
        !vdl_xml_vim_number (x, "length", &len))
      goto bad;
    if (len == 0)
      continue;
    /* An area must start in the part of the disk answered for. */
    if (start >= end || m == MAX_AREAS)
      goto bad;
    stop = len > capacity - start ? capacity : start + len;
    if (start < at)
      start = at;
    if (start >= stop)
      continue;
    if (m == cap) {
      size_t c = cap ? 2 * cap : 64;
      struct area *grown = realloc (a, c * sizeof *grown);

      if (!grown)
        goto bad;
      a = grown;
      cap = c;
    }
    a[m++] = (struct area) { start, stop };
  }
  if (m > 0)
    qsort (a, m, sizeof *a, by_start);
  /* Overlapping or touching areas merged. */
  for (i = 0; i < m; i++) {
    if (*n > 0 && a[i].start <= a[*n - 1].end) {
      if (a[i].end > a[*n - 1].end)
        a[*n - 1].end = a[i].end;
    }
    else
      a[(*n)++] = a[i];
  }
  *out = a;
  return true;
 bad:
  free (a);
  return false;
}

/* Add the areas of the answer for [covered, end) to the list, all or
 * none. */
static bool
append (struct vdl_areas *l, const struct area *add, size_t n, uint64_t end)
{
  size_t i;
  bool ok;

  pthread_mutex_lock (&l->lock);
  ok = n <= MAX_AREAS - l->n;
  if (ok && l->n + n > l->cap) {
    size_t c = l->cap ? l->cap : 64;
    struct area *grown;

    while (c < l->n + n)
      c *= 2;
    if ((grown = realloc (l->areas, c * sizeof *grown)) != NULL) {
      l->areas = grown;
      l->cap = c;
    }
    else
      ok = false;
  }
  for (i = 0; ok && i < n; i++) {
    struct area *last = l->n ? &l->areas[l->n - 1] : NULL;

    /* An area may run on from the last answer's. */
    if (last && add[i].start <= last->end) {
      if (add[i].end > last->end)
        last->end = add[i].end;
    }
    else
      l->areas[l->n++] = add[i];
  }
  if (ok)
    l->covered = end;
  pthread_mutex_unlock (&l->lock);
  return ok;
}

/* One QueryChangedDiskAreas call, for the part from l->covered. */
static bool
ask_next (struct vdl_remote *r, struct vdl_areas *l)
{
  char *vm = vdl_xml_escape (r->vm), *snap = NULL, *body = NULL;
  uint64_t at = l->covered, start, len, end;
  struct vdl_soap_reply reply;
  struct area *add = NULL;
  size_t n = 0;
  xmlNode *info;
  bool ok = false;

  if (!vm || (r->snapshot && !(snap = vdl_xml_escape (r->snapshot))) ||
      ++l->calls > MAX_CALLS ||
      asprintf (&body, "<QueryChangedDiskAreas><_this type=\"VirtualMachine"
                "\">%s</_this>%s%s%s<deviceKey>%d</deviceKey><startOffset>%"
                PRIu64 "</startOffset><changeId>*</changeId>"
                "</QueryChangedDiskAreas>", vm,
                snap ? "<snapshot type=\"VirtualMachineSnapshot\">" : "",
                snap ? snap : "", snap ? "</snapshot>" : "", l->key, at) < 0) {
    free (snap);
    free (vm);
    return false;
  }
  free (snap);
  free (vm);
  if (vdl_remote_call (r, "QueryChangedDiskAreas", body, &reply) != VIX_OK) {
    vdl_debug ("VixDiskLib: %s: QueryChangedDiskAreas for %s failed (%s)",
               r->host, l->name, reply.fault[0] ? reply.fault : "no fault");
    vdl_soap_reply_free (&reply);
    free (body);
    return false;
  }
  free (body);
  info = vdl_xml_child (reply.response, VDL_NS_VIM, "returnval");
  /* Each answer must cover the next part of the disk, or asking again
   * would not get on (or would leave a part unasked). */
  if (vdl_xml_vim_number (info, "startOffset", &start) &&
      vdl_xml_vim_number (info, "length", &len) && start == at && len > 0) {
    end = len >= l->capacity - at ? l->capacity : at + len;
    ok = answer_areas (info, at, end, l->capacity, &add, &n) &&
      append (l, add, n, end);
  }
  if (!ok)
    vdl_debug ("VixDiskLib: %s: QueryChangedDiskAreas for %s at offset %"
               PRIu64 ": an answer that does not cover the next part of "
               "the disk, or too long", r->host, l->name, at);
  vdl_soap_reply_free (&reply);
  free (add);
  return ok;
}

/* Whether an area ending after offset is known. */
static bool
known_past (struct vdl_areas *l, uint64_t offset)
{
  bool known;

  pthread_mutex_lock (&l->lock);
  known = l->n > 0 && l->areas[l->n - 1].end > offset;
  pthread_mutex_unlock (&l->lock);
  return known;
}

bool
vdl_remote_areas_fill (struct vdl_remote *r, struct vdl_areas *l,
                       uint64_t offset)
{
  uint64_t used = 0;
  size_t i;

  while (!l->failed && l->covered < l->capacity && !known_past (l, offset)) {
    if (!ask_next (r, l)) {
      l->failed = true;
      if (l->covered == 0)
        return false;
      vdl_debug ("VixDiskLib: %s: %s: every sector from offset %" PRIu64
                 " counts as data", r->host, l->name, l->covered);
    }
    else if (l->covered == l->capacity) {
      for (i = 0; i < l->n; i++)
        used += l->areas[i].end - l->areas[i].start;
      vdl_debug ("VixDiskLib: %s: %s: %" PRIu64 " of %" PRIu64 " bytes in "
                 "use in %zu areas (QueryChangedDiskAreas, %u calls)",
                 r->host, l->name, used, l->capacity, l->n, l->calls);
    }
  }
  return true;
}

bool
vdl_remote_areas_next (struct vdl_areas *l, uint64_t offset,
                       uint64_t *data_start, uint64_t *data_end)
{
  size_t lo = 0, hi;

  pthread_mutex_lock (&l->lock);
  /* The first area ending after offset. */
  hi = l->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (l->areas[mid].end <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < l->n) {
    *data_start = l->areas[lo].start > offset ? l->areas[lo].start : offset;
    *data_end = l->areas[lo].end;
  }
  else if (l->covered >= l->capacity || offset >= l->capacity)
    *data_start = *data_end = UINT64_MAX;
  else {
    /* Not asked about yet (or not answered): data. */
    *data_start = offset > l->covered ? offset : l->covered;
    *data_end = l->capacity;
  }
  pthread_mutex_unlock (&l->lock);
  return true;
}

void
vdl_remote_areas_free (struct vdl_areas *l)
{
  if (l->name)
    pthread_mutex_destroy (&l->lock);
  free (l->areas);
  free (l->name);
  memset (l, 0, sizeof *l);
}
