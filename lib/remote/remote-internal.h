/* SPDX-License-Identifier: BSD-3-Clause */
/* What the remote-*.c files share: the session and its SOAP calls.
 * Locking: r->lock guards the fields marked so, and is never held
 * during a network round trip; waiting (for a login in progress, a free
 * connection) is done on condition variables.
 */
#ifndef VDL_REMOTE_INTERNAL_H
#define VDL_REMOTE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "remote.h"
#include "remote-http.h"
#include "remote-pin.h"

#define VDL_FAULT_LEN 64

/* A datastore the VM uses.  Names are as the inventory stores them:
 * '/', '\' and '%' escaped as %2f, %5c and %25. */
struct vdl_datastore {
  char *moref;
  char *name;
  char *dc_path;                /* the inventory path of its datacenter
                                 * below the root folder, "F1/DC1"; NULL
                                 * if its parents cannot be read */
  char *url_path;               /* summary.url without "ds://" or the
                                 * final '/': "/vmfs/volumes/<uuid>" */
  const char *object_kind;      /* "vSAN" or "vVol" (summary.type): its
                                 * disks are objects, not files; or NULL */
};

/* A disk file of the VM (a backing or a parent in its chain) and the
 * moref of the datastore the server says it is on (NULL if it does not
 * say). */
struct vdl_backing {
  char *file, *ds;
  bool of_snapshot;             /* listed by the snapshot, not the VM */
  bool parent;                  /* a parent in a chain, not the top */
  /* Of the VirtualDisk device it belongs to (for QueryChangedDiskAreas,
   * remote-areas.c): its key (-1 if not said) and capacity in bytes (0
   * if not said). */
  int device_key;
  uint64_t capacity;
};

struct vdl_remote {
  char *host;                   /* "server:port" */
  char *base;                   /* "https://server:port" */
  struct vdl_pin pin;
  struct vdl_http_pool *pool;
  char *user, *password;        /* no password: no login again */
  char *vm, *vm_name, *snapshot;
  /* from the ServiceContent */
  char *session_manager, *property_collector, *root_folder;
  char soap_action[48];         /* "urn:vim25/<apiVersion>" */
  bool vcenter;                 /* about.apiType is VirtualCenter */

  pthread_mutex_t lock;
  pthread_cond_t login_done;
  struct vdl_cookie *cookie;    /* lock: the session's, or NULL */
  unsigned generation;          /* lock: bumped at each login */
  bool logging_in;              /* lock */
  bool own_session;             /* lock: we logged in, so we log out */
  struct vdl_datastore *ds;     /* lock: the VM's datastores */
  size_t nds;
  struct vdl_backing *backings; /* lock: and its disk files */
  size_t nbackings;
  bool ds_loaded;               /* lock */
  unsigned open_files;          /* atomic: datastore files open (the
                                 * keep-alive runs while there are) */
  unsigned readahead_files;     /* atomic: those of them larger than
                                 * their first GET, which may read ahead
                                 * and share its memory budget */
  bool separate_calls;          /* lock: the server refused the one call
                                 * of vdl_remote_load_all */
  struct vdl_keepalive *keepalive;      /* remote-keepalive.c */
  bool powered_on;              /* runtime.powerState, read at connect */
  bool change_tracking;         /* config.changeTrackingEnabled, too */
};

/* A SOAP reply: the parsed document and the element in its Body. */
struct vdl_soap_reply {
  xmlDoc *doc;
  xmlNode *response;            /* e.g. <LoginResponse> */
  char fault[VDL_FAULT_LEN];    /* on failure, the fault's type if any */
  char *fault_text;             /* and its faultstring, malloc'd */
  char *session_cookie;         /* a cookie the server set (secret.h) */
};
void vdl_soap_reply_free (struct vdl_soap_reply *reply);

/* One SOAP call with the given cookie (NULL: none).  body is the
 * method's element, e.g. "<Logout><_this ...>...</_this></Logout>".
 * A fault is an error recorded as "HOST: METHOD failed: text", with
 * reply->fault set ("InvalidLogin", "NotAuthenticated", ...) so that
 * callers can replace the message with a more specific one. */
VixError vdl_soap_call (struct vdl_remote *r, const char *cookie,
                        const char *method, const char *body,
                        struct vdl_soap_reply *reply);
/* The same, without a cookie, for a call whose body or answer holds a
 * secret (Login): its connection is closed afterwards, and a successful
 * answer (HTTP 200 with a session cookie) is not parsed, so that
 * reply->response is NULL; faults are parsed as above. */
VixError vdl_soap_call_secret (struct vdl_remote *r, const char *method,
                               const char *body,
                               struct vdl_soap_reply *reply);

/* The same with the session's cookie: a NotAuthenticated fault logs in
 * again (if we have a password) and the call is retried once. */
VixError vdl_remote_call (struct vdl_remote *r, const char *method,
                          const char *body, struct vdl_soap_reply *reply);

/* The session cookie, "vmware_soap_session=..." in secret memory, shared
 * by the requests using it: a login replaces it, and the replaced one
 * is freed (and so zeroed) when its last user gives it back.  Taking
 * one costs a lock, not a copy: every data request takes one. */
struct vdl_cookie {
  char *text;
  unsigned users;               /* the session's lock */
};
/* The session's cookie for one request (NULL if it has none), with its
 * generation for vdl_remote_relogin; give it back with
 * vdl_remote_cookie_free. */
const struct vdl_cookie *vdl_remote_cookie (struct vdl_remote *r,
                                            unsigned *generation);
void vdl_remote_cookie_free (struct vdl_remote *r,
                             const struct vdl_cookie *cookie);
