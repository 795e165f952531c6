/* SPDX-License-Identifier: BSD-3-Clause */
/* Rewriting the extent lines of a descriptor's text, keeping every other
 * byte (comments, unknown keys, the DDB in its order and spelling): Grow
 * changes sizes and adds extents, Rename changes file names. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "descriptor.h"

static const char *const access_words[] = {
  [VDL_ACCESS_RW] = "RW", [VDL_ACCESS_RDONLY] = "RDONLY",
  [VDL_ACCESS_NOACCESS] = "NOACCESS",
};

/* Whether the line [p, e) is an extent line (as the parser decides:
 * by its first word). */
static bool
is_extent_line (const char *p, const char *e)
{
  size_t i;

  while (p < e && (*p == ' ' || *p == '\t'))
    p++;
  for (i = 0; i < sizeof access_words / sizeof *access_words; i++) {
    size_t n = strlen (access_words[i]);
    if ((size_t) (e - p) > n && strncasecmp (p, access_words[i], n) == 0 &&
        (p[n] == ' ' || p[n] == '\t'))
      return true;
  }
  return false;
}

/* Whether an extent line gives an offset after its file name. */
static bool
has_offset (const char *p, const char *e)
{
  const char *q = memchr (p, '"', e - p);

  if (!q || !(q = memchr (q + 1, '"', e - q - 1)))
    return false;
  for (q++; q < e; q++)
    if (!isspace ((unsigned char) *q))
      return true;
  return false;
}

static void
put_extent (FILE *fp, const struct vdl_desc_extent *x, bool offset,
            const char *eol)
{
  fprintf (fp, "%s %" PRIu64 " %s", access_words[x->access], x->sectors,
           vdl_extent_type_name (x->type));
  if (x->filename)
    fprintf (fp, " \"%s\"", x->filename);
  if (x->filename && (offset || vdl_extent_type_offset_always (x->type)))
    fprintf (fp, " %" PRIu64, x->offset);
  fputs (eol, fp);
}

char *
vdl_descriptor_set_extents_text (const char *text,
                                 const struct vdl_desc_extent *x, size_t n)
{
  const char *p = text, *e, *end = text + strlen (text);
  char *buf = NULL;
  size_t size = 0, i = 0;
  bool last_offset = false, done = false;
  const char *eol = "\n";
  FILE *fp = open_memstream (&buf, &size);

  if (!fp)
    return NULL;
  for (; p < end; p = e < end ? e + 1 : end) {
    e = memchr (p, '\n', end - p);
    if (!e)
      e = end;
    if (!is_extent_line (p, e)) {
      /* The first line after the extent lines gets the extents that
       * are new. */
      if (i > 0 && !done) {
        for (; i < n; i++)
          put_extent (fp, &x[i], last_offset, eol);
        done = true;
      }
      fwrite (p, 1, e - p, fp);
      if (e < end)
        fputc ('\n', fp);
      continue;
    }
    eol = e > p && e[-1] == '\r' ? "\r\n" : "\n";
    last_offset = has_offset (p, e);
    if (i < n && !done)
      put_extent (fp, &x[i++], last_offset, eol);
    /* Extent lines beyond n are dropped. */
  }
  if (!done)
    for (; i < n; i++)
      put_extent (fp, &x[i], last_offset, eol);
  if (fclose (fp) != 0) {
    free (buf);
    return NULL;
  }
  return buf;
}

void
vdl_long_content_id (uint32_t cid, char value[33])
{
  unsigned char r[12];

  if (getrandom (r, sizeof r, 0) != sizeof r)
    memset (r, 0x5a, sizeof r);
  snprintf (value, 33, "%02x%02x%02x%02x%02x%02x%02x%02x%02x"
            "%02x%02x%02x%08" PRIx32, r[0], r[1], r[2], r[3], r[4], r[5],
            r[6], r[7], r[8], r[9], r[10], r[11], cid);
}

int
vdl_descriptor_new_cid_text (const struct vdl_descriptor *d, const char *text,
                             struct vdl_content_id *id, char **out)
{
  char *t;

  do {
    if (getrandom (&id->cid, sizeof id->cid, 0) != sizeof id->cid)
      id->cid ^= (uint32_t) (uintptr_t) &id->cid;
  } while (id->cid == d->cid || id->cid >= 0xfffffffe || id->cid == 0);
  id->long_id[0] = '\0';
  *out = vdl_descriptor_replace_cid (text, id->cid);
  if (!*out || !vdl_descriptor_ddb (d, VDL_LONG_CONTENT_ID))
    return 0;
  /* VMware keeps the 128-bit content ID in step: random, ending in the
   * CID. */
  vdl_long_content_id (id->cid, id->long_id);
  t = vdl_descriptor_set_ddb_text (*out, VDL_LONG_CONTENT_ID, id->long_id);
  free (*out);
  *out = t;
  return t ? 0 : -1;
}
