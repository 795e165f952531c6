/* SPDX-License-Identifier: BSD-3-Clause */
/* Local files: the byte source for paths of this machine. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container-of.h"
#include "error.h"
#include "file-local.h"

struct local_file {
  struct vdl_file base;
  int fd;                       /* buffered descriptor */
  int direct_fd;                /* O_DIRECT descriptor, or -1 */
  int sync_errno;               /* why a sync failed, or 0 */
  uint64_t unkicked;            /* bytes written since writeback was
                                 * last started */
};

static struct local_file *
local (struct vdl_file *f)
{
  return container_of (f, struct local_file, base);
}

#define DIRECT_ALIGN 4096

/* qemu's lock protocol (block/file-posix.c), so that qemu and we see each
 * other: on every file, a shared OFD lock on byte PERM_BASE+i while
 * holding permission i, and on SHARED_BASE+i while not letting others
 * have it.  A newcomer refuses to open if someone does not share what it
 * wants, or has what it will not share. */
#define PERM_BASE 100
#define SHARED_BASE 200
/* Permission numbers; qemu < 6.2 also had 4, graph-mod, which we share
 * and never hold, so its bytes need no looking at. */
enum { CONSISTENT_READ, WRITE, WRITE_UNCHANGED, RESIZE, N_PERMS };
#define BIT(p) (1u << (p))

/* Like qemu's own opens: writers (and growers) are kept out whether we
 * read or write; everything else is shared. */
#define UNSHARED (BIT (WRITE) | BIT (RESIZE))

static unsigned
held_perms (enum vdl_lock lock)
{
  if (lock == VDL_LOCK_WRITE)   /* sparse extents grow: resize too */
    return BIT (CONSISTENT_READ) | BIT (WRITE) | BIT (RESIZE);
  return BIT (CONSISTENT_READ);
}

static int
lock_byte (int fd, off_t byte)
{
  struct flock fl = {
    .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1,
  };

  return fcntl (fd, F_OFD_SETLK, &fl) == 0 ? 0 : errno;
}

/* Does another open file description hold a lock on byte?  Our own
 * locks are not reported: OFD locks never conflict with themselves. */
static int
byte_busy (int fd, off_t byte, bool *busy)
{
  struct flock fl = {
    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1,
  };

  *busy = false;
  if (fcntl (fd, F_OFD_GETLK, &fl) == -1)
    return errno;
  *busy = fl.l_type != F_UNLCK;
  return 0;
}

static bool
someone_has (int fd, off_t byte)
{
  bool busy;

  return byte_busy (fd, byte, &busy) == 0 && busy;
}

static void
release_bytes (int fd)
{
  struct flock fl = {
    .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = PERM_BASE,
    .l_len = SHARED_BASE + N_PERMS - PERM_BASE,
  };

  fcntl (fd, F_OFD_SETLK, &fl);
}

static int
apply_bytes (int fd, unsigned held)
{
  int p, r = 0;

  for (p = 0; p < N_PERMS && r == 0; p++) {
    if (held & BIT (p))
      r = lock_byte (fd, PERM_BASE + p);
    if (r == 0 && (UNSHARED & BIT (p)))
      r = lock_byte (fd, SHARED_BASE + p);
  }
  return r;
}

/* Record probe in *byte if another process holds it. */
static int
probe_byte (int fd, off_t probe, off_t *byte)
{
  bool busy;
  int r = byte_busy (fd, probe, &busy);

  if (r == 0 && busy)
    *byte = probe;
  return r;
}

/* Sets *byte to the first byte showing a conflict (left 0 if none):
 * someone not sharing a permission we hold, or holding one we do not
 * share. */
static int
check_bytes (int fd, unsigned held, off_t *byte)
{
  int p, r = 0;

  for (p = 0; p < N_PERMS && r == 0 && *byte == 0; p++) {
    if (held & BIT (p))
      r = probe_byte (fd, SHARED_BASE + p, byte);
    if (r == 0 && *byte == 0 && (UNSHARED & BIT (p)))
      r = probe_byte (fd, PERM_BASE + p, byte);
  }
  return r;
}

