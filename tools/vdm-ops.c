/* SPDX-License-Identifier: BSD-3-Clause */
/* The operations of vdiskmanager, each a few calls of the public API. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vdm.h"

#define DEFAULT_HW_VERSION VIXDISKLIB_HWVERSION_WORKSTATION_5

static const struct vdm_opts *log_opts;
static unsigned repaired;
static unsigned lost;           /* of those, ranges with no good copy */

/* The library's log: check findings are shown (they are the output of
 * -e and -R), the rest only with --debug. */
static void
log_fn (const char *fmt, va_list args)
{
  static const char prefix[] = "VixDiskLib: check: ";
  char *msg;
  size_t n;

  if (vasprintf (&msg, fmt, args) == -1)
    return;
  n = strlen (msg);
  while (n > 0 && msg[n - 1] == '\n')
    msg[--n] = '\0';
  if (strncmp (msg, prefix, sizeof prefix - 1) == 0) {
    const char *m = msg + sizeof prefix - 1;
    repaired += strstr (m, " (repaired)") != NULL;
    lost += strstr (m, " now read as ") != NULL &&
      strstr (m, " (repaired)") != NULL;
    if (log_opts->json) {
      printf ("{\"event\": \"check\", \"message\": ");
      vdm_json_string (stdout, m);
      printf ("}\n");
    }
    else if (!log_opts->quiet)
      printf ("%s\n", m);
  }
  else if (log_opts->debug)
    fprintf (stderr, "%s\n", msg);
  free (msg);
}

static int
op_create (VixDiskLibConnection conn, const struct vdm_opts *o)
{
  VixDiskLibCreateParams p = {
    .diskType = VIXDISKLIB_DISK_MONOLITHIC_SPARSE,
    .adapterType = VIXDISKLIB_ADAPTER_SCSI_LSILOGIC,
    .hwVersion = o->hw_version ? o->hw_version : DEFAULT_HW_VERSION,
  };
  struct vdm_progress pg;
  VixError err;

  if (!o->size)
    return vdm_usage_error ("-c needs the capacity: -s SIZE");
  if (vdm_parse_size (o->size, &p.capacity) == -1)
    return vdm_usage_error ("bad size '%s' (sectors, or a number with KB, "
                            "MB, GB or TB)", o->size);
  if (o->type && vdm_parse_type (o->type, &p.diskType) == -1)
    return vdm_usage_error ("unknown disk type '%s'", o->type);
  if (o->adapter && vdm_parse_adapter (o->adapter, &p.adapterType) == -1)
    return vdm_usage_error ("unknown adapter type '%s' (ide, buslogic, "
                            "lsilogic)", o->adapter);
  vdm_say (o, "Creating disk '%s'", o->disk);
  vdm_progress_init (&pg, o, "Creating", "create");
  err = VixDiskLib_Create (conn, o->disk, &p, vdm_progress_cb, &pg);
  vdm_progress_done (&pg);
  if (err != VIX_OK)
    return vdm_error (o, o->disk, err, "create");
  vdm_success (o, "create", o->disk, "Virtual disk creation successful.");
  return VDM_EXIT_OK;
}

/* A clone keeps the source's adapter and hardware version unless told. */
static void
source_settings (VixDiskLibConnection conn, const char *src,
                 VixDiskLibCreateParams *p)
{
  VixDiskLibHandle h;
  VixDiskLibInfo *info;
  char hw[16];

  if (VixDiskLib_Open (conn, src, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h)
      != VIX_OK)
    return;                     /* Clone reports the problem */
  if (VixDiskLib_GetInfo (h, &info) == VIX_OK) {
    if (info->adapterType != VIXDISKLIB_ADAPTER_UNKNOWN)
      p->adapterType = info->adapterType;
    VixDiskLib_FreeInfo (info);
  }
  if (VixDiskLib_ReadMetadata (h, "virtualHWVersion", hw, sizeof hw, NULL)
      == VIX_OK && atoi (hw) > 0)
    p->hwVersion = atoi (hw);
  VixDiskLib_Close (h);
}

static int
op_convert (VixDiskLibConnection conn, const struct vdm_opts *o)
{
  VixDiskLibCreateParams p = {
    .adapterType = VIXDISKLIB_ADAPTER_SCSI_LSILOGIC,
    .hwVersion = DEFAULT_HW_VERSION,
  };
  struct vdm_progress pg;
  VixError err;

  if (!o->type)
    return vdm_usage_error ("-r needs the type of the new disk: -t TYPE");
  if (vdm_parse_type (o->type, &p.diskType) == -1)
    return vdm_usage_error ("unknown disk type '%s'", o->type);
  source_settings (conn, o->source, &p);
  if (o->adapter && vdm_parse_adapter (o->adapter, &p.adapterType) == -1)
    return vdm_usage_error ("unknown adapter type '%s'", o->adapter);
  if (o->hw_version)
    p.hwVersion = o->hw_version;
  vdm_progress_init (&pg, o, "Converting", "convert");
  err = VixDiskLib_Clone (conn, o->disk, conn, o->source, &p,
                          vdm_progress_cb, &pg, 0);
  vdm_progress_done (&pg);
  if (err != VIX_OK)
    return vdm_error (o, o->disk, err, "convert");
  vdm_success (o, "convert", o->disk, "Virtual disk conversion successful.");
  return VDM_EXIT_OK;
}

