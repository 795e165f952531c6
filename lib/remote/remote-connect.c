/* SPDX-License-Identifier: BSD-3-Clause */
/* A connection to a vSphere server for one VM (remote.h): the session
 * (remote-session.c), the VM and its state (remote-vm.c,
 * remote-vmstate.c), the keepalive, and everything freed at the end.
 * The password and the cookie never reach a message or the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"
#include "secret.h"

static char *
dup_or_null (const char *s)
{
  return s && s[0] ? strdup (s) : NULL;
}

static VixError
setup (struct vdl_remote *r, const struct vdl_remote_params *p)
{
  uint32_t port = p->port ? p->port : 443;
  bool v6 = strchr (p->server, ':') && p->server[0] != '[';
  VixError err;

  if (port > 65535)
    return vdl_error (VIX_E_INVALID_ARG, "port %u of %s is not a TCP port",
                      port, p->server);
  if (asprintf (&r->host, v6 ? "[%s]:%u" : "%s:%u", p->server, port) < 0) {
    r->host = NULL;
    return vdl_oom ();
  }
  if (asprintf (&r->base, "https://%s", r->host) < 0) {
    r->base = NULL;
    return vdl_oom ();
  }
  err = vdl_pin_parse (p->thumbprint, r->host, &r->pin);
  if (err != VIX_OK)
    return err;
  if (!p->vm_moref || !p->vm_moref[0])
    return vdl_error (VIX_E_INVALID_ARG, "no VM given for %s: remote disks "
                      "are opened as disks of a VM (its moref, e.g. "
                      "vm-16)", r->host);
  r->user = dup_or_null (p->user);
  r->password = p->password && p->password[0]
    ? vdl_secret_strdup (p->password) : NULL;
  r->vm = strdup (p->vm_moref);
  r->snapshot = dup_or_null (p->snapshot_moref);
  if (!r->vm || (p->user && p->user[0] && !r->user) ||
      (p->password && p->password[0] && !r->password) ||
      (p->snapshot_moref && p->snapshot_moref[0] && !r->snapshot))
    return vdl_oom ();
  if (p->cookie && p->cookie[0]) {
    if ((err = vdl_remote_use_cookie (r, p->cookie)) != VIX_OK)
      return err;
  }
  else if (!r->user || !r->password)
    return vdl_error (VIX_E_INVALID_ARG, "no %s given to log in to %s",
                      r->user ? "password" : "user name", r->host);
  return vdl_http_pool_new (r->host, &r->pin, &r->pool);
}

VixError
vdl_remote_connect (const struct vdl_remote_params *p,
                    struct vdl_remote **out)
{
  struct vdl_remote *r;
  VixError err;
  char *text;

  if (!p || !p->server || !p->server[0])
    return vdl_error (VIX_E_INVALID_ARG, "no server given for a remote "
                      "connection");
  r = calloc (1, sizeof *r);
  if (!r)
    return vdl_oom ();
  pthread_mutex_init (&r->lock, NULL);
  pthread_cond_init (&r->login_done, NULL);

  err = setup (r, p);
  if (err == VIX_OK)
    err = vdl_remote_session_start (r);
  if (err == VIX_OK)
    err = vdl_remote_check_vm (r);
  if (err == VIX_OK)
    vdl_remote_warn_state (r);
  if (err == VIX_OK)
    err = vdl_keepalive_start (r);
  if (err != VIX_OK && r->own_session) {
    /* Logging out must not replace the message of what failed. */
    text = vdl_error_text (err);
    vdl_remote_disconnect (r);
    vdl_error (err, "%s", text ? text : "cannot connect");
    free (text);
    return err;
  }
  if (err != VIX_OK) {
    vdl_remote_disconnect (r);
    return err;
  }
  vdl_debug ("VixDiskLib: %s: connected, VM %s (%s)%s%s", r->host, r->vm,
             r->vm_name ? r->vm_name : "?",
             r->snapshot ? ", snapshot " : "",
             r->snapshot ? r->snapshot : "");
  *out = r;
  return VIX_OK;
}

void
vdl_remote_disconnect (struct vdl_remote *r)
{
  if (!r)
    return;
  vdl_keepalive_stop (r);
  if (r->own_session && r->pool)
    vdl_remote_logout (r);
  vdl_remote_datastores_free (r);
  vdl_http_pool_free (r->pool);
  vdl_remote_session_free (r);
  free (r->user);
  free (r->vm);
  free (r->vm_name);
  free (r->snapshot);
  free (r->session_manager);
  free (r->property_collector);
  free (r->root_folder);
  free (r->host);
  free (r->base);
  pthread_mutex_destroy (&r->lock);
  pthread_cond_destroy (&r->login_done);
  free (r);
}
