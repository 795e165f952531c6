/* SPDX-License-Identifier: BSD-3-Clause */
/* What the fuzz targets share.  Each target defines
 * LLVMFuzzerTestOneInput; it is linked either with libFuzzer (clang,
 * make fuzz) or with replay.c (any compiler, make check), which feeds it
 * the files of the committed corpus and crashers.
 *
 * A target must accept any input: a library error is an expected
 * outcome, and only crashes, hangs, leaks, sanitizer reports and the
 * explicit checks (FUZZ_CHECK) are findings.  Work per input is bounded
 * (a header may claim a disk of 512 TiB) so that a slow input means a
 * real problem, not a big disk.
 */
#ifndef VDL_FUZZ_H
#define VDL_FUZZ_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A broken invariant: report it the way libFuzzer reports crashes. */
#define FUZZ_CHECK(cond)                                                \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
               #cond);                                                  \
      abort ();                                                         \
    }                                                                   \
  } while (0)

/* A configuration file (for VixDiskLib_InitEx or vdl_config_load)
 * giving the grain-table cache a budget of two tables, so that any disk
 * of more than 64 MiB drops, writes back and reloads tables
 * (lib/vmdk/table-cache.c) while a target reads and writes it.  Its path,
 * valid while the process runs. */
static inline const char *
fuzz_tiny_cache_config (void)
{
  static const char text[] = "vixDiskLib.grainTableCacheKB = 4\n";
  static char path[64];
  int fd;

  if (path[0])
    return path;
  fd = memfd_create ("fuzz.conf", 0);
  FUZZ_CHECK (fd >= 0);
  FUZZ_CHECK (write (fd, text, sizeof text - 1) == (ssize_t) sizeof text - 1);
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  return path;
}

/* Inputs holding several files separate them with this line. */
#define FUZZ_SEP "\n--vmdk-part--\n"

struct fuzz_part {
  const uint8_t *data;
  size_t size;
};

/* Split data at each FUZZ_SEP into at most max parts; the last part
 * keeps any further separators. */
static inline size_t
fuzz_split (const uint8_t *data, size_t size, struct fuzz_part *parts,
            size_t max)
{
  const size_t seplen = sizeof FUZZ_SEP - 1;
  const uint8_t *p;
  size_t n = 0;

  while (n + 1 < max &&
         (p = memmem (data, size, FUZZ_SEP, seplen)) != NULL) {
    parts[n].data = data;
    parts[n].size = p - data;
    n++;
    size -= p - data + seplen;
    data = p + seplen;
  }
  parts[n].data = data;
  parts[n].size = size;
  return n + 1;
}

/* A private directory for the files of one input, on tmpfs when there
 * is one (the library is driven through real files and descriptors, as
 * in use), removed at exit. */
static char fuzz_dir_path[64];

/* Remove every file of the private directory. */
static inline void
fuzz_clear_dir (void)
{
  DIR *d = opendir (fuzz_dir_path);
  struct dirent *e;
  char path[sizeof fuzz_dir_path + sizeof e->d_name];

  if (!d)
    return;
  while ((e = readdir (d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf (path, sizeof path, "%s/%s", fuzz_dir_path, e->d_name);
    unlink (path);
  }
  closedir (d);
}

static inline void
fuzz_dir_remove (void)
{
  fuzz_clear_dir ();
  rmdir (fuzz_dir_path);
}

static inline const char *
fuzz_dir (void)
{
  if (!fuzz_dir_path[0]) {
    snprintf (fuzz_dir_path, sizeof fuzz_dir_path, "%s/vdl-fuzz.XXXXXX",
              access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp (fuzz_dir_path)) {
      perror ("fuzz: mkdtemp");
      exit (2);
    }
    atexit (fuzz_dir_remove);
  }
  return fuzz_dir_path;
}

/* Write name in the private directory with these bytes (replacing it);
 * its path goes into path. */
static inline void
fuzz_put_file (const char *name, const uint8_t *data, size_t size,
               char *path, size_t pathlen)
{
  int fd;

  snprintf (path, pathlen, "%s/%s", fuzz_dir (), name);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd == -1 || (size && write (fd, data, size) != (ssize_t) size) ||
      close (fd) == -1) {
    perror (path);
    exit (2);
  }
}

/* For targets that drive one extent (lib/vmdk/extent.h included first). */
#ifdef VDL_EXTENT_H

#define FUZZ_WINDOW 65536       /* sectors looked at, from each end */
#define FUZZ_READ_BUDGET 8192   /* sectors read per input */

/* Map the first and last FUZZ_WINDOW sectors of an extent and read what
 * it says is data (up to the budget).  Errors end a window: they are
 * expected for corrupt files. */
static inline void
fuzz_scan_extent (struct vdl_extent *e)
{
  static unsigned char buf[256 * 512];
  uint64_t starts[2], ends[2], s, run, n, budget = FUZZ_READ_BUDGET;
  enum vdl_run state;
  int w, steps;

  starts[0] = 0;
  ends[0] = e->sectors < FUZZ_WINDOW ? e->sectors : FUZZ_WINDOW;
  starts[1] = e->sectors > FUZZ_WINDOW ? e->sectors - FUZZ_WINDOW : 0;
  starts[1] = starts[1] < ends[0] ? ends[0] : starts[1];
  ends[1] = e->sectors;
  for (w = 0; w < 2; w++) {
    for (s = starts[w], steps = 0; s < ends[w] && steps < 4096; steps++) {
      if (e->ops->map (e, s, ends[w] - s, &state, &run) != VIX_OK)
        break;
      FUZZ_CHECK (run > 0 && run <= ends[w] - s);
      FUZZ_CHECK (state == VDL_RUN_DATA || state == VDL_RUN_ZERO ||
                  state == VDL_RUN_ABSENT);
      FUZZ_CHECK (state != VDL_RUN_DATA || e->ops->read);
      if (state == VDL_RUN_DATA && budget > 0) {
        n = run < budget ? run : budget;
        n = n < sizeof buf / 512 ? n : sizeof buf / 512;
        budget -= n;
        if (e->ops->read (e, s, n, buf) != VIX_OK)
          break;
      }
      s += run;
    }
  }
}

#endif

#endif
