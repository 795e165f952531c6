/* SPDX-License-Identifier: BSD-3-Clause */
/* Descriptor parsing follows what real files contain rather than the
 * strictest reading of VMware's note: comments anywhere, keys matched
 * case-insensitively, optional spaces around '=', CRLF line ends, and
 * lines classified by their content rather than by section headings.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "descriptor.h"

/* The extent types as the grammar knows them: their word, whether an
 * extent line names a file, and whether the offset after the file name
 * is always written (otherwise only when it was there). */
static const struct {
  const char *word;
  bool no_file, offset_always;
} extent_words[] = {
  [VDL_EXTENT_FLAT] = { .word = "FLAT", .offset_always = true },
  [VDL_EXTENT_SPARSE] = { .word = "SPARSE" },
  [VDL_EXTENT_ZERO] = { .word = "ZERO", .no_file = true },
  [VDL_EXTENT_VMFS] = { .word = "VMFS" },
  [VDL_EXTENT_VMFSSPARSE] = { .word = "VMFSSPARSE" },
  [VDL_EXTENT_SESPARSE] = { .word = "SESPARSE" },
  [VDL_EXTENT_VMFSRDM] = { .word = "VMFSRDM" },
  [VDL_EXTENT_VMFSRAW] = { .word = "VMFSRAW" },
};

const char *
vdl_extent_type_name (enum vdl_extent_type t)
{
  return extent_words[t].word;
}

bool
vdl_extent_type_has_file (enum vdl_extent_type t)
{
  return !extent_words[t].no_file;
}

bool
vdl_extent_type_offset_always (enum vdl_extent_type t)
{
  return extent_words[t].offset_always;
}

static int
fail (char *err, size_t errlen, unsigned lineno, const char *fmt, ...)
{
  va_list args;
  int n = 0;

  if (lineno)
    n = snprintf (err, errlen, "descriptor line %u: ", lineno);
  if (n < 0 || (size_t) n >= errlen)
    n = 0;
  va_start (args, fmt);
  vsnprintf (err + n, errlen - n, fmt, args);
  va_end (args);
  return -1;
}

static char *
trim (char *s)
{
  char *e;

  while (isspace ((unsigned char) *s))
    s++;
  e = s + strlen (s);
  while (e > s && isspace ((unsigned char) e[-1]))
    *--e = '\0';
  return s;
}

/* Remove one pair of surrounding double quotes, if present. */
static char *
unquote (char *s)
{
  size_t n = strlen (s);

  if (n >= 2 && s[0] == '"' && s[n-1] == '"') {
    s[n-1] = '\0';
    return s + 1;
  }
  return s;
}

static int
parse_u64 (const char *s, int base, uint64_t *out)
{
  char *end;

  if (!*s || *s == '-' || isspace ((unsigned char) *s))
    return -1;
  errno = 0;
  *out = strtoull (s, &end, base);
  return errno || *end ? -1 : 0;
}

static int
parse_hex32 (const char *s, uint32_t *out)
{
  uint64_t v;

  if (strlen (s) > 8 || parse_u64 (s, 16, &v) == -1)
    return -1;
  *out = v;
  return 0;
}

static int
parse_access (const char *word, enum vdl_access *a)
{
  if (strcasecmp (word, "RW") == 0) *a = VDL_ACCESS_RW;
  else if (strcasecmp (word, "RDONLY") == 0) *a = VDL_ACCESS_RDONLY;
  else if (strcasecmp (word, "NOACCESS") == 0) *a = VDL_ACCESS_NOACCESS;
  else return -1;
  return 0;
}