/* What the other side is doing, as far as its bytes tell. */
static const char *
conflict_text (int fd, off_t byte)
{
  if (byte == PERM_BASE + WRITE || byte == PERM_BASE + RESIZE ||
      someone_has (fd, PERM_BASE + WRITE) ||
      someone_has (fd, PERM_BASE + RESIZE))
    return "open for writing";
  if (byte == SHARED_BASE + CONSISTENT_READ)
    return "open and does not let others read it";
  return "open for reading and does not let others write to it";
}

static bool
no_lock_support (int err)
{
  return err == EINVAL || err == ENOLCK || err == ENOSYS ||
    err == EOPNOTSUPP;
}

/* As qemu does it: apply our bytes, then look for conflicts, and give
 * everything back on conflict.  Two processes opening at once may both
 * be refused, never both admitted. */
static VixError
take_lock (struct local_file *f, enum vdl_lock lock)
{
  unsigned held = held_perms (lock);
  off_t byte = 0;
  int r;

  if (lock == VDL_LOCK_NONE)
    return VIX_OK;
  r = apply_bytes (f->fd, held);
  if (r == 0)
    r = check_bytes (f->fd, held, &byte);
  if (r == 0 && byte == 0)
    return VIX_OK;
  release_bytes (f->fd);
  if (r == 0 || r == EAGAIN || r == EACCES)
    return vdl_error (VIX_E_FILE_ALREADY_LOCKED,
                      "%s is locked: another process has it %s",
                      f->base.path,
                      byte ? conflict_text (f->fd, byte) : "open");
  if (no_lock_support (r))
    return VIX_OK;              /* filesystem without locks: carry on */
  return vdl_error_errno (r, "cannot lock %s", f->base.path);
}

static const struct vdl_file_ops local_ops;

static struct local_file *
new_file (const char *path, int fd, bool writable)
{
  struct local_file *f = calloc (1, sizeof *f);

  if (!f || !(f->base.path = strdup (path))) {
    free (f);
    return NULL;
  }
  f->base.ops = &local_ops;
  f->base.writable = writable;
  f->fd = fd;
  f->direct_fd = -1;
  return f;
}

/* Disks live in regular files, or on block devices (an extent on a
 * logical volume).  Anything else is refused by name: a FIFO would block
 * the open or a read, and /dev/zero would look like an empty file. */
static VixError
check_type (const char *path, mode_t mode)
{
  const char *what;

  if (S_ISREG (mode) || S_ISBLK (mode))
    return VIX_OK;
  what = S_ISDIR (mode) ? "a directory"
    : S_ISCHR (mode) ? "a character device"
    : S_ISFIFO (mode) ? "a FIFO (named pipe)"
    : S_ISSOCK (mode) ? "a socket" : "not a regular file";
  return vdl_error (VIX_E_INCORRECT_FILE_TYPE, "%s is %s, not a VMDK "
                    "file (disks are regular files or block devices)",
                    path, what);
}

VixError
vdl_file_open (const char *path, bool writable, bool direct,
               enum vdl_lock lock, struct vdl_file **out)
{
  int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  int fd = open (path, flags | O_NONBLOCK);
  struct stat st;
  struct local_file *f;
  VixError err;

  if (fd == -1) {
    int e = errno;
    if (stat (path, &st) == 0 && check_type (path, st.st_mode) != VIX_OK)
      return VIX_E_INCORRECT_FILE_TYPE;         /* a socket, say */
    /* VixDiskLib_Open says when opening read-only would help. */
    return vdl_error_errno (e, "cannot open %s%s", path,
                            writable ? " for writing" : "");
  }
  if (fstat (fd, &st) == -1) {
    err = vdl_error_errno (errno, "cannot stat %s", path);
    close (fd);
    return err;
  }
  err = check_type (path, st.st_mode);
  /* Back to blocking I/O (clears O_NONBLOCK). */
  if (err == VIX_OK && fcntl (fd, F_SETFL, 0) == -1)
    err = vdl_error_errno (errno, "cannot open %s", path);
  if (err != VIX_OK) {
    close (fd);
    return err;
  }
  f = new_file (path, fd, writable);
  if (!f) {
    close (fd);
    return vdl_oom ();
  }
  err = take_lock (f, lock);
  if (err != VIX_OK) {
    vdl_file_close (&f->base);
    return err;
  }
  if (direct) {
    /* Where O_DIRECT is refused (tmpfs), buffered I/O is all there is. */
    f->direct_fd = open (path, flags | O_DIRECT);
  }
  *out = &f->base;
  return VIX_OK;
}

