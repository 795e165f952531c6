/* SPDX-License-Identifier: BSD-3-Clause */
/* Remote disks on ESXi and vCenter: one authenticated vSphere session
 * (SOAP at /sdk, over TLS pinned to the server's thumbprint) and files
 * read from datastores over HTTPS (/folder, Range requests).
 *
 * Names of datastore files are as vSphere writes them:
 * "[datastore] dir/file.vmdk".  Every function is thread-safe; a
 * session is shared by every file opened through it.  Errors are
 * recorded with vdl_error (error.h) and name the host and the file.
 * Codes: VIX_E_FAIL when the certificate does not match the thumbprint
 * (the message gives the server's real SHA-1), VIX_E_HOST_NOT_CONNECTED
 * when the server cannot be reached or stops answering,
 * VIX_E_FILE_ACCESS_ERROR when login fails or the session is not (or no
 * longer) valid, VIX_E_OBJECT_NOT_FOUND for an unknown VM or snapshot,
 * VIX_E_FILE_NOT_FOUND for a file that is not a disk of the VM or is
 * missing, VIX_E_DISK_OUTOFRANGE for reads past the end of a file.
 */
#ifndef VDL_REMOTE_H
#define VDL_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vixDiskLib.h"

struct vdl_remote;
struct vdl_remote_file;

struct vdl_remote_params {
  const char *server;           /* host name or address */
  uint32_t port;                /* 0: 443 */
  const char *thumbprint;       /* SHA-1 or SHA-256, any case, colons
                                 * optional; NULL: refuse to connect */
  const char *user, *password;  /* or: */
  const char *cookie;           /* an existing vmware_soap_session */
  const char *vm_moref;         /* "vm-16", "2": must exist */
  const char *snapshot_moref;   /* NULL, or a snapshot of that VM */
};

/* Connect (TLS, thumbprint checked in the handshake before any request
 * byte is sent), log in unless a cookie is given, and check that the VM
 * (and the snapshot) exist. */
VixError vdl_remote_connect (const struct vdl_remote_params *p,
                             struct vdl_remote **out);
/* Log out (unless the session came from a cookie) and free.  Every
 * file opened through the session must have been closed. */
void vdl_remote_disconnect (struct vdl_remote *r);

/* "server:port" (443 unless another was given; an IPv6 address in
 * brackets), for messages and for telling disks apart. */
const char *vdl_remote_host (const struct vdl_remote *r);

/* Whether name is a disk of the VM (of the snapshot if one was given):
 * a backing fileName of one of its virtual disks, or of a parent in
 * that disk's backing chain.  VIX_E_FILE_NOT_FOUND-style error naming
 * the VM and listing its disks otherwise.  name may also be a
 * /vmfs/volumes path (see vdl_remote_resolve). */
VixError vdl_remote_check_disk (struct vdl_remote *r, const char *name);

/* Turn a path as a descriptor may hold it into a datastore name:
 * "[ds] dir/f.vmdk" is kept; "/vmfs/volumes/<ds name or uuid>/dir/f.vmdk"
 * is looked up among the datastores.  *out is malloc'd. */
VixError vdl_remote_resolve (struct vdl_remote *r, const char *path,
                             char **out);

/* Open a datastore file for reading (its size is known from then on;
 * a missing file is an error naming it). */
VixError vdl_remote_file_open (struct vdl_remote *r, const char *name,
                               struct vdl_remote_file **out);
uint64_t vdl_remote_file_size (const struct vdl_remote_file *f);
/* Read len bytes at offset; several threads may read at once, each
 * over its own kept-alive connection.  A dropped connection is retried
 * (resuming the range) a bounded number of times.  Sequential reads are
 * served from a read-ahead cache. */
VixError vdl_remote_file_pread (struct vdl_remote_file *f, void *buf,
                                size_t len, uint64_t offset);
/* Where the server says which areas of the disk are in use (a -flat
 * file of a VM's disk with changed block tracking on: remote-areas.c),
 * the next area in use at or after offset, as vdl_file_next_data;
 * false if the server cannot tell (everything is data). */
bool vdl_remote_file_next_data (struct vdl_remote_file *f, uint64_t offset,
                                uint64_t *data_start, uint64_t *data_end);
/* An extent of the disk holds its bytes from disk_offset on at
 * file_offset of f.  The areas in use are the disk's, so
 * vdl_remote_file_next_data answers only for a file placed once, at 0
 * and 0: the base of a disk byte for byte. */
void vdl_remote_file_place (struct vdl_remote_file *f, uint64_t disk_offset,
                            uint64_t file_offset);
/* Once no read of f is in progress. */
void vdl_remote_file_close (struct vdl_remote_file *f);

#endif
