/* SPDX-License-Identifier: BSD-3-Clause */
/* The InitEx configuration file (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "log.h"

struct settings {
  struct vdl_timeouts t;
  long table_cache_kb;
  long keepalive_ms;
  long https_connections;
  long https_ignore_changed_areas;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct settings settings;

#define T(field) offsetof (struct settings, t.field)
static const struct {
  const char *key;
  size_t offset;
  const char *unit;
} keys[] = {
  { "vixDiskLib.nfc.AcceptTimeoutMs", T (accept_ms), "ms" },
  { "vixDiskLib.nfc.RequestTimeoutMs", T (request_ms), "ms" },
  { "vixDiskLib.nfc.ReadTimeoutMs", T (read_ms), "ms" },
  /* This library's own. */
  { "vixDiskLib.grainTableCacheKB",
    offsetof (struct settings, table_cache_kb), "KiB" },
  { "vixDiskLib.https.KeepAliveMs",
    offsetof (struct settings, keepalive_ms), "ms" },
  { "vixDiskLib.https.MaxConnections",
    offsetof (struct settings, https_connections), "connections" },
  { "vixDiskLib.https.IgnoreChangedAreas",
    offsetof (struct settings, https_ignore_changed_areas), "(1: on)" },
};
#undef T

static char *
trim (char *s)
{
  char *e;

  while (isspace ((unsigned char) *s))
    s++;
  e = s + strlen (s);
  while (e > s && isspace ((unsigned char) e[-1]))
    *--e = '\0';
  if (e - s >= 2 && *s == '"' && e[-1] == '"') {
    e[-1] = '\0';
    s++;
  }
  return s;
}

/* One "key = value" line into t.  Like VMware's library, lines it
 * cannot use are skipped (with a debug message), never fatal: a server
 * that has already started must not fail to initialise over a comment. */
static void
parse_line (const char *path, unsigned n, char *line, struct settings *t)
{
  char *eq, *key, *value, *end;
  long v;
  size_t i;

  if (n == 1 && strncmp (line, "\xef\xbb\xbf", 3) == 0)
    line += 3;                  /* a UTF-8 byte order mark */
  line = trim (line);
  if (!*line || *line == '#')
    return;
  eq = strchr (line, '=');
  if (!eq) {
    vdl_debug ("VixDiskLib: %s:%u: not a \"key = value\" line, ignored",
               path, n);
    return;
  }
  *eq = '\0';
  key = trim (line);
  value = eq + 1;
  if ((end = strchr (value, '#')) != NULL && !strchr (value, '"'))
    *end = '\0';               /* a trailing comment */
  value = trim (value);
  for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (strcmp (key, keys[i].key) != 0)
      continue;
    errno = 0;
    v = strtol (value, &end, 10);
    if (errno || end == value || *end || v < 0) {
      vdl_debug ("VixDiskLib: %s:%u: %s must be a number (%s), "
                 "not \"%s\": ignored", path, n, key, keys[i].unit, value);
      return;
    }
    *(long *) ((char *) t + keys[i].offset) = v;
    vdl_debug ("VixDiskLib: %s = %ld %s", key, v, keys[i].unit);
    return;
  }
  vdl_debug ("VixDiskLib: %s:%u: %s has no effect in this library",
             path, n, key);
}

VixError
vdl_config_load (const char *path)
{
  struct settings t = { 0 };
  char line[4096];
  unsigned n = 0;
  FILE *f;

  if (path) {
    f = fopen (path, "re");
    if (!f)
      return vdl_error_errno (errno, "cannot read configuration file %s",
                              path);
    while (fgets (line, sizeof line, f))
      parse_line (path, ++n, line, &t);
    fclose (f);
  }
  pthread_mutex_lock (&lock);
  settings = t;
  pthread_mutex_unlock (&lock);
  return VIX_OK;
}

void
vdl_config_timeouts (struct vdl_timeouts *t)
{
  pthread_mutex_lock (&lock);
  *t = settings.t;
  pthread_mutex_unlock (&lock);
}

uint64_t
vdl_config_table_cache_bytes (void)
{
  uint64_t kb;

  pthread_mutex_lock (&lock);
  kb = settings.table_cache_kb;
  pthread_mutex_unlock (&lock);
  return kb > UINT64_MAX / 1024 ? UINT64_MAX : kb * 1024;
}

long
vdl_config_keepalive_ms (void)
{
  long ms;

  pthread_mutex_lock (&lock);
  ms = settings.keepalive_ms;
  pthread_mutex_unlock (&lock);
  return ms;
}

unsigned
vdl_config_https_connections (unsigned dflt, unsigned max)
{
  long n;

  pthread_mutex_lock (&lock);
  n = settings.https_connections;
  pthread_mutex_unlock (&lock);
  if (n == 0)
    return dflt;
  if (n > (long) max) {
    vdl_debug ("VixDiskLib: vixDiskLib.https.MaxConnections = %ld is more "
               "than %u: using %u", n, max, max);
    return max;
  }
  return n;
}

bool
vdl_config_https_ignore_changed_areas (void)
{
  long v;

  pthread_mutex_lock (&lock);
  v = settings.https_ignore_changed_areas;
  pthread_mutex_unlock (&lock);
  return v != 0;
}