VixError
vdl_file_create (const char *path, struct vdl_file **out)
{
  int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  struct local_file *f;

  if (fd == -1)
    return vdl_error_errno (errno, "cannot create %s", path);
  f = new_file (path, fd, true);
  if (!f) {
    close (fd);
    unlink (path);
    return vdl_oom ();
  }
  *out = &f->base;
  return VIX_OK;
}

int
vdl_file_fd (struct vdl_file *f)
{
  return local (f)->fd;
}

static void
local_close (struct vdl_file *file)
{
  struct local_file *f = local (file);

  if (f->direct_fd >= 0)
    close (f->direct_fd);
  close (f->fd);
  free (f->base.path);
  free (f);
}

/* O_DIRECT needs the offset, length and buffer aligned.  Offsets and
 * lengths that are not aligned go through the page cache; an unaligned
 * buffer is copied through an aligned bounce buffer. */
static bool
direct_ok (const struct local_file *f, size_t len, uint64_t offset)
{
  return f->direct_fd >= 0 && len > 0 && (len | offset) % DIRECT_ALIGN == 0;
}

static bool
aligned_buf (const void *buf)
{
  return (uintptr_t) buf % DIRECT_ALIGN == 0;
}

static VixError
full_pread (struct vdl_file *f, int fd, void *buf, size_t len,
            uint64_t offset)
{
  char *p = buf;

  while (len > 0) {
    ssize_t r = pread (fd, p, len, offset);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return vdl_error_errno (errno, "read error in %s at offset %llu",
                              f->path, (unsigned long long) offset);
    }
    if (r == 0)
      return vdl_error (VIX_E_DISK_OUTOFRANGE,
                        "%s is truncated: reading %zu bytes at offset %llu "
                        "goes past the end of the file",
                        f->path, len, (unsigned long long) offset);
    p += r;
    len -= r;
    offset += r;
  }
  return VIX_OK;
}

static VixError
full_pwrite (struct vdl_file *f, int fd, const void *buf, size_t len,
             uint64_t offset)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t r = pwrite (fd, p, len, offset);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return vdl_error_errno (errno, "write error in %s at offset %llu",
                              f->path, (unsigned long long) offset);
    }
    p += r;
    len -= r;
    offset += r;
  }
  return VIX_OK;
}

static VixError
local_pread (struct vdl_file *file, void *buf, size_t len, uint64_t offset)
{
  struct local_file *f = local (file);
  void *bounce;
  VixError err;

  if (!direct_ok (f, len, offset))
    return full_pread (file, f->fd, buf, len, offset);
  if (aligned_buf (buf))
    return full_pread (file, f->direct_fd, buf, len, offset);
  if (posix_memalign (&bounce, DIRECT_ALIGN, len) != 0)
    return vdl_oom ();
  err = full_pread (file, f->direct_fd, bounce, len, offset);
  if (err == VIX_OK)
    memcpy (buf, bounce, len);
  free (bounce);
  return err;
}

/* Every WRITEBACK_KICK bytes written through the page cache, start
 * writing the file back without waiting, so that the fdatasync of the
 * next flush finds little left to do: a bulk copy then overlaps its
 * disk writes with the copying instead of paying for them at the end. */
#define WRITEBACK_KICK (32 << 20)

