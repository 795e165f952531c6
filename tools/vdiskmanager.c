/* SPDX-License-Identifier: BSD-3-Clause */
/* vdiskmanager: VMware's vmware-vdiskmanager command line on the open
 * VixDiskLib.  This file reads the command line; vdm-ops.c does the
 * work.  See vdiskmanager.pod. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vdm.h"

#ifndef VDM_VERSION
#define VDM_VERSION "unknown"
#endif

static void
usage (void)
{
  printf (
"Usage: vdiskmanager OPERATION [OPTIONS] DISK\n"
"Offline operations on VMware virtual disks (VMDK), with the options of\n"
"vmware-vdiskmanager.  Operations (one at a time):\n"
"  -c -s SIZE [-a ADAPTER] [-t TYPE] DISK   create a disk\n"
"  -r SOURCE -t TYPE DISK                   convert (clone) SOURCE to DISK\n"
"  -x SIZE DISK                             grow DISK to SIZE\n"
"  -k DISK                                  shrink: give back space of zeros\n"
"  -d DISK                                  defragment\n"
"  -n SOURCE DISK                           rename SOURCE (and its extents)\n"
"  -e DISK                                  check DISK and its parents\n"
"  -R DISK                                  check and repair what can be\n"
"  -D DISK                                  mark DISK deletable\n"
"  --info [--json] DISK                     describe DISK\n"
"Options:\n"
"  -q                 quiet: no messages, no progress bar\n"
"  -a ADAPTER         ide, buslogic, lsilogic (others mean lsilogic)\n"
"  -s SIZE            sectors, or a number with KB, MB, GB or TB\n"
"  -t TYPE            0 single growable, 1 growable split in 2GB files,\n"
"                     2 single preallocated, 3 preallocated split,\n"
"                     4 preallocated ESX (vmfs), 5 stream-optimized,\n"
"                     6 thin ESX; or a name: monolithic-sparse,\n"
"                     split-sparse, monolithic-flat, split-flat, vmfs-flat,\n"
"                     stream-optimized, vmfs-thin, vmfs-sparse\n"
"  --hw-version N     virtual hardware version of new disks\n"
"  --keep-geometry    -x keeps the old cylinder/head/sector geometry\n"
"  --json             JSON lines: progress, results, errors\n"
"  --debug            show the library's log\n"
"Exit status: 0 success, 1 failure, 2 bad command line, 3 the disk has\n"
"problems (-e, -R).  See vdiskmanager(1).\n");
}

/* Set the operation, refusing a second one. */
static int
set_op (struct vdm_opts *o, enum vdm_op op, int ch)
{
  if (o->op != OP_NONE && o->op != op)
    return vdm_usage_error ("only one operation may be given (-%c and "
                            "another)", ch);
  o->op = op;
  return 0;
}

int
main (int argc, char **argv)
{
  enum { OPT_INFO = 256, OPT_JSON, OPT_DEBUG, OPT_HW, OPT_KEEP_GEOMETRY,
         OPT_HELP, OPT_VERSION };
  static const struct option long_opts[] = {
    { "info", no_argument, NULL, OPT_INFO },
    { "json", no_argument, NULL, OPT_JSON },
    { "debug", no_argument, NULL, OPT_DEBUG },
    { "hw-version", required_argument, NULL, OPT_HW },
    { "keep-geometry", no_argument, NULL, OPT_KEEP_GEOMETRY },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
  };
  struct vdm_opts o = { .op = OP_NONE };
  int ch, r = 0;
  char *end;

  opterr = 0;                   /* our own messages, on one line */
  /* With --json even a mistake on the command line before it is told
   * as JSON: look for it (or an abbreviation getopt would take) first. */
  for (int i = 1; i < argc && strcmp (argv[i], "--") != 0; i++) {
    size_t n = strlen (argv[i]);
    if (n >= 3 && n <= 6 && strncmp (argv[i], "--json", n) == 0)
      o.json = true;
  }
  vdm_report_init (&o);
  while ((ch = getopt_long (argc, argv, ":cdkn:pr:x:ReDqa:s:t:h:u:f:",
                            long_opts, NULL)) != -1) {
    switch (ch) {
    case 'c': r = set_op (&o, OP_CREATE, ch); break;
    case 'd': r = set_op (&o, OP_DEFRAG, ch); break;
    case 'k': r = set_op (&o, OP_SHRINK, ch); break;
    case 'n': r = set_op (&o, OP_RENAME, ch); o.source = optarg; break;
    case 'p': r = set_op (&o, OP_PREPARE, ch); break;
    case 'r': r = set_op (&o, OP_CONVERT, ch); o.source = optarg; break;
    case 'x': r = set_op (&o, OP_GROW, ch); o.size = optarg; break;
    case 'R': r = set_op (&o, OP_REPAIR, ch); break;
    case 'e': r = set_op (&o, OP_CHECK, ch); break;
    case 'D': r = set_op (&o, OP_DELETABLE, ch); break;
    case OPT_INFO: r = set_op (&o, OP_INFO, 'i'); break;
    case 'q': o.quiet = true; break;
    case 'a': o.adapter = optarg; break;
    case 's': o.size = optarg; break;
    case 't': o.type = optarg; break;
    case 'h': case 'u': case 'f':
      return vdm_usage_error ("-%c: remote hosts are not supported: copy "
                              "the disk to a local file", ch);
    case OPT_JSON: o.json = true; break;
    case OPT_DEBUG: o.debug = true; break;
    case OPT_KEEP_GEOMETRY: o.keep_geometry = true; break;
    case OPT_HW:
      o.hw_version = strtoul (optarg, &end, 10);
      if (*end || o.hw_version == 0 || o.hw_version > 65535)
        return vdm_usage_error ("bad hardware version '%s'", optarg);
      break;
    case OPT_HELP: usage (); return VDM_EXIT_OK;
    case OPT_VERSION:
      printf ("vdiskmanager (open VixDiskLib) %s\n", VDM_VERSION);
      return VDM_EXIT_OK;
    case ':':
      return vdm_usage_error ("option %s needs an argument",
                              argv[optind - 1]);
    default:
      if (optopt)
        return vdm_usage_error ("unknown option -%c", optopt);
      return vdm_usage_error ("unknown option %s", argv[optind - 1]);
    }
    if (r)
      return r;
  }
  if (o.op == OP_NONE)
    return vdm_usage_error ("no operation given (-c, -r, -x, -k, -d, -n, "
                            "-e, -R, -D or --info)");
  if (optind + 1 != argc)
    return vdm_usage_error ("expected exactly one disk name after the "
                            "options, got %d", argc - optind);
  o.disk = argv[optind];
  return vdm_run (&o);
}
