/* Remote disks on ESXi and vCenter: one authenticated vSphere session
 * (SOAP at /sdk, over TLS pinned to the server's thumbprint) and files
 * read from datastores over HTTPS (/folder, Range requests).
 *
 * Names of datastore files are as vSphere writes them:
 * "[datastore] dir/file.vmdk".  Every function is thread-safe; a
 * session is shared by every file opened through it.  Errors are
 * recorded with vdl_error (error.h) and name the host and the file.
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
/* Log out (unless the session came from a cookie) and free. */
void vdl_remote_disconnect (struct vdl_remote *r);

/* "server[:port]", for messages and for telling disks apart. */
const char *vdl_remote_host (const struct vdl_remote *r);

/* Whether name is a disk of the VM (of the snapshot if one was given):
 * a backing fileName of one of its virtual disks, or of a parent in
 * that disk's backing chain.  VIX_E_FILE_NOT_FOUND-style error naming
 * the VM and listing its disks otherwise. */
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
 * (resuming the range) a bounded number of times. */
VixError vdl_remote_file_pread (struct vdl_remote_file *f, void *buf,
                                size_t len, uint64_t offset);
void vdl_remote_file_close (struct vdl_remote_file *f);

#endif