static void
start_writeback (struct local_file *f, size_t len)
{
  uint64_t n = __atomic_add_fetch (&f->unkicked, len, __ATOMIC_RELAXED);

  if (n >= WRITEBACK_KICK &&
      __atomic_compare_exchange_n (&f->unkicked, &n, 0, false,
                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    (void) sync_file_range (f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

static VixError
local_pwrite (struct vdl_file *file, const void *buf, size_t len,
              uint64_t offset)
{
  struct local_file *f = local (file);
  void *bounce;
  VixError err;

  if (!file->writable)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s is open read-only",
                      file->path);
  if (!direct_ok (f, len, offset)) {
    err = full_pwrite (file, f->fd, buf, len, offset);
    if (err == VIX_OK)
      start_writeback (f, len);
    return err;
  }
  if (aligned_buf (buf))
    return full_pwrite (file, f->direct_fd, buf, len, offset);
  if (posix_memalign (&bounce, DIRECT_ALIGN, len) != 0)
    return vdl_oom ();
  memcpy (bounce, buf, len);
  err = full_pwrite (file, f->direct_fd, bounce, len, offset);
  free (bounce);
  return err;
}

/* A failed fdatasync is final for this open file: the kernel may have
 * dropped the pages it could not write and reports that only once, so a
 * later fdatasync would succeed with data missing.  Every later sync
 * fails too, and the client never hears that a flush succeeded while
 * something written before it is gone; reopening starts afresh. */
static VixError
local_sync (struct vdl_file *file)
{
  struct local_file *f = local (file);
  int e = __atomic_load_n (&f->sync_errno, __ATOMIC_ACQUIRE);

  if (!file->writable)
    return VIX_OK;
  if (e)
    return vdl_error_errno (e, "an earlier flush of %s to stable storage "
                            "failed, so data written before it may be lost "
                            "(close and reopen the disk)", file->path);
  if (fdatasync (f->fd) == -1) {
    e = errno;
    __atomic_store_n (&f->sync_errno, e, __ATOMIC_RELEASE);
    return vdl_error_errno (e, "cannot flush %s to stable storage",
                            file->path);
  }
  return VIX_OK;
}

static VixError
local_size (struct vdl_file *file, uint64_t *size)
{
  int fd = local (file)->fd;
  struct stat st;

  if (fstat (fd, &st) == -1)
    return vdl_error_errno (errno, "cannot stat %s", file->path);
  if (S_ISBLK (st.st_mode)) {
    off_t end = lseek (fd, 0, SEEK_END);
    if (end == -1)
      return vdl_error_errno (errno, "cannot find the size of %s",
                              file->path);
    *size = end;
  }
  else
    *size = st.st_size;
  return VIX_OK;
}

static VixError
local_truncate (struct vdl_file *f, uint64_t size)
{
  if (ftruncate (local (f)->fd, size) == -1)
    return vdl_error_errno (errno, "cannot set the size of %s", f->path);
  return VIX_OK;
}

static VixError
local_preallocate (struct vdl_file *f, uint64_t size)
{
  int r;

  if (size == 0)
    return VIX_OK;
  r = posix_fallocate (local (f)->fd, 0, size);
  if (r == 0)
    return VIX_OK;
  if (r != EOPNOTSUPP && r != EINVAL)
    return vdl_error_errno (r, "cannot allocate %llu bytes for %s",
                            (unsigned long long) size, f->path);
  return local_truncate (f, size);
}

static bool
local_next_data (struct vdl_file *f, uint64_t offset,
                 uint64_t *data_start, uint64_t *data_end)
{
  int fd = local (f)->fd;
  off_t d = lseek (fd, offset, SEEK_DATA), h;

  if (d == -1) {
    if (errno != ENXIO)
      return false;
    /* No data after offset: report an empty region at the end. */
    *data_start = *data_end = UINT64_MAX;
    return true;
  }
  h = lseek (fd, d, SEEK_HOLE);
  if (h == -1)
    return false;
  *data_start = d;
  *data_end = h;
  return true;
}

static const struct vdl_file_ops local_ops = {
  .kind = "file",
  .pread = local_pread,
  .pwrite = local_pwrite,
  .sync = local_sync,
  .size = local_size,
  .truncate = local_truncate,
  .preallocate = local_preallocate,
  .next_data = local_next_data,
  .close = local_close,
};