/* Its text for a request header, or NULL. */
static inline const char *
vdl_cookie_text (const struct vdl_cookie *c)
{
  return c ? c->text : NULL;
}
/* remote-session.c: the ServiceContent, then a login unless a cookie
 * was given (vdl_remote_use_cookie, "value" or
 * "vmware_soap_session=value"); Logout (when we logged in); freeing the
 * cookie and the password. */
VixError vdl_remote_session_start (struct vdl_remote *r);
VixError vdl_remote_use_cookie (struct vdl_remote *r, const char *given);
void vdl_remote_logout (struct vdl_remote *r);
void vdl_remote_session_free (struct vdl_remote *r);
/* Log in again unless another thread already did since the cookie of
 * that generation was taken; one login at a time. */
VixError vdl_remote_relogin (struct vdl_remote *r, unsigned generation);

/* PropertyCollector.RetrievePropertiesEx (and its continuation pages)
 * with spec (the inside of a PropertyFilterSpec); fn is called for
 * each <objects> element.  fault as in vdl_soap_reply. */
typedef VixError vdl_object_fn (void *ctx, xmlNode *object);
VixError vdl_remote_retrieve (struct vdl_remote *r, const char *spec,
                              vdl_object_fn *fn, void *ctx,
                              char fault[VDL_FAULT_LEN]);
/* In an <objects> element: the value of property path (NULL if
 * missing), and the object's type ("Datastore"; "" if none) into buf. */
xmlNode *vdl_remote_prop (const xmlNode *object, const char *path);
void vdl_remote_obj_type (const xmlNode *object, char *buf, size_t size);

/* A growing ", "-separated list for messages: item, or "item (note)". */
struct vdl_list {
  char *text;
  size_t len;
  bool oom;
};
void vdl_list_add (struct vdl_list *l, const char *item, const char *note);

/* What is read of the VM at connect (remote-vm.c). */
struct vdl_vm_state {
  const char *want;             /* the snapshot asked for, or NULL */
  char *name;
  struct vdl_list snapshots;    /* "snapshot-69 (name)", ... */
  bool snapshot_found, powered_on, change_tracking;
};
/* Add what an <objects> of the VirtualMachine says (name, snapshot,
 * runtime.powerState, config.changeTrackingEnabled);
 * remote-vm-datastores.c. */
void vdl_vm_state_add (struct vdl_vm_state *st, xmlNode *object);

/* The VM (and snapshot) of r->vm exist: sets r->vm_name and
 * r->powered_on, and usually loads the datastores too (one call). */
VixError vdl_remote_check_vm (struct vdl_remote *r);

/* The datastores of the VM (of the snapshot, if one was given): every
 * disk backing's datastore with its file, and VirtualMachine.datastore. */
struct vdl_vm_datastores {
  struct vdl_backing *b;
  size_t nb;
  char **ds;                    /* morefs, each once */
  size_t nds;
  bool oom;
};
VixError vdl_remote_vm_datastores (struct vdl_remote *r,
                                   struct vdl_vm_datastores *v);
/* Add what an <objects> of a VirtualMachine (config.hardware.device,
 * datastore) or a VirtualMachineSnapshot (config.hardware.device) says;
 * v->oom if memory ran out. */
void vdl_vm_datastores_add (struct vdl_vm_datastores *v, xmlNode *object);
void vdl_vm_datastores_free (struct vdl_vm_datastores *v);
/* While files are open, keep the session alive (remote-keepalive.c). */
VixError vdl_keepalive_start (struct vdl_remote *r);
void vdl_keepalive_stop (struct vdl_remote *r);

/* remote-vmstate.c: warn about a powered-on VM read without a snapshot
 * (the power state is read with the VM, remote-vm.c). */
void vdl_remote_warn_state (struct vdl_remote *r);
/* summary.type of a datastore ("vsan", "VVOL") as "vSAN" or "vVol" if
 * its disks are objects with no files, else NULL. */
const char *vdl_remote_object_kind (const char *summary_type);
/* Fail with one sentence for an extent that is an object, not a file
 * (vsan:// or vvol://), which cannot be read over HTTPS. */
VixError vdl_remote_check_transport (struct vdl_remote *r, const char *name);
/* The same for a file on a vSAN or vVol datastore (kind from
 * vdl_remote_object_kind). */
VixError vdl_remote_object_ds_error (struct vdl_remote *r, const char *name,
                                     const char *ds, const char *kind);
/* The error for HTTP 500 on a /folder file: locked by a running VM? */
VixError vdl_remote_locked_error (struct vdl_remote *r, const char *name,
                                  const char *method);

/* One call for what a connection needs of the inventory: the VM (st,
 * at connect), the disks of the VM and of the snapshot, and the VM's
 * datastores with their parents up to the root folder
 * (remote-inventory.c); the table is then loaded.  A datastore the call
 * did not reach is read by a second call, except at connect: then the
 * next vdl_remote_datastores_load reads it, so that any error is the
 * open's.  fault as in vdl_soap_reply: set if the server refused the
 * call (a VM or snapshot not found, or a server that does not take it);
 * later loads then use separate calls, and at connect the caller reads
 * the VM alone. */
VixError vdl_remote_load_all (struct vdl_remote *r, struct vdl_vm_state *st,
                              char fault[VDL_FAULT_LEN]);
/* The datastores and disk files of the VM: read if not yet (again =
 * false), or read again (true: a name was not found). */
VixError vdl_remote_datastores_load (struct vdl_remote *r, bool again);

/* The HTTPS URL of a datastore file "[ds] dir/file" (malloc'd). */
VixError vdl_remote_file_url (struct vdl_remote *r, const char *name,
                              char **url);
void vdl_remote_datastores_free (struct vdl_remote *r);

#endif
