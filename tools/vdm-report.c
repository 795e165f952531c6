/* SPDX-License-Identifier: BSD-3-Clause */
/* What the tool tells: results, and errors as one line naming the file
 * and the reason (the library's own message, which usually names the
 * file already), or a JSON object with --json. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vdm.h"

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
    else if (ch < 0x20)
      fprintf (fp, "\\u%04x", ch);
    else
      fputc (ch, fp);
  }
  fputc ('"', fp);
}

int
vdm_error (const struct vdm_opts *o, const char *file, VixError err,
           const char *doing)
{
  char *text = VixDiskLib_GetErrorText (err, NULL), *p;
  const char *t = text ? text : "unknown error";
  int rc = VDM_EXIT_FAILED;

  if (VIX_ERROR_CODE (err) == VIX_E_DISK_NEEDSREPAIR ||
      VIX_ERROR_CODE (err) == VIX_E_DISK_CANTREPAIR)
    rc = (o->op == OP_CHECK || o->op == OP_REPAIR) ? VDM_EXIT_PROBLEMS
      : VDM_EXIT_FAILED;
  /* One line, whatever the message holds. */
  for (p = text; p && *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  if (o->json) {
    printf ("{\"event\": \"error\", \"operation\": \"%s\", \"file\": ",
            doing);
    vdm_json_string (stdout, file);
    printf (", \"code\": %llu, \"message\": ",
            (unsigned long long) VIX_ERROR_CODE (err));
    vdm_json_string (stdout, t);
    printf (", \"exit\": %d}\n", rc);
  }
  if (file && strstr (t, file))
    fprintf (stderr, "vdiskmanager: %s failed: %s\n", doing, t);
  else
    fprintf (stderr, "vdiskmanager: %s %s failed: %s\n", doing,
             file ? file : "", t);
  VixDiskLib_FreeErrorText (text);
  return rc;
}

int
vdm_usage_error (const char *fmt, ...)
{
  va_list args;

  fputs ("vdiskmanager: ", stderr);
  va_start (args, fmt);
  vfprintf (stderr, fmt, args);
  va_end (args);
  fputs (" (see vdiskmanager --help)\n", stderr);
  return VDM_EXIT_USAGE;
}

void
vdm_success (const struct vdm_opts *o, const char *op, const char *file,
             const char *message)
{
  if (o->json) {
    printf ("{\"event\": \"done\", \"operation\": \"%s\", \"file\": ", op);
    vdm_json_string (stdout, file);
    printf ("}\n");
  }
  else if (!o->quiet)
    printf ("%s\n", message);
}
