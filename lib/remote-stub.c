/* Placeholder until the vSphere client lands: remote connections are
 * refused, as before. */
#include "error.h"
#include "remote.h"

VixError
vdl_remote_connect (const struct vdl_remote_params *p,
                    struct vdl_remote **out)
{
  (void) out;
  return vdl_error (VIX_E_NOT_SUPPORTED, "remote connections (server %s) "
                    "are not supported yet by this VixDiskLib: only local "
                    "VMDK files can be opened", p->server);
}

void vdl_remote_disconnect (struct vdl_remote *r) { (void) r; }
const char *vdl_remote_host (const struct vdl_remote *r) { (void) r; return ""; }
VixError vdl_remote_check_disk (struct vdl_remote *r, const char *n)
{ (void) r; (void) n; return VIX_E_NOT_SUPPORTED; }
VixError vdl_remote_resolve (struct vdl_remote *r, const char *p, char **o)
{ (void) r; (void) p; (void) o; return VIX_E_NOT_SUPPORTED; }
VixError vdl_remote_file_open (struct vdl_remote *r, const char *n,
                               struct vdl_remote_file **o)
{ (void) r; (void) n; (void) o; return VIX_E_NOT_SUPPORTED; }
uint64_t vdl_remote_file_size (const struct vdl_remote_file *f)
{ (void) f; return 0; }
VixError vdl_remote_file_pread (struct vdl_remote_file *f, void *b, size_t l,
                                uint64_t o)
{ (void) f; (void) b; (void) l; (void) o; return VIX_E_NOT_SUPPORTED; }
void vdl_remote_file_close (struct vdl_remote_file *f) { (void) f; }
