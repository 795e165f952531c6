/* SPDX-License-Identifier: BSD-3-Clause */
/* Grain-table extent files: the hosted sparse (KDMV), ESX COWD and
 * seSparse header parsers (lib/vmdk/sparse-format.c), then the extent opened
 * as the library opens it (lib/vmdk/extent-grained.c, extent-sparse.c,
 * grained.c, extent-sesparse.c):
 * grain directory, tables loaded on use, grain lookups and reads.
 *
 * The input is the extent file.  Headers that parse must survive being
 * written back (kdmv_header_format, cowd_header_format: Create and
 * the stream writer's footer) unchanged.
 */
#include <endian.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "extent.h"
#include "sparse-format.h"
#include "store.h"
#include "fuzz.h"

static void
check_kdmv_round_trip (const struct kdmv_header *h)
{
  unsigned char buf[512];
  struct kdmv_header g;
  char msg[200];

  kdmv_header_format (h, buf);
  FUZZ_CHECK (kdmv_header_parse (buf, &g, msg, sizeof msg) == 0);
  FUZZ_CHECK (g.version == h->version && g.flags == h->flags);
  FUZZ_CHECK (g.capacity == h->capacity && g.grain_size == h->grain_size);
  FUZZ_CHECK (g.desc_offset == h->desc_offset);
  FUZZ_CHECK (g.desc_size == h->desc_size);
  FUZZ_CHECK (g.gtes_per_gt == h->gtes_per_gt);
  FUZZ_CHECK (g.rgd_offset == h->rgd_offset && g.gd_offset == h->gd_offset);
  FUZZ_CHECK (g.overhead == h->overhead);
  FUZZ_CHECK (g.unclean_shutdown == h->unclean_shutdown);
  FUZZ_CHECK (g.compress_algorithm == h->compress_algorithm);
  FUZZ_CHECK (kdmv_num_gts (h) > 0);
}

static void
check_cowd_round_trip (const struct kdmv_header *h, const unsigned char *in)
{
  unsigned char buf[COWD_HEADER_SIZE];
  struct kdmv_header g;
  uint32_t n_gd;
  char msg[200];

  memcpy (&n_gd, in + 24, 4);
  cowd_header_format (h, le32toh (n_gd), buf);
  FUZZ_CHECK (cowd_header_parse (buf, &g, msg, sizeof msg) == 0);
  FUZZ_CHECK (g.capacity == h->capacity && g.grain_size == h->grain_size);
  FUZZ_CHECK (g.gd_offset == h->gd_offset && g.overhead == h->overhead);
  FUZZ_CHECK (g.free_sector == h->free_sector);
  FUZZ_CHECK (kdmv_num_gts (h) > 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  unsigned char hdr[COWD_HEADER_SIZE] = { 0 };
  struct vdl_desc_extent desc = { .access = VDL_ACCESS_RW, .sectors = 1 };
  struct vdl_extent_open_args a = {
    .store = &vdl_local_store, .desc = &desc, .lock = VDL_LOCK_READ,
  };
  VixError (*open) (const struct vdl_extent_open_args *,
                    struct vdl_extent **) = NULL;
  struct kdmv_header h;
  struct sesparse_header se;
  struct vdl_extent *e;
  char msg[200], path[128];
  static bool configured;

  if (size > 1024 * 1024)
    return 0;
  if (!configured) {
    FUZZ_CHECK (vdl_config_load (fuzz_tiny_cache_config ()) == VIX_OK);
    configured = true;
  }
  memcpy (hdr, data, size < sizeof hdr ? size : sizeof hdr);

  if (kdmv_header_parse (hdr, &h, msg, sizeof msg) == 0) {
    check_kdmv_round_trip (&h);
    desc.sectors = h.capacity;
  }
  if (cowd_header_parse (hdr, &h, msg, sizeof msg) == 0) {
    check_cowd_round_trip (&h, hdr);
    desc.sectors = h.capacity;
  }
  if (sesparse_header_parse (hdr, &se, msg, sizeof msg) == 0)
    desc.sectors = se.capacity;

  /* The open function link.c would pick for such a file. */
  if (size >= 4 && memcmp (data, "KDMV", 4) == 0)
    open = vdl_extent_sparse_open;
  else if (size >= 4 && memcmp (data, "COWD", 4) == 0)
    open = vdl_extent_cowd_open;
  else if (size >= 8 && memcmp (data, "\xbe\xba\xfe\xca\0\0\0\0", 8) == 0)
    open = vdl_extent_sesparse_open;
  if (!open)
    return 0;

  fuzz_put_file ("extent.vmdk", data, size, path, sizeof path);
  a.path = path;
  if (open (&a, &e) != VIX_OK)
    return 0;
  FUZZ_CHECK (e->sectors == desc.sectors);
  fuzz_scan_extent (e);
  e->ops->close (e);
  return 0;
}
