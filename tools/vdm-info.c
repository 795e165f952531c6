/* SPDX-License-Identifier: BSD-3-Clause */
/* vdiskmanager --info: what a disk is (type, capacity, adapter,
 * hardware version, geometry), its chain of links with their content
 * IDs, the files of each link, and how much is allocated: as text, or
 * as one JSON object with --json. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vdm.h"

#define CHUNK VIXDISKLIB_MIN_CHUNK_SIZE
#define MAX_QUERY ((uint64_t) CHUNK * VIXDISKLIB_MAX_CHUNK_NUMBER)

struct info {
  VixDiskLibInfo *vi;
  char hw[32];
  uint64_t allocated;           /* bytes of data in the whole chain */
  uint64_t on_disk;             /* bytes the files take */
  uint32_t n_links;
  OpenVixDiskLibLinkInfo **links;
};

/* Bytes of the disk that hold data, from QueryAllocatedBlocks. */
static VixError
allocated_bytes (VixDiskLibHandle h, uint64_t capacity, uint64_t *out)
{
  uint64_t start = 0, n, end = (capacity + CHUNK - 1) / CHUNK * CHUNK;
  VixDiskLibBlockList *bl;
  VixError err = VIX_OK;
  uint32_t i;

  *out = 0;
  while (start < end && err == VIX_OK) {
    n = end - start < MAX_QUERY ? end - start : MAX_QUERY;
    err = VixDiskLib_QueryAllocatedBlocks (h, start, n, CHUNK, &bl);
    if (err != VIX_OK)
      break;
    for (i = 0; i < bl->numBlocks; i++)
      *out += bl->blocks[i].length * VIXDISKLIB_SECTOR_SIZE;
    VixDiskLib_FreeBlockList (bl);
    start += n;
  }
  return err;
}

static uint64_t
file_bytes (const char *path)
{
  struct stat st;

  return path && stat (path, &st) == 0 ? (uint64_t) st.st_blocks * 512 : 0;
}

static VixError
gather (VixDiskLibHandle h, struct info *in)
{
  OpenVixDiskLibLinkInfo *l;
  VixError err;
  uint32_t i, j;

  err = VixDiskLib_GetInfo (h, &in->vi);
  if (err != VIX_OK)
    return err;
  if (VixDiskLib_ReadMetadata (h, "virtualHWVersion", in->hw, sizeof in->hw,
                               NULL) != VIX_OK)
    in->hw[0] = '\0';
  err = allocated_bytes (h, in->vi->capacity, &in->allocated);
  in->n_links = in->vi->numLinks;
  in->links = calloc (in->n_links, sizeof *in->links);
  if (!in->links)
    return VIX_E_OUT_OF_MEMORY;
  for (i = 0; i < in->n_links && err == VIX_OK; i++) {
    err = OpenVixDiskLib_GetLinkInfo (h, i, &in->links[i]);
    if (err != VIX_OK)
      break;
    l = in->links[i];
    /* The descriptor file counts too, unless it is an extent itself. */
    for (j = 0; j < l->numExtents; j++)
      if (l->extents[j].fileName &&
          strcmp (l->extents[j].fileName, l->fileName) == 0)
        break;
    if (j == l->numExtents)
      in->on_disk += file_bytes (l->fileName);
    for (j = 0; j < l->numExtents; j++)
      in->on_disk += l->extents[j].allocatedBytes;
  }
  return err;
}

static void
free_info (struct info *in)
{
  uint32_t i;

  for (i = 0; in->links && i < in->n_links; i++)
    OpenVixDiskLib_FreeLinkInfo (in->links[i]);
  free (in->links);
  VixDiskLib_FreeInfo (in->vi);
}