/* ACCESS SIZE TYPE ["FILENAME" [OFFSET]] */
static int
parse_extent (char *line, unsigned lineno, struct vdl_desc_extent *x,
              char *err, size_t errlen)
{
  char *p = line, *word, *q;
  size_t i;
  bool found = false;

  memset (x, 0, sizeof *x);
  word = strsep (&p, " \t");
  if (parse_access (word, &x->access) == -1)
    return fail (err, errlen, lineno, "bad access mode '%s'", word);
  while (p && isspace ((unsigned char) *p)) p++;
  word = strsep (&p, " \t");
  if (!word || parse_u64 (word, 10, &x->sectors) == -1 || x->sectors == 0)
    return fail (err, errlen, lineno, "bad extent size '%s'",
                 word ? word : "");
  while (p && isspace ((unsigned char) *p)) p++;
  word = strsep (&p, " \t");
  if (!word || !*word)
    return fail (err, errlen, lineno, "extent type missing");
  for (i = 0; i < sizeof extent_words / sizeof *extent_words; i++) {
    if (strcasecmp (word, extent_words[i].word) == 0) {
      x->type = i;
      found = true;
    }
  }
  if (!found)
    return fail (err, errlen, lineno, "unknown extent type '%s'", word);

  while (p && isspace ((unsigned char) *p)) p++;
  if (!vdl_extent_type_has_file (x->type)) {
    if (p && *p)
      return fail (err, errlen, lineno, "a ZERO extent takes no file name");
    return 0;
  }
  if (!p || *p != '"')
    return fail (err, errlen, lineno, "%s extent needs a quoted file name",
                 vdl_extent_type_name (x->type));
  q = strchr (p + 1, '"');
  if (!q || q == p + 1)
    return fail (err, errlen, lineno, "bad quoted file name");
  *q = '\0';
  x->filename = strdup (p + 1);
  if (!x->filename)
    return fail (err, errlen, lineno, "out of memory");
  p = trim (q + 1);
  if (*p) {
    /* Offset; VMware also writes it after VMFS.  Further fields (device
     * extents on Windows) are ignored. */
    word = strsep (&p, " \t");
    if (parse_u64 (word, 10, &x->offset) == -1)
      return fail (err, errlen, lineno, "bad extent offset '%s'", word);
  }
  return 0;
}

static bool
looks_like_extent (const char *line)
{
  enum vdl_access a;
  char word[16];
  size_t n = strcspn (line, " \t");

  if (n == 0 || n >= sizeof word)
    return false;
  memcpy (word, line, n);
  word[n] = '\0';
  return parse_access (word, &a) == 0;
}

static int
add_ddb (struct vdl_descriptor *d, const char *key, const char *value)
{
  struct vdl_desc_entry *n = realloc (d->ddb, (d->n_ddb + 1) * sizeof *n);

  if (!n)
    return -1;
  d->ddb = n;
  n[d->n_ddb].key = strdup (key);
  n[d->n_ddb].value = strdup (value);
  if (!n[d->n_ddb].key || !n[d->n_ddb].value) {
    free (n[d->n_ddb].key);
    free (n[d->n_ddb].value);
    return -1;
  }
  d->n_ddb++;
  return 0;
}

static int
parse_header_key (struct vdl_descriptor *d, const char *key, char *value,
                  unsigned lineno, char *err, size_t errlen)
{
  uint64_t v;

  if (strcasecmp (key, "version") == 0) {
    if (parse_u64 (value, 10, &v) == -1 || v < 1 || v > 3)
      return fail (err, errlen, lineno, "unsupported descriptor version '%s'",
                   value);
    d->version = v;
  }
  else if (strcasecmp (key, "CID") == 0) {
    if (parse_hex32 (value, &d->cid) == -1)
      return fail (err, errlen, lineno, "bad CID '%s'", value);
  }
  else if (strcasecmp (key, "parentCID") == 0) {
    if (parse_hex32 (value, &d->parent_cid) == -1)
      return fail (err, errlen, lineno, "bad parentCID '%s'", value);
  }
  else if (strcasecmp (key, "createType") == 0) {
    free (d->create_type);
    if (!(d->create_type = strdup (unquote (value))))
      return fail (err, errlen, lineno, "out of memory");
  }
  else if (strcasecmp (key, "parentFileNameHint") == 0) {
    free (d->parent_hint);
    if (!(d->parent_hint = strdup (unquote (value))))
      return fail (err, errlen, lineno, "out of memory");
  }
  /* encoding, isNativeSnapshot, changeTrackPath and unknown keys are
   * informational: accepted and ignored. */
  return 0;
}

