/* SPDX-License-Identifier: BSD-3-Clause */
/* vdiskmanager: shared declarations of the tool's files.  The tool uses
 * only the public API of vixDiskLib.h (and its OpenVixDiskLib_
 * extensions, linked directly). */
#ifndef VDM_H
#define VDM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vixDiskLib.h"

/* Exit codes (documented in vdiskmanager.pod). */
#define VDM_EXIT_OK       0
#define VDM_EXIT_FAILED   1     /* the operation failed */
#define VDM_EXIT_USAGE    2     /* bad command line */
#define VDM_EXIT_PROBLEMS 3     /* -e/-R: problems left in the disk */

enum vdm_op {
  OP_NONE, OP_CREATE, OP_CONVERT, OP_GROW, OP_SHRINK, OP_DEFRAG, OP_RENAME,
  OP_CHECK, OP_REPAIR, OP_INFO, OP_DELETABLE, OP_PREPARE,
};

struct vdm_opts {
  enum vdm_op op;
  const char *disk;             /* the positional argument */
  const char *source;           /* -r SOURCE, -n SOURCE */
  const char *size;             /* -s SIZE, -x SIZE */
  const char *adapter;          /* -a */
  const char *type;             /* -t */
  unsigned hw_version;          /* --hw-version, 0: default */
  bool quiet, json, debug, keep_geometry;
};

/* vdm-parse.c: VMware's spellings of sizes, types and adapters. */
int vdm_parse_size (const char *s, uint64_t *sectors);
int vdm_parse_type (const char *s, VixDiskLibDiskType *t);
int vdm_parse_adapter (const char *s, VixDiskLibAdapterType *a);
const char *vdm_type_name (VixDiskLibDiskType t);   /* "monolithic-sparse" */
int vdm_vmware_type (VixDiskLibDiskType t);         /* -t number, or -1 */
const char *vdm_adapter_name (VixDiskLibAdapterType a);

/* vdm-progress.c: a bar on a terminal, JSON lines with --json. */
struct vdm_progress {
  const char *what;             /* "Shrinking" */
  const char *op;               /* "shrink", for JSON */
  bool bar, json;
  int last;
};
void vdm_progress_init (struct vdm_progress *p, const struct vdm_opts *o,
                        const char *what, const char *op);
char vdm_progress_cb (void *data, int percent);   /* VixDiskLibProgressFunc */
void vdm_progress_done (struct vdm_progress *p);

/* vdm-report.c: results and errors, one line each, names escaped. */
void vdm_report_init (const struct vdm_opts *o);  /* for usage errors */
char *vdm_escape (const char *s);   /* control characters escaped, malloc'd */
void vdm_say (const struct vdm_opts *o, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));      /* a line unless -q/--json */
void vdm_json_string (FILE *fp, const char *s);
int vdm_error (const struct vdm_opts *o, const char *file, VixError err,
               const char *doing);
int vdm_usage_error (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));
void vdm_success (const struct vdm_opts *o, const char *op, const char *file,
                  const char *message);

/* vdm-info.c: --info. */
int vdm_info (VixDiskLibConnection conn, const struct vdm_opts *o);

/* vdm-signal.c: SIGINT, SIGTERM and SIGHUP cancel -c and -r; after
 * the library cleaned up, the tool dies of the signal it got. */
void vdm_signals_catch (void);
void vdm_signals_recancel (void);   /* from the progress callback */
void vdm_signals_reraise (void);

/* vdm-ops.c: the operations. */
int vdm_run (const struct vdm_opts *o);

#endif