static void
print_json (const struct vdm_opts *o, const struct info *in)
{
  const OpenVixDiskLibLinkInfo *top = in->links[0];
  uint32_t i, j;

  printf ("{\n  \"file\": ");
  vdm_json_string (stdout, o->disk);
  printf (",\n  \"create-type\": ");
  vdm_json_string (stdout, top->createType);
  printf (",\n  \"type\": \"%s\",\n  \"vmware-type\": %d,\n",
          vdm_type_name (top->diskType), vdm_vmware_type (top->diskType));
  printf ("  \"capacity\": %" PRIu64 ",\n  \"sectors\": %" PRIu64 ",\n",
          in->vi->capacity * VIXDISKLIB_SECTOR_SIZE, in->vi->capacity);
  printf ("  \"adapter\": \"%s\",\n  \"hardware-version\": %s,\n",
          vdm_adapter_name (in->vi->adapterType), in->hw[0] ? in->hw : "null");
  printf ("  \"geometry\": {\"cylinders\": %u, \"heads\": %u, "
          "\"sectors\": %u},\n", in->vi->physGeo.cylinders,
          in->vi->physGeo.heads, in->vi->physGeo.sectors);
  printf ("  \"uuid\": ");
  vdm_json_string (stdout, in->vi->uuid);
  printf (",\n  \"allocated-bytes\": %" PRIu64 ",\n  \"disk-bytes\": %"
          PRIu64 ",\n  \"chain\": [", in->allocated, in->on_disk);
  for (i = 0; i < in->n_links; i++) {
    const OpenVixDiskLibLinkInfo *l = in->links[i];
    printf ("%s\n    {\"file\": ", i ? "," : "");
    vdm_json_string (stdout, l->fileName);
    printf (", \"create-type\": ");
    vdm_json_string (stdout, l->createType);
    printf (", \"cid\": \"%08x\", \"parent-cid\": \"%08x\", \"parent\": ",
            l->cid, l->parentCid);
    vdm_json_string (stdout, l->parentFileNameHint);
    printf (", \"sectors\": %" PRIu64 ",\n     \"extents\": [", l->capacity);
    for (j = 0; j < l->numExtents; j++) {
      const OpenVixDiskLibExtentInfo *x = &l->extents[j];
      printf ("%s\n       {\"file\": ", j ? "," : "");
      vdm_json_string (stdout, x->fileName);
      printf (", \"type\": \"%s\", \"access\": \"%s\", \"sectors\": %" PRIu64
              ", \"offset\": %" PRIu64 ", \"file-bytes\": %" PRIu64
              ", \"allocated-bytes\": %" PRIu64 "}", x->type, x->access,
              x->sectors, x->offset, x->fileBytes, x->allocatedBytes);
    }
    printf ("]}");
  }
  printf ("\n  ]\n}\n");
}

/* Text from the disk or the user, escaped for one printf, then freed. */
struct shown {
  char *s[8];
  size_t n;
};

static const char *
esc (struct shown *k, const char *s)
{
  return k->s[k->n++] = vdm_escape (s);
}

static void
release (struct shown *k)
{
  while (k->n)
    free (k->s[--k->n]);
}

#define S(x) esc (&k, (x))
#define FLUSH() release (&k)

static void
print_text (const struct vdm_opts *o, const struct info *in)
{
  const OpenVixDiskLibLinkInfo *top = in->links[0];
  int vt = vdm_vmware_type (top->diskType);
  uint32_t i, j;
  struct shown k = { .n = 0 };

  printf ("disk:             %s\n", S (o->disk));
  printf ("type:             %s (%s", S (top->createType),
          vdm_type_name (top->diskType));
  FLUSH ();
  if (vt >= 0)
    printf (", -t %d", vt);
  printf (")\n");
  printf ("capacity:         %" PRIu64 " bytes (%" PRIu64 " sectors)\n",
          in->vi->capacity * VIXDISKLIB_SECTOR_SIZE, in->vi->capacity);
  printf ("adapter:          %s\n", vdm_adapter_name (in->vi->adapterType));
  printf ("hardware version: %s\n", in->hw[0] ? S (in->hw) : "-");
  printf ("geometry:         %u/%u/%u (cylinders/heads/sectors)\n",
          in->vi->physGeo.cylinders, in->vi->physGeo.heads,
          in->vi->physGeo.sectors);
  printf ("uuid:             %s\n", in->vi->uuid ? S (in->vi->uuid) : "-");
  FLUSH ();
  printf ("allocated:        %" PRIu64 " bytes of data\n", in->allocated);
  printf ("on disk:          %" PRIu64 " bytes\n", in->on_disk);
  printf ("chain:            %u link%s\n", in->n_links,
          in->n_links == 1 ? "" : "s");
  for (i = 0; i < in->n_links; i++) {
    const OpenVixDiskLibLinkInfo *l = in->links[i];
    printf ("  [%u] %s\n      %s, CID %08x", i, S (l->fileName),
            S (l->createType), l->cid);
    if (l->parentFileNameHint)
      printf (", parent %s (parentCID %08x)", S (l->parentFileNameHint),
              l->parentCid);
    printf ("\n");
    FLUSH ();
    for (j = 0; j < l->numExtents; j++) {
      const OpenVixDiskLibExtentInfo *x = &l->extents[j];
      printf ("      %s %" PRIu64 " %s %s", S (x->access), x->sectors,
              S (x->type), S (x->fileName));
      if (x->fileName)
        printf (" (%" PRIu64 " bytes, %" PRIu64 " allocated)", x->fileBytes,
                x->allocatedBytes);
      printf ("\n");
      FLUSH ();
    }
  }
}
#undef S
#undef FLUSH

int
vdm_info (VixDiskLibConnection conn, const struct vdm_opts *o)
{
  struct info in = { 0 };
  VixDiskLibHandle h;
  VixError err;
  int rc;

  err = VixDiskLib_Open (conn, o->disk, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h);
  if (err != VIX_OK)
    return vdm_error (o, o->disk, err, "info");
  err = gather (h, &in);
  if (err == VIX_OK) {
    if (o->json)
      print_json (o, &in);
    else
      print_text (o, &in);
    rc = VDM_EXIT_OK;
  }
  else
    rc = vdm_error (o, o->disk, err, "info");
  free_info (&in);
  VixDiskLib_Close (h);
  return rc;
}
