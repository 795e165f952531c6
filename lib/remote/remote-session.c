/* SPDX-License-Identifier: BSD-3-Clause */
/* The vSphere session: ServiceContent, Login or a given cookie, logging
 * in again when the server forgot us, the calls made with it, and
 * Logout.  remote-connect.c puts a connection together around it.
 * The password and the cookie never reach a message or the log; they
 * live in secret memory (secret.h), and every other copy of them (the
 * Login body, its XML-escaped password) is zeroed when freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"
#include "remote-xml.h"
#include "secret.h"

#define COOKIE_NAME "vmware_soap_session="

const char *
vdl_remote_host (const struct vdl_remote *r)
{
  return r->host;
}

const struct vdl_cookie *
vdl_remote_cookie (struct vdl_remote *r, unsigned *generation)
{
  struct vdl_cookie *c;

  pthread_mutex_lock (&r->lock);
  c = r->cookie;
  if (c)
    c->users++;
  *generation = r->generation;
  pthread_mutex_unlock (&r->lock);
  return c;
}

static void
cookie_destroy (struct vdl_cookie *c)
{
  if (c) {
    vdl_secret_free (c->text);
    free (c);
  }
}

void
vdl_remote_cookie_free (struct vdl_remote *r, const struct vdl_cookie *cookie)
{
  struct vdl_cookie *c = (struct vdl_cookie *) cookie, *gone = NULL;

  if (!c)
    return;
  pthread_mutex_lock (&r->lock);
  if (--c->users == 0 && c != r->cookie)
    gone = c;                   /* replaced by a login meanwhile */
  pthread_mutex_unlock (&r->lock);
  cookie_destroy (gone);
}

/* Make text (secret memory, taken over) the session's cookie; the one
 * it replaces goes when its last request gives it back.  The lock is
 * held. */
static VixError
cookie_replace (struct vdl_remote *r, char *text)
{
  struct vdl_cookie *c = malloc (sizeof *c), *old = r->cookie;

  if (!c) {
    vdl_secret_free (text);
    return vdl_oom ();
  }
  c->text = text;
  c->users = 0;
  r->cookie = c;
  if (old && old->users == 0)
    cookie_destroy (old);
  return VIX_OK;
}

/* Which SessionManager and PropertyCollector to talk to (ESXi and
 * vCenter name them differently), and the API version to speak. */
static VixError
service_content (struct vdl_remote *r)
{
  static const char body[] =
    "<RetrieveServiceContent><_this type=\"ServiceInstance\">"
    "ServiceInstance</_this></RetrieveServiceContent>";
  struct vdl_soap_reply reply;
  xmlNode *rv;
  char *version = NULL, *api_type = NULL;
  VixError err;

  /* No version: every server understands this call in its oldest. */
  snprintf (r->soap_action, sizeof r->soap_action, "urn:vim25");
  err = vdl_soap_call (r, NULL, "RetrieveServiceContent", body, &reply);
  if (err == VIX_OK) {
    rv = vdl_xml_child (reply.response, VDL_NS_VIM, "returnval");
    r->session_manager = vdl_xml_vim_text (rv, "sessionManager");
    r->property_collector = vdl_xml_vim_text (rv, "propertyCollector");
    r->root_folder = vdl_xml_vim_text (rv, "rootFolder");
    version = vdl_xml_vim_text (vdl_xml_child (rv, VDL_NS_VIM, "about"),
                                "apiVersion");
    api_type = vdl_xml_vim_text (vdl_xml_child (rv, VDL_NS_VIM, "about"),
                                 "apiType");
    /* vCenter decodes /folder query values twice (remote-datastore.c) */
    r->vcenter = api_type && strcmp (api_type, "VirtualCenter") == 0;
    if (!r->session_manager || !r->property_collector || !r->root_folder ||
        !version || !version[0] || strlen (version) > 16 ||
        strspn (version, "0123456789.") != strlen (version))
      err = vdl_error (VIX_E_FAIL, "%s: the ServiceContent lacks the "
                       "session manager, property collector, root folder "
                       "or API version: is it an ESXi or vCenter server?",
                       r->host);
    else
      snprintf (r->soap_action, sizeof r->soap_action, "urn:vim25/%s",
                version);
  }
  free (version);
  free (api_type);
  vdl_soap_reply_free (&reply);
  return err;
}

static VixError
login (struct vdl_remote *r)
{
  struct vdl_soap_reply reply;
  char *sm = vdl_xml_escape (r->session_manager);
  char *user = vdl_xml_escape (r->user);
  char *pass = vdl_xml_escape (r->password);
  char *body = NULL;
  VixError err;

  if (!sm || !user || !pass ||
      asprintf (&body, "<Login><_this type=\"SessionManager\">%s</_this>"
                "<userName>%s</userName><password>%s</password></Login>",
                sm, user, pass) < 0) {
    body = NULL;
    err = vdl_oom ();
    memset (&reply, 0, sizeof reply);
  }
  else
    err = vdl_soap_call_secret (r, "Login", body, &reply);
  if (err != VIX_OK) {
    if (strcmp (reply.fault, "InvalidLogin") == 0)
      err = vdl_error (VIX_E_FILE_ACCESS_ERROR,
                       "login to %s as %s failed: wrong user name or "
                       "password (%s)", r->host, r->user, reply.fault_text);
    else if (reply.fault[0])
      err = vdl_error (VIX_E_FILE_ACCESS_ERROR,
                       "login to %s as %s failed: %s (%s)", r->host,
                       r->user, reply.fault_text, reply.fault);
  }
  else if (!reply.session_cookie)
    err = vdl_error (VIX_E_FAIL, "login to %s as %s: the server set no "
                     "session cookie", r->host, r->user);
  else {
    pthread_mutex_lock (&r->lock);
    err = cookie_replace (r, reply.session_cookie);
    reply.session_cookie = NULL;
    if (err == VIX_OK) {
      r->generation++;
      r->own_session = true;
    }
    pthread_mutex_unlock (&r->lock);
    if (err == VIX_OK)
      vdl_debug ("VixDiskLib: %s: logged in as %s", r->host, r->user);
  }
  vdl_soap_reply_free (&reply);
  vdl_zfree (body);
  vdl_zfree (pass);
  free (user);
  free (sm);
  return err;
}