int
vdl_descriptor_parse (const char *text, size_t len, struct vdl_descriptor *d,
                      char *err, size_t errlen)
{
  char *copy, *p, *line, *eq;
  unsigned lineno = 0;
  size_t n;

  memset (d, 0, sizeof *d);
  d->version = 1;
  d->parent_cid = 0xffffffff;
  len = strnlen (text, len);
  copy = malloc (len + 1);
  if (!copy)
    return fail (err, errlen, 0, "out of memory");
  memcpy (copy, text, len);
  copy[len] = '\0';

  for (p = copy; (line = strsep (&p, "\n")) != NULL; ) {
    lineno++;
    line = trim (line);
    if (*line == '\0' || *line == '#')
      continue;
    if (looks_like_extent (line)) {
      struct vdl_desc_extent *x;
      x = realloc (d->extents, (d->n_extents + 1) * sizeof *x);
      if (!x)
        goto oom;
      d->extents = x;
      if (parse_extent (line, lineno, &x[d->n_extents], err, errlen) == -1) {
        free (x[d->n_extents].filename);
        goto error;
      }
      d->n_extents++;
      continue;
    }
    eq = strchr (line, '=');
    if (!eq || eq == line) {
      fail (err, errlen, lineno, "cannot understand '%.60s'", line);
      goto error;
    }
    *eq = '\0';
    line = trim (line);
    if (strncasecmp (line, "ddb.", 4) == 0) {
      if (add_ddb (d, line, unquote (trim (eq + 1))) == -1)
        goto oom;
    }
    else if (parse_header_key (d, line, trim (eq + 1), lineno,
                               err, errlen) == -1)
      goto error;
  }

  if (!d->create_type) {
    fail (err, errlen, 0, "descriptor has no createType");
    goto error;
  }
  for (n = 0; n < d->n_extents; n++) {
    if (!vdl_extent_type_has_file (d->extents[n].type))
      continue;
    if (d->extents[n].filename[0] == '\0') {
      fail (err, errlen, 0, "extent %zu has an empty file name", n + 1);
      goto error;
    }
  }
  free (copy);
  return 0;

 oom:
  fail (err, errlen, lineno, "out of memory");
 error:
  free (copy);
  vdl_descriptor_free (d);
  return -1;
}

void
vdl_descriptor_free (struct vdl_descriptor *d)
{
  size_t i;

  for (i = 0; i < d->n_extents; i++)
    free (d->extents[i].filename);
  for (i = 0; i < d->n_ddb; i++) {
    free (d->ddb[i].key);
    free (d->ddb[i].value);
  }
  free (d->extents);
  free (d->ddb);
  free (d->create_type);
  free (d->parent_hint);
  memset (d, 0, sizeof *d);
}

const char *
vdl_descriptor_ddb (const struct vdl_descriptor *d, const char *key)
{
  size_t i;

  /* The last definition wins, as when a file is read top to bottom. */
  for (i = d->n_ddb; i-- > 0; )
    if (strcasecmp (d->ddb[i].key, key) == 0)
      return d->ddb[i].value;
  return NULL;
}

static const char *const access_names[] = {
  [VDL_ACCESS_RW] = "RW", [VDL_ACCESS_RDONLY] = "RDONLY",
  [VDL_ACCESS_NOACCESS] = "NOACCESS",
};