static int
op_grow (VixDiskLibConnection conn, const struct vdm_opts *o)
{
  struct vdm_progress pg;
  uint64_t sectors;
  VixError err;

  if (vdm_parse_size (o->size, &sectors) == -1)
    return vdm_usage_error ("bad size '%s' (sectors, or a number with KB, "
                            "MB, GB or TB)", o->size);
  vdm_progress_init (&pg, o, "Growing", "grow");
  err = VixDiskLib_Grow (conn, o->disk, sectors, !o->keep_geometry,
                         vdm_progress_cb, &pg);
  vdm_progress_done (&pg);
  if (err != VIX_OK)
    return vdm_error (o, o->disk, err, "grow");
  vdm_success (o, "grow", o->disk, "Disk expansion completed successfully.");
  return VDM_EXIT_OK;
}

/* Shrink, Defragment and -D work on an open disk. */
static int
op_open_disk (VixDiskLibConnection conn, const struct vdm_opts *o)
{
  static const struct {
    enum vdm_op op;
    const char *name, *what, *done;
  } ops[] = {
    { OP_SHRINK, "shrink", "Shrinking", "Shrink completed successfully." },
    { OP_DEFRAG, "defragment", "Defragmenting",
      "Defragmentation completed successfully." },
    { OP_DELETABLE, "make deletable", "", "The disk is now deletable." },
  };
  struct vdm_progress pg;
  VixDiskLibHandle h;
  VixError err, e;
  size_t i;

  for (i = 0; ops[i].op != o->op; i++)
    ;
  err = VixDiskLib_Open (conn, o->disk, 0, &h);
  if (err != VIX_OK)
    return vdm_error (o, o->disk, err, ops[i].name);
  vdm_progress_init (&pg, o, ops[i].what, ops[i].name);
  if (o->op == OP_SHRINK)
    err = VixDiskLib_Shrink (h, vdm_progress_cb, &pg);
  else if (o->op == OP_DEFRAG)
    err = VixDiskLib_Defragment (h, vdm_progress_cb, &pg);
  else
    err = VixDiskLib_WriteMetadata (h, "deletable", "true");
  vdm_progress_done (&pg);
  if (err != VIX_OK) {
    int rc = vdm_error (o, o->disk, err, ops[i].name);
    VixDiskLib_Close (h);
    return rc;
  }
  e = VixDiskLib_Close (h);
  if (e != VIX_OK)
    return vdm_error (o, o->disk, e, ops[i].name);
  vdm_success (o, ops[i].name, o->disk, ops[i].done);
  return VDM_EXIT_OK;
}

static int
op_rename (const struct vdm_opts *o)
{
  VixError err = VixDiskLib_Rename (o->source, o->disk);

  if (err != VIX_OK)
    return vdm_error (o, o->source, err, "rename");
  vdm_success (o, "rename", o->disk, "Renaming completed successfully.");
  return VDM_EXIT_OK;
}

static int
op_check (VixDiskLibConnection conn, const struct vdm_opts *o)
{
  bool repair = o->op == OP_REPAIR;
  VixError err;
  char msg[4096];

  repaired = lost = 0;
  err = VixDiskLib_CheckRepair (conn, o->disk, repair);
  if (err != VIX_OK)
    return vdm_error (o, o->disk, err, repair ? "repair" : "check");
  /* Metadata with no good copy left is cleared: the disk is consistent
   * again, but not all of its data came back.  Say so plainly. */
  if (lost)
    snprintf (msg, sizeof msg, "The virtual disk, '%s', was corrupted and "
              "has been repaired (%u problem%s fixed), but %u of them had "
              "no good copy: the data there is lost (see above).",
              o->disk, repaired, repaired == 1 ? "" : "s", lost);
  else if (repaired)
    snprintf (msg, sizeof msg, "The virtual disk, '%s', was corrupted and "
              "has been successfully repaired (%u problem%s fixed).",
              o->disk, repaired, repaired == 1 ? "" : "s");
  else
    snprintf (msg, sizeof msg, "Disk chain is consistent: the virtual "
              "disk, '%s', has no problems.", o->disk);
  vdm_success (o, repair ? "repair" : "check", o->disk, msg);
  return VDM_EXIT_OK;
}

int
vdm_run (const struct vdm_opts *o)
{
  VixDiskLibConnection conn;
  VixError err;
  int rc;

  log_opts = o;
  err = VixDiskLib_InitEx (6, 5, log_fn, log_fn, log_fn, NULL, NULL);
  if (err == VIX_OK)
    err = VixDiskLib_ConnectEx (NULL, 0, NULL, NULL, &conn);
  if (err != VIX_OK)
    return vdm_error (o, NULL, err, "initialise");
  if (o->op == OP_CREATE || o->op == OP_CONVERT)
    vdm_signals_catch ();       /* these leave nothing when interrupted */
  switch (o->op) {
  case OP_CREATE: rc = op_create (conn, o); break;
  case OP_CONVERT: rc = op_convert (conn, o); break;
  case OP_GROW: rc = op_grow (conn, o); break;
  case OP_SHRINK:
  case OP_DEFRAG:
  case OP_DELETABLE: rc = op_open_disk (conn, o); break;
  case OP_RENAME: rc = op_rename (o); break;
  case OP_CHECK:
  case OP_REPAIR: rc = op_check (conn, o); break;
  case OP_INFO: rc = vdm_info (conn, o); break;
  default:
    fprintf (stderr, "vdiskmanager: -p (prepare a mounted guest filesystem "
             "for shrinking) needs VMware's disk mounting, which this tool "
             "does not have\n");
    rc = VDM_EXIT_FAILED;
  }
  VixDiskLib_Disconnect (conn);
  VixDiskLib_Exit ();
  if (rc != VDM_EXIT_OK)
    vdm_signals_reraise ();
  return rc;
}
