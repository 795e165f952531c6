/* SPDX-License-Identifier: BSD-3-Clause */
/* The spellings vmware-vdiskmanager accepts, and ours: sizes ("10GB",
 * "850MB", "2048" sectors), disk types (VMware's numbers 0-6 and names)
 * and adapter types. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vdm.h"

int
vdm_parse_size (const char *s, uint64_t *sectors)
{
  static const struct { const char *unit; double bytes; } units[] = {
    { "", 512 }, { "s", 512 }, { "sectors", 512 },
    { "k", 1024.0 }, { "kb", 1024.0 }, { "kib", 1024.0 },
    { "m", 1048576.0 }, { "mb", 1048576.0 }, { "mib", 1048576.0 },
    { "g", 1073741824.0 }, { "gb", 1073741824.0 }, { "gib", 1073741824.0 },
    { "t", 1099511627776.0 }, { "tb", 1099511627776.0 },
    { "tib", 1099511627776.0 },
  };
  char *end;
  double v, bytes;
  size_t i;

  if (!s || !isdigit ((unsigned char) *s))
    return -1;
  errno = 0;
  v = strtod (s, &end);
  if (errno || v <= 0)
    return -1;
  for (i = 0; i < sizeof units / sizeof *units; i++)
    if (strcasecmp (end, units[i].unit) == 0) {
      bytes = v * units[i].bytes;
      /* Whole sectors, rounding a fraction up. */
      if (bytes / 512 >= 18446744073709551615.0)
        return -1;
      *sectors = (uint64_t) ceil (bytes / 512);
      return *sectors ? 0 : -1;
    }
  return -1;
}

static const struct {
  VixDiskLibDiskType t;
  int vmware;                   /* vmware-vdiskmanager -t number */
  const char *name, *create_type;
} types[] = {
  { VIXDISKLIB_DISK_MONOLITHIC_SPARSE, 0, "monolithic-sparse",
    "monolithicSparse" },
  { VIXDISKLIB_DISK_SPLIT_SPARSE, 1, "split-sparse", "twoGbMaxExtentSparse" },
  { VIXDISKLIB_DISK_MONOLITHIC_FLAT, 2, "monolithic-flat", "monolithicFlat" },
  { VIXDISKLIB_DISK_SPLIT_FLAT, 3, "split-flat", "twoGbMaxExtentFlat" },
  { VIXDISKLIB_DISK_VMFS_FLAT, 4, "vmfs-flat", "vmfs" },
  { VIXDISKLIB_DISK_STREAM_OPTIMIZED, 5, "stream-optimized",
    "streamOptimized" },
  { VIXDISKLIB_DISK_VMFS_THIN, 6, "vmfs-thin", "vmfsThin" },
  { VIXDISKLIB_DISK_VMFS_SPARSE, -1, "vmfs-sparse", "vmfsSparse" },
};

int
vdm_parse_type (const char *s, VixDiskLibDiskType *t)
{
  size_t i;
  char *end;
  long n;

  if (!s || !*s)
    return -1;
  n = strtol (s, &end, 10);
  for (i = 0; i < sizeof types / sizeof *types; i++)
    if ((!*end && types[i].vmware >= 0 && n == types[i].vmware) ||
        strcasecmp (s, types[i].name) == 0 ||
        strcasecmp (s, types[i].create_type) == 0) {
      *t = types[i].t;
      return 0;
    }
  return -1;
}

const char *
vdm_type_name (VixDiskLibDiskType t)
{
  size_t i;

  for (i = 0; i < sizeof types / sizeof *types; i++)
    if (types[i].t == t)
      return types[i].name;
  return "unknown";
}

int
vdm_vmware_type (VixDiskLibDiskType t)
{
  size_t i;

  for (i = 0; i < sizeof types / sizeof *types; i++)
    if (types[i].t == t)
      return types[i].vmware;
  return -1;
}

int
vdm_parse_adapter (const char *s, VixDiskLibAdapterType *a)
{
  /* VMware: "Pass lsilogic for other adapter types"; a disk's
   * descriptor knows only these three, so the others mean lsilogic. */
  static const char *const scsi[] = {
    "lsilogic", "lsisas1068", "pvscsi", "scsi", "sata", "nvme",
  };
  size_t i;

  if (!s)
    return -1;
  if (strcasecmp (s, "ide") == 0) {
    *a = VIXDISKLIB_ADAPTER_IDE;
    return 0;
  }
  if (strcasecmp (s, "buslogic") == 0 || strcasecmp (s, "scsi-buslogic") == 0) {
    *a = VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC;
    return 0;
  }
  for (i = 0; i < sizeof scsi / sizeof *scsi; i++)
    if (strcasecmp (s, scsi[i]) == 0 || (strncasecmp (s, "scsi-", 5) == 0 &&
                                          strcasecmp (s + 5, scsi[i]) == 0)) {
      *a = VIXDISKLIB_ADAPTER_SCSI_LSILOGIC;
      return 0;
    }
  return -1;
}

const char *
vdm_adapter_name (VixDiskLibAdapterType a)
{
  switch (a) {
  case VIXDISKLIB_ADAPTER_IDE: return "ide";
  case VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC: return "buslogic";
  case VIXDISKLIB_ADAPTER_SCSI_LSILOGIC: return "lsilogic";
  default: return "unknown";
  }
}
