/* SPDX-License-Identifier: BSD-3-Clause */
/* What the tool tells: results, and errors as one line naming the file
 * and the reason (the library's own message, which usually names the
 * file already), or a JSON object with --json.  Names given by the user
 * are printed with their control characters escaped (common/escape.h),
 * so that a name holding a newline or a terminal escape cannot break a
 * line or forge one; the library escapes its own text the same way. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "vdm.h"

/* The options, for messages given before an operation runs (usage
 * errors must be JSON too with --json). */
static const struct vdm_opts *report_opts;

void
vdm_report_init (const struct vdm_opts *o)
{
  report_opts = o;
}

char *
vdm_escape (const char *s)
{
  char *e = escape_controls_dup (s ? s : "");

  if (!e) {
    fputs ("vdiskmanager: out of memory\n", stderr);
    exit (VDM_EXIT_FAILED);
  }
  return e;
}

void
vdm_say (const struct vdm_opts *o, const char *fmt, ...)
{
  va_list args;
  char *msg, *shown;

  if (o->quiet || o->json)
    return;
  va_start (args, fmt);
  if (vasprintf (&msg, fmt, args) == -1)
    msg = NULL;
  va_end (args);
  shown = vdm_escape (msg ? msg : "");
  printf ("%s\n", shown);
  free (shown);
  free (msg);
}

void
vdm_json_string (FILE *fp, const char *s)
{
  if (!s) {
    fputs ("null", fp);
    return;
  }
  fputc ('"', fp);
  for (; *s; s++) {
    unsigned char ch = *s;
    if (ch == '"' || ch == '\\')
      fprintf (fp, "\\%c", ch);
    else if (ch == '\n')
      fputs ("\\n", fp);
    else if (ch < 0x20 || ch == 0x7f)
      fprintf (fp, "\\u%04x", ch);
    else
      fputc (ch, fp);
  }
  fputc ('"', fp);
}

static const char *
op_name (enum vdm_op op)
{
  switch (op) {
  case OP_CREATE: return "create";
  case OP_CONVERT: return "convert";
  case OP_GROW: return "grow";
  case OP_SHRINK: return "shrink";
  case OP_DEFRAG: return "defragment";
  case OP_RENAME: return "rename";
  case OP_CHECK: return "check";
  case OP_REPAIR: return "repair";
  case OP_INFO: return "info";
  case OP_DELETABLE: return "make deletable";
  case OP_PREPARE: return "prepare";
  default: return NULL;
  }
}

/* Whether the operation reads one disk and writes another. */
static bool
two_files (const struct vdm_opts *o)
{
  return o->op == OP_CONVERT || o->op == OP_RENAME;
}

/* The names of a JSON event: "source" and "destination" for convert
 * and rename, "file" for the others. */
static void
json_names (const struct vdm_opts *o, const char *file)
{
  if (two_files (o)) {
    printf (", \"source\": ");
    vdm_json_string (stdout, o->source);
    printf (", \"destination\": ");
    vdm_json_string (stdout, o->disk);
  }
  else {
    printf (", \"file\": ");
    vdm_json_string (stdout, file);
  }
}

int
vdm_error (const struct vdm_opts *o, const char *file, VixError err,
           const char *doing)
{
  char *text = VixDiskLib_GetErrorText (err, NULL), *p;
  char *t = vdm_escape (text ? text : "unknown error");
  char *shown = file ? vdm_escape (file) : NULL, *src = NULL, *dst = NULL;
  int rc = VDM_EXIT_FAILED;

  VixDiskLib_FreeErrorText (text);
  if (VIX_ERROR_CODE (err) == VIX_E_DISK_NEEDSREPAIR ||
      VIX_ERROR_CODE (err) == VIX_E_DISK_CANTREPAIR)
    rc = (o->op == OP_CHECK || o->op == OP_REPAIR) ? VDM_EXIT_PROBLEMS
      : VDM_EXIT_FAILED;
  /* One line, whatever the message holds (escaped already by our
   * library; VMware's might not be linked, but be safe). */
  for (p = t; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  if (o->json) {
    printf ("{\"event\": \"error\", \"operation\": \"%s\"", doing);
    json_names (o, file);
    printf (", \"code\": %llu, \"message\": ",
            (unsigned long long) VIX_ERROR_CODE (err));
    vdm_json_string (stdout, t);
    printf (", \"exit\": %d}\n", rc);
  }
  if (!shown || strstr (t, shown))
    fprintf (stderr, "vdiskmanager: %s failed: %s\n", doing, t);
  else if (two_files (o) && o->source && o->disk) {
    src = vdm_escape (o->source);
    dst = vdm_escape (o->disk);
    fprintf (stderr, "vdiskmanager: %s %s to %s failed: %s\n", doing, src,
             dst, t);
  }
  else
    fprintf (stderr, "vdiskmanager: %s %s failed: %s\n", doing, shown, t);
  free (src);
  free (dst);
  free (shown);
  free (t);
  return rc;
}

int
vdm_usage_error (const char *fmt, ...)
{
  const struct vdm_opts *o = report_opts;
  va_list args;
  char *msg, *shown;

  va_start (args, fmt);
  if (vasprintf (&msg, fmt, args) == -1)
    msg = NULL;
  va_end (args);
  shown = vdm_escape (msg ? msg : fmt);
  if (o && o->json) {
    printf ("{\"event\": \"error\", \"operation\": ");
    vdm_json_string (stdout, op_name (o->op));
    json_names (o, o->disk);
    printf (", \"code\": null, \"message\": ");
    vdm_json_string (stdout, shown);
    printf (", \"exit\": %d}\n", VDM_EXIT_USAGE);
  }
  fprintf (stderr, "vdiskmanager: %s (see vdiskmanager --help)\n", shown);
  free (shown);
  free (msg);
  return VDM_EXIT_USAGE;
}

void
vdm_success (const struct vdm_opts *o, const char *op, const char *file,
             const char *message)
{
  char *shown;

  if (o->json) {
    printf ("{\"event\": \"done\", \"operation\": \"%s\"", op);
    json_names (o, file);
    printf ("}\n");
  }
  else if (!o->quiet) {
    shown = vdm_escape (message);
    printf ("%s\n", shown);
    free (shown);
  }
}