char *
vdl_descriptor_format (const struct vdl_descriptor *d)
{
  char *buf = NULL;
  size_t size = 0, i;
  FILE *fp = open_memstream (&buf, &size);

  if (!fp)
    return NULL;
  fprintf (fp, "# Disk DescriptorFile\n"
           "version=%u\n"
           "encoding=\"UTF-8\"\n"
           "CID=%08" PRIx32 "\n"
           "parentCID=%08" PRIx32 "\n"
           "isNativeSnapshot=\"no\"\n"
           "createType=\"%s\"\n",
           d->version, d->cid, d->parent_cid, d->create_type);
  if (d->parent_hint)
    fprintf (fp, "parentFileNameHint=\"%s\"\n", d->parent_hint);
  fprintf (fp, "\n# Extent description\n");
  for (i = 0; i < d->n_extents; i++) {
    const struct vdl_desc_extent *x = &d->extents[i];
    fprintf (fp, "%s %" PRIu64 " %s", access_names[x->access], x->sectors,
             vdl_extent_type_name (x->type));
    if (x->filename)
      fprintf (fp, " \"%s\"", x->filename);
    if (vdl_extent_type_offset_always (x->type))
      fprintf (fp, " %" PRIu64, x->offset);
    fprintf (fp, "\n");
  }
  fprintf (fp, "\n# The Disk Data Base\n#DDB\n\n");
  for (i = 0; i < d->n_ddb; i++)
    fprintf (fp, "%s = \"%s\"\n", d->ddb[i].key, d->ddb[i].value);
  if (fclose (fp) != 0) {
    free (buf);
    return NULL;
  }
  return buf;
}

/* Blanks inside a line, as trim() skips them when parsing: a line the
 * parser reads as setting key must be found here too. */
static bool
is_blank (char c)
{
  return c != '\n' && isspace ((unsigned char) c);
}

/* Find the last line of text that sets key ("key = value", any case,
 * any spaces): its start, its end (the newline or the end of text) and
 * where the value starts.  False if there is none. */
static bool
find_key_line (const char *text, const char *key, const char **line,
               const char **line_end, const char **value)
{
  const char *end = text + strlen (text), *p, *e, *k;
  size_t klen = strlen (key);
  bool found = false;

  for (p = text; p < end; p = e + 1) {
    e = memchr (p, '\n', end - p);
    if (!e)
      e = end;
    k = p;
    while (k < e && is_blank (*k)) k++;
    if ((size_t) (e - k) <= klen || strncasecmp (k, key, klen) != 0)
      continue;
    k += klen;
    while (k < e && is_blank (*k)) k++;
    if (k >= e || *k != '=')
      continue;
    k++;
    while (k < e && is_blank (*k)) k++;
    *line = p;
    *line_end = e;
    *value = k;
    found = true;
  }
  return found;
}

char *
vdl_descriptor_replace_cid (const char *text, uint32_t new_cid)
{
  const char *line, *line_end, *val, *val_end;
  char *out;

  if (!find_key_line (text, "CID", &line, &line_end, &val))
    return NULL;
  /* The whole value, not only its hex digits: the parser also took
   * "0x1f" or "+1f", and a CID written before their rest would not
   * parse.  Trailing blanks (a CR) stay. */
  for (val_end = line_end; val_end > val && is_blank (val_end[-1]);
       val_end--)
    ;
  if (asprintf (&out, "%.*s%08" PRIx32 "%s", (int) (val - text), text,
                new_cid, val_end) == -1)
    return NULL;
  return out;
}

int
vdl_descriptor_set_ddb (struct vdl_descriptor *d, const char *key,
                        const char *value)
{
  size_t i;
  char *v;

  for (i = d->n_ddb; i-- > 0; )
    if (strcasecmp (d->ddb[i].key, key) == 0) {
      if (!(v = strdup (value)))
        return -1;
      free (d->ddb[i].value);
      d->ddb[i].value = v;
      return 0;
    }
  return add_ddb (d, key, value);
}

char *
vdl_descriptor_set_ddb_text (const char *text, const char *key,
                             const char *value)
{
  const char *line, *line_end, *val;
  char *out = NULL;
  int r;

  if (find_key_line (text, key, &line, &line_end, &val))
    r = asprintf (&out, "%.*s%s = \"%s\"%s", (int) (line - text), text,
                  key, value, line_end);
  else
    r = asprintf (&out, "%s%s%s = \"%s\"\n", text,
                  *text && text[strlen (text) - 1] != '\n' ? "\n" : "",
                  key, value);
  return r == -1 ? NULL : out;
}