VixError
vdl_remote_relogin (struct vdl_remote *r, unsigned generation)
{
  VixError err = VIX_OK;
  bool mine = false;

  pthread_mutex_lock (&r->lock);
  while (r->logging_in)
    pthread_cond_wait (&r->login_done, &r->lock);
  if (r->generation == generation) {
    r->logging_in = mine = true;
  }
  pthread_mutex_unlock (&r->lock);
  if (!mine)
    return VIX_OK;              /* another thread logged in meanwhile */

  vdl_debug ("VixDiskLib: %s: session lost, logging in again", r->host);
  err = login (r);
  pthread_mutex_lock (&r->lock);
  r->logging_in = false;
  pthread_cond_broadcast (&r->login_done);
  pthread_mutex_unlock (&r->lock);
  return err;
}

VixError
vdl_remote_call (struct vdl_remote *r, const char *method, const char *body,
                 struct vdl_soap_reply *reply)
{
  unsigned generation;
  const struct vdl_cookie *cookie;
  VixError err;
  int attempt;

  for (attempt = 0; ; attempt++) {
    cookie = vdl_remote_cookie (r, &generation);
    err = vdl_soap_call (r, vdl_cookie_text (cookie), method, body, reply);
    vdl_remote_cookie_free (r, cookie);
    if (err == VIX_OK || strcmp (reply->fault, "NotAuthenticated") != 0)
      return err;
    if (attempt > 0)
      return vdl_error (VIX_E_FILE_ACCESS_ERROR,
                        "%s: %s: not authenticated, even after logging in "
                        "again", r->host, method);
    /* Generation 0: the cookie is the one given (cookie=), not one of
     * our logins; say so rather than blame the password. */
    if (!r->user || !r->password)
      return vdl_error (VIX_E_FILE_ACCESS_ERROR,
                        "%s: %s: not authenticated: %s, and no password "
                        "login was tried: no user name and password were "
                        "given", r->host, method, generation == 0
                        ? "the session cookie given (cookie=) was rejected "
                        "(not or no longer valid)"
                        : "the session is no longer valid");
    vdl_soap_reply_free (reply);
    if (generation == 0)
      vdl_debug ("VixDiskLib: %s: the session cookie given was rejected; "
                 "logging in as %s with the password", r->host, r->user);
    err = vdl_remote_relogin (r, generation);
    if (err != VIX_OK && generation == 0) {
      char *text = vdl_error_text (err);
      vdl_error (err, "%s: the session cookie given (cookie=) was rejected "
                 "(not or no longer valid), and the password login tried "
                 "after it failed: %s", r->host,
                 text ? text : "unknown error");
      free (text);
    }
    if (err != VIX_OK)
      return err;
  }
}

void
vdl_remote_logout (struct vdl_remote *r)
{
  struct vdl_soap_reply reply;
  char *sm = vdl_xml_escape (r->session_manager), *body;
  const struct vdl_cookie *cookie;
  unsigned generation;

  if (sm && asprintf (&body, "<Logout><_this type=\"SessionManager\">%s"
                      "</_this></Logout>", sm) >= 0) {
    /* A failure only leaves a session to expire on the server; a lost
     * session is not worth a new login. */
    cookie = vdl_remote_cookie (r, &generation);
    if (vdl_soap_call (r, vdl_cookie_text (cookie), "Logout", body,
                       &reply) == VIX_OK)
      vdl_debug ("VixDiskLib: %s: logged out", r->host);
    vdl_remote_cookie_free (r, cookie);
    vdl_soap_reply_free (&reply);
    free (body);
  }
  free (sm);
}

/* The cookie as a Cookie header value; the caller may give the value
 * alone or as "vmware_soap_session=value". */
static char *
cookie_header (const char *given)
{
  if (strncmp (given, COOKIE_NAME, sizeof COOKIE_NAME - 1) == 0)
    return vdl_secret_strdup (given);
  return vdl_secret_concat (COOKIE_NAME, given);
}

VixError
vdl_remote_use_cookie (struct vdl_remote *r, const char *given)
{
  char *text = cookie_header (given);
  VixError err;

  if (!text)
    return vdl_oom ();
  pthread_mutex_lock (&r->lock);
  err = cookie_replace (r, text);
  pthread_mutex_unlock (&r->lock);
  return err;
}

VixError
vdl_remote_session_start (struct vdl_remote *r)
{
  VixError err = service_content (r);

  if (err == VIX_OK && !r->cookie)
    err = login (r);
  return err;
}

void
vdl_remote_session_free (struct vdl_remote *r)
{
  cookie_destroy (r->cookie);
  r->cookie = NULL;
  vdl_secret_free (r->password);
  r->password = NULL;
}
