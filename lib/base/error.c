/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "escape.h"
#include "log.h"

static __thread VixError last_code;
static __thread char last_message[1024];

/* The message is stored (and logged) with its control characters
 * escaped: it names files, ours or the server's, and whatever their
 * names hold must not start a new line or drive a terminal in the
 * application's log. */
static VixError
record (VixError code, const char *fmt, va_list args, const char *suffix)
{
  char raw[sizeof last_message];
  size_t len;

  vsnprintf (raw, sizeof raw, fmt, args);
  if (suffix) {
    len = strlen (raw);
    snprintf (raw + len, sizeof raw - len, ": %s", suffix);
  }
  escape_controls (last_message, sizeof last_message, raw);
  last_code = code;
  vdl_debug ("VixDiskLib: error %llu: %s", (unsigned long long) code,
             last_message);
  return code;
}

VixError
vdl_error (VixError code, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  record (code, fmt, args, NULL);
  va_end (args);
  return code;
}

VixError
vdl_oom (void)
{
  return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
}

static VixError
code_of_errno (int errnum)
{
  switch (errnum) {
  case ENOENT: return VIX_E_FILE_NOT_FOUND;
  case ENOMEM: return VIX_E_OUT_OF_MEMORY;
  case ENOSPC: case EDQUOT: return VIX_E_DISK_FULL;
  case EROFS: return VIX_E_FILE_READ_ONLY;
  case EACCES: case EPERM: return VIX_E_FILE_ACCESS_ERROR;
  case EEXIST: return VIX_E_FILE_ALREADY_EXISTS;
  case EAGAIN: return VIX_E_FILE_ALREADY_LOCKED;
  case EFBIG: return VIX_E_FILE_TOO_BIG;
  case ENAMETOOLONG: return VIX_E_FILE_NAME_INVALID;
  case EINVAL: return VIX_E_INVALID_ARG;
  default: return VIX_E_FILE_ERROR;
  }
}

VixError
vdl_error_errno (int errnum, const char *fmt, ...)
{
  va_list args;
  char buf[256];
  VixError code = code_of_errno (errnum);

  va_start (args, fmt);
  record (code, fmt, args, strerror_r (errnum, buf, sizeof buf));
  va_end (args);
  return code;
}

static const char *
generic_text (VixError code)
{
  switch (VIX_ERROR_CODE (code)) {
  case VIX_OK: return "The operation was successful";
  case VIX_E_FAIL: return "Unknown error";
  case VIX_E_OUT_OF_MEMORY: return "Memory allocation failed. Out of memory";
  case VIX_E_INVALID_ARG: return "One of the parameters was invalid";
  case VIX_E_FILE_NOT_FOUND: return "A file was not found";
  case VIX_E_OBJECT_IS_BUSY: return "This function cannot be performed because the handle is executing another function";
  case VIX_E_NOT_SUPPORTED: return "The operation is not supported";
  case VIX_E_FILE_ERROR: return "A file access error occurred on the host or guest operating system";
  case VIX_E_DISK_FULL: return "An error occurred while writing a file; the disk is full";
  case VIX_E_INCORRECT_FILE_TYPE: return "An error occurred while accessing a file: wrong file type";
  case VIX_E_CANCELLED: return "The operation was canceled";
  case VIX_E_FILE_READ_ONLY: return "The file is write-protected";
  case VIX_E_FILE_ALREADY_EXISTS: return "The file already exists";
  case VIX_E_FILE_ACCESS_ERROR: return "You do not have access rights to this file";
  case VIX_E_FILE_ALREADY_LOCKED: return "The file is already in use";
  case VIX_E_FILE_TOO_BIG: return "The file is too big for the filesystem";
  case VIX_E_FILE_NAME_INVALID: return "The file name is not valid";
  case VIX_E_INVALID_HANDLE: return "The handle is not a valid VIX object";
  case VIX_E_DISK_INVAL: return "One of the parameters supplied is invalid";
  case VIX_E_DISK_NOINIT: return "The disk library has not been initialized";
  case VIX_E_DISK_NOIO: return "The called function requires the virtual disk to be opened for I/O";
  case VIX_E_DISK_PARTIALCHAIN: return "The called function cannot be performed on partial chains. Open the parent virtual disk";
  case VIX_E_DISK_NEEDSREPAIR: return "The specified virtual disk needs repair";
  case VIX_E_DISK_OUTOFRANGE: return "You have requested access to an area of the virtual disk that is out of bounds";
  case VIX_E_DISK_CID_MISMATCH: return "The parent virtual disk has been modified since the child was created";
  case VIX_E_DISK_UNSUPPORTEDDISKVERSION: return "The specified virtual disk was created by a newer version or is not supported";
  case VIX_E_DISK_OPENPARENT: return "The parent of this virtual disk could not be opened";
  case VIX_E_DISK_NOTSUPPORTED: return "The specified feature is not supported by this version";
  case VIX_E_DISK_INVALIDCHAIN: return "The disk chain is invalid";
  default: return "Unknown error";
  }
}

/* Only the thread whose call failed gets the specific text: messages
 * name files and hosts, which must not leak to another connection
 * that happens to fail with the same code. */
char *
vdl_error_text (VixError err)
{
  if (err != VIX_OK && err == last_code && last_message[0])
    return strdup (last_message);
  return strdup (generic_text (err));
}
