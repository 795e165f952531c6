/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: finding and loading libvixDiskLib. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <unistd.h>
#include <sys/stat.h>

#include "escape.h"
#include "vddk.h"

struct vddk_api vix;
VixError (*vix_preferred_io_size) (VixDiskLibHandle, uint32_t *);
static uint32_t (*capabilities) (void);
bool direct_calls;
NBDKIT_DLL_PUBLIC int vddk_debug_direct = 1;
int library_version;
char *library_dir;

static void *dl;

/* Tried in this order; the first that loads wins, and its entry is the
 * library version (the library itself is never asked).
 */
static const struct {
  const char *soname;
  bool in_lib64;
  int version;
} candidates[] = {
  { "lib64/libvixDiskLib.so.9", true, 9 },
  { "libvixDiskLib.so.9", false, 9 },
  { "lib64/libvixDiskLib.so.8", true, 8 },
  { "libvixDiskLib.so.8", false, 8 },
  { "lib64/libvixDiskLib.so.7", true, 7 },
  { "libvixDiskLib.so.7", false, 7 },
  { "lib64/libvixDiskLib.so.6", true, 6 },
  { "libvixDiskLib.so.6", false, 6 },
};
#define NR_CANDIDATES (sizeof candidates / sizeof candidates[0])

/* Look up every function.  A missing optional one stays NULL. */
static void
load_symbols (void)
{
  const char *err;

#define STUB(fn)                                                        \
  vix.fn = dlsym (dl, "VixDiskLib_" #fn);                               \
  if (vix.fn == NULL) {                                                 \
    err = dlerror ();                                                   \
    vddk_error ("required VDDK symbol \"VixDiskLib_" #fn "\" is missing. " \
                "VDDK version must be >= 6.5. "                         \
                "See nbdkit-vddk-plugin(1) man page section "           \
                "\"SUPPORTED VERSIONS OF VDDK\". "                      \
                "Original dlopen error: %s", err ? err : "");           \
    exit (EXIT_FAILURE);                                                \
  }
#define OPTIONAL_STUB(fn) vix.fn = dlsym (dl, "VixDiskLib_" #fn);
#include "stubs.h"
#undef STUB
#undef OPTIONAL_STUB
  vix_preferred_io_size = dlsym (dl, "OpenVixDiskLib_GetPreferredIOSize");
  capabilities = dlsym (dl, "OpenVixDiskLib_Capabilities");
  direct_calls = vddk_debug_direct && capabilities &&
    (capabilities () & OPENVIXDISKLIB_CAP_THREAD_SAFE);
}

/* Append sep (unless *out is empty) and text to *out; exits if out of
 * memory. */
static void
append (char **out, const char *sep, const char *text)
{
  char *s;

  if (asprintf (&s, "%s%s%s", *out ? *out : "", *out ? sep : "",
                text) == -1) {
    nbdkit_error ("asprintf: %m");
    exit (EXIT_FAILURE);
  }
  free (*out);
  *out = s;
}

/* Add "NAMES: not found" for the names not there so far. */
static void
flush_missing (char **msg, char **missing)
{
  if (*missing) {
    append (missing, "", ": not found");
    append (msg, "; ", *missing);
    free (*missing);
    *missing = NULL;
  }
}

/* Why nothing loaded, in the order tried: the names that are not there,
 * and each library that is there with dlopen's reason (not a library,
 * a missing dependency), rather than only the first name's "not found"
 * (which hid that a .so.8 was there but broken). */
static void
report_failures (const char *dir, char *const *errors, const char *first)
{
  char *msg = NULL, *missing = NULL, *item, *safe;
  bool any = false;
  size_t i, n = strlen (dir), k;

  for (i = 0; i < NR_CANDIDATES; i++) {
    const char *e = errors[i], *name = candidates[i].soname;
    if (!e) {
      append (&missing, ", ", name);
      continue;
    }
    any = true;
    flush_missing (&msg, &missing);
    /* dlerror starts with the path, which the name already says. */
    k = strlen (name);
    if (strncmp (e, dir, n) == 0 && e[n] == '/' &&
        strncmp (e + n + 1, name, k) == 0 &&
        strncmp (e + n + 1 + k, ": ", 2) == 0)
      e += n + 1 + k + 2;
    if (asprintf (&item, "%s: %s", name, e) == -1) {
      nbdkit_error ("asprintf: %m");
      exit (EXIT_FAILURE);
    }
    append (&msg, "; ", item);
    free (item);
  }
  flush_missing (&msg, &missing);

  if (!any) {
    /* Nothing there at all: the reference plugin's message. */
    safe = escape_controls_dup (first ? first : "dlopen failed");
    nbdkit_error ("%s\n\n"
                  "If '%s' is located on a non-standard path "
                  "you may need to\n"
                  "set libdir=/path/to/vmware-vix-disklib-distrib.\n\n"
                  "See nbdkit-vddk-plugin(1) man page section "
                  "\"LIBRARY LOCATION\" for details.",
                  safe ? safe : first ? first : "dlopen failed",
                  candidates[0].soname);
    free (safe);
  }
  else
    /* One line: dlerror's text names paths, which may hold anything. */
    vddk_error ("cannot load VMware's library (libvixDiskLib) from %s: %s.  "
                "See nbdkit-vddk-plugin(1) man page section "
                "\"LIBRARY LOCATION\".", dir, msg);
  free (msg);
}

/* Returns 0 on success.  On failure, exits if REQUIRED (nbdkit is
 * about to serve and cannot without the library), else returns -1
 * quietly (--dump-plugin then just omits the library lines).
 */
int
load_library (bool required)
{
  const char *dir = get_libdir ();
  char *errors[NR_CANDIDATES] = { NULL }, *first = NULL, *path;
  const char *e;
  size_t i;

  if (dl)
    return 0;

  for (i = 0; i < NR_CANDIDATES; i++) {
    if (asprintf (&path, "%s/%s", dir, candidates[i].soname) == -1) {
      nbdkit_error ("asprintf: %m");
      exit (EXIT_FAILURE);
    }
    dl = dlopen (path, RTLD_NOW);
    if (dl) {
      free (path);
      library_version = candidates[i].version;
      if (asprintf (&library_dir, "%s%s", dir,
                    candidates[i].in_lib64 ? "/lib64" : "") == -1) {
        nbdkit_error ("asprintf: %m");
        exit (EXIT_FAILURE);
      }
      break;
    }
    /* A name that is there but does not load is worth its own reason;
     * one that is not there is only "not found". */
    e = dlerror ();
    if (!e)
      e = "dlopen failed";
    if (i == 0)
      first = strdup (e);
    if (access (path, F_OK) == 0)
      errors[i] = strdup (e);
    free (path);
  }

  if (dl == NULL && required) {
    report_failures (dir, errors, first);
    exit (EXIT_FAILURE);
  }
  for (i = 0; i < NR_CANDIDATES; i++)
    free (errors[i]);
  free (first);
  if (dl == NULL)
    return -1;

  load_symbols ();
  return 0;
}

/* Whether the directories where the dynamic linker looks for what the
 * library needs name dir: its own run path (DT_RUNPATH or DT_RPATH,
 * with $ORIGIN expanded), else the system's.  Then what it needs, now
 * or when it dlopens more later, is found there without
 * LD_LIBRARY_PATH.  Directories are compared by inode, so that a
 * symlinked path still matches.  (glibc leaves dls_flags 0 here: the
 * list cannot tell run paths from the rest.) */
bool
library_search_path_has (const char *dir)
{
  Dl_serinfo size, *info;
  struct stat want, st;
  unsigned int i;
  bool found = false;

  if (!dl || stat (dir, &want) == -1 ||
      dlinfo (dl, RTLD_DI_SERINFOSIZE, &size) == -1)
    return false;
  info = malloc (size.dls_size);
  if (!info)
    return false;
  info->dls_size = size.dls_size;
  info->dls_cnt = size.dls_cnt;
  if (dlinfo (dl, RTLD_DI_SERINFO, info) == 0)
    for (i = 0; i < info->dls_cnt && !found; i++)
      found = stat (info->dls_serpath[i].dls_name, &st) == 0 &&
        st.st_dev == want.st_dev && st.st_ino == want.st_ino;
  free (info);
  return found;
}

/* The library lines of --dump-plugin. */
void
dump_library (void)
{
  Dl_info info;
  char *real;

  if (load_library (false) == -1)
    return;

  printf ("vddk_library_version=%d\n", library_version);

  if (dladdr ((void *) vix.InitEx, &info) && info.dli_fname) {
    real = realpath (info.dli_fname, NULL);
    printf ("vddk_dll=%s\n", real ? real : info.dli_fname);
    free (real);
  }

#define STUB(fn) if (vix.fn) printf ("VixDiskLib_" #fn "=1\n");
#define OPTIONAL_STUB(fn) STUB (fn)
#include "stubs.h"
#undef STUB
#undef OPTIONAL_STUB
}
