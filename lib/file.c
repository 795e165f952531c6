#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file.h"

/* Locks are taken on one byte far beyond any real data, so they never
 * collide with the byte-range locks other tools (qemu) put on the same
 * files; only instances of this library see each other's locks. */
#define LOCK_BYTE ((off_t) 1 << 62)
#define DIRECT_ALIGN 4096

static VixError
take_lock (struct vdl_file *f, enum vdl_lock lock)
{
  struct flock fl = {
    .l_type = lock == VDL_LOCK_EXCLUSIVE ? F_WRLCK : F_RDLCK,
    .l_whence = SEEK_SET,
    .l_start = LOCK_BYTE,
    .l_len = 1,
  };

  if (lock == VDL_LOCK_NONE)
    return VIX_OK;
  if (fcntl (f->fd, F_OFD_SETLK, &fl) == 0)
    return VIX_OK;
  if (errno == EAGAIN || errno == EACCES)
    return vdl_error (VIX_E_FILE_ALREADY_LOCKED,
                      "%s is locked by another process that has it open%s",
                      f->path,
                      lock == VDL_LOCK_EXCLUSIVE ? "" : " for writing");
  if (errno == EINVAL || errno == ENOLCK || errno == ENOSYS)
    return VIX_OK;              /* filesystem without locks: carry on */
  return vdl_error_errno (errno, "cannot lock %s", f->path);
}

static struct vdl_file *
new_file (const char *path, int fd, bool writable)
{
  struct vdl_file *f = calloc (1, sizeof *f);

  if (!f || !(f->path = strdup (path))) {
    free (f);
    return NULL;
  }
  f->fd = fd;
  f->direct_fd = -1;
  f->writable = writable;
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
  struct vdl_file *f;
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
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  err = take_lock (f, lock);
  if (err != VIX_OK) {
    vdl_file_close (f);
    return err;
  }
  if (direct) {
    /* Where O_DIRECT is refused (tmpfs), buffered I/O is all there is. */
    f->direct_fd = open (path, flags | O_DIRECT);
  }
  *out = f;
  return VIX_OK;
}

VixError
vdl_file_create (const char *path, struct vdl_file **out)
{
  int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  struct vdl_file *f;

  if (fd == -1)
    return vdl_error_errno (errno, "cannot create %s", path);
  f = new_file (path, fd, true);
  if (!f) {
    close (fd);
    unlink (path);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  *out = f;
  return VIX_OK;
}

void
vdl_file_close (struct vdl_file *f)
{
  if (!f)
    return;
  if (f->direct_fd >= 0)
    close (f->direct_fd);
  close (f->fd);
  free (f->path);
  free (f);
}

/* O_DIRECT needs the offset, length and buffer aligned.  Offsets and
 * lengths that are not aligned go through the page cache; an unaligned
 * buffer is copied through an aligned bounce buffer. */
static bool
direct_ok (struct vdl_file *f, size_t len, uint64_t offset)
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

VixError
vdl_file_pread (struct vdl_file *f, void *buf, size_t len, uint64_t offset)
{
  void *bounce;
  VixError err;

  if (!direct_ok (f, len, offset))
    return full_pread (f, f->fd, buf, len, offset);
  if (aligned_buf (buf))
    return full_pread (f, f->direct_fd, buf, len, offset);
  if (posix_memalign (&bounce, DIRECT_ALIGN, len) != 0)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  err = full_pread (f, f->direct_fd, bounce, len, offset);
  if (err == VIX_OK)
    memcpy (buf, bounce, len);
  free (bounce);
  return err;
}

VixError
vdl_file_pwrite (struct vdl_file *f, const void *buf, size_t len,
                 uint64_t offset)
{
  void *bounce;
  VixError err;

  if (!f->writable)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s is open read-only", f->path);
  if (!direct_ok (f, len, offset))
    return full_pwrite (f, f->fd, buf, len, offset);
  if (aligned_buf (buf))
    return full_pwrite (f, f->direct_fd, buf, len, offset);
  if (posix_memalign (&bounce, DIRECT_ALIGN, len) != 0)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  memcpy (bounce, buf, len);
  err = full_pwrite (f, f->direct_fd, bounce, len, offset);
  free (bounce);
  return err;
}

VixError
vdl_file_sync (struct vdl_file *f)
{
  if (!f->writable)
    return VIX_OK;
  if (fdatasync (f->fd) == -1)
    return vdl_error_errno (errno, "cannot flush %s to stable storage",
                            f->path);
  return VIX_OK;
}

VixError
vdl_file_size (struct vdl_file *f, uint64_t *size)
{
  struct stat st;

  if (fstat (f->fd, &st) == -1)
    return vdl_error_errno (errno, "cannot stat %s", f->path);
  if (S_ISBLK (st.st_mode)) {
    off_t end = lseek (f->fd, 0, SEEK_END);
    if (end == -1)
      return vdl_error_errno (errno, "cannot find the size of %s", f->path);
    *size = end;
  }
  else
    *size = st.st_size;
  return VIX_OK;
}

VixError
vdl_file_truncate (struct vdl_file *f, uint64_t size)
{
  if (ftruncate (f->fd, size) == -1)
    return vdl_error_errno (errno, "cannot set the size of %s", f->path);
  return VIX_OK;
}

VixError
vdl_file_preallocate (struct vdl_file *f, uint64_t size)
{
  int r;

  if (size == 0)
    return VIX_OK;
  r = posix_fallocate (f->fd, 0, size);
  if (r == 0)
    return VIX_OK;
  if (r != EOPNOTSUPP && r != EINVAL)
    return vdl_error_errno (r, "cannot allocate %llu bytes for %s",
                            (unsigned long long) size, f->path);
  return vdl_file_truncate (f, size);
}

bool
vdl_file_next_data (struct vdl_file *f, uint64_t offset,
                    uint64_t *data_start, uint64_t *data_end)
{
  off_t d = lseek (f->fd, offset, SEEK_DATA), h;

  if (d == -1) {
    if (errno != ENXIO)
      return false;
    /* No data after offset: report an empty region at the end. */
    *data_start = *data_end = UINT64_MAX;
    return true;
  }
  h = lseek (f->fd, d, SEEK_HOLE);
  if (h == -1)
    return false;
  *data_start = d;
  *data_end = h;
  return true;
}
