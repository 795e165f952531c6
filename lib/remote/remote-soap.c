/* SPDX-License-Identifier: BSD-3-Clause */
/* SOAP over the pool: wrap a method in an envelope, POST it to /sdk,
 * parse the reply and name its fault. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"
#include "remote-retry.h"
#include "remote-xml.h"
#include "secret.h"

void
vdl_soap_reply_free (struct vdl_soap_reply *reply)
{
  if (reply->doc)
    xmlFreeDoc (reply->doc);
  free (reply->fault_text);
  vdl_secret_free (reply->session_cookie);
  memset (reply, 0, sizeof *reply);
}

/* The fault's type: detail's element has it as xsi:type
 * ("InvalidLogin"), or in its name ("InvalidLoginFault"). */
static void
fault_type (xmlNode *fault, char *out)
{
  xmlNode *d = vdl_xml_element (vdl_xml_child (fault, NULL, "detail"));
  size_t n;

  out[0] = '\0';
  if (!d)
    return;
  vdl_xml_type (d, out, VDL_FAULT_LEN);
  if (!out[0]) {
    snprintf (out, VDL_FAULT_LEN, "%s", (const char *) d->name);
    n = strlen (out);
    if (n > 5 && strcmp (out + n - 5, "Fault") == 0)
      out[n - 5] = '\0';
  }
}

/* vcsim answers RetrievePropertiesEx without a session with a
 * NotAuthenticated fault per property instead of a SOAP fault. */
static bool
properties_unauthenticated (xmlNode *response)
{
  xmlNode *o, *m;
  char type[VDL_FAULT_LEN];

  for (o = vdl_xml_child (vdl_xml_child (response, VDL_NS_VIM, "returnval"),
                          VDL_NS_VIM, "objects");
       o; o = vdl_xml_next (o, VDL_NS_VIM, "objects"))
    for (m = vdl_xml_child (o, VDL_NS_VIM, "missingSet"); m;
         m = vdl_xml_next (m, VDL_NS_VIM, "missingSet")) {
      vdl_xml_type (vdl_xml_child (vdl_xml_child (m, VDL_NS_VIM, "fault"),
                                   VDL_NS_VIM, "fault"),
                    type, sizeof type);
      if (strcmp (type, "NotAuthenticated") == 0)
        return true;
    }
  return false;
}

static VixError
parse (struct vdl_remote *r, const char *method,
       const struct vdl_http_response *rs, struct vdl_soap_reply *reply)
{
  xmlNode *env, *body, *first;
  char *text;

  reply->doc = vdl_xml_parse (rs->body ? rs->body : "", rs->body_len);
  env = reply->doc ? xmlDocGetRootElement (reply->doc) : NULL;
  body = vdl_xml_is (env, VDL_NS_SOAP, "Envelope")
    ? vdl_xml_child (env, VDL_NS_SOAP, "Body") : NULL;
  first = vdl_xml_element (body);
  if (!first) {
    if (rs->status != 200)
      return vdl_error (VIX_E_FAIL, "%s answered %s with HTTP status %ld "
                        "and no SOAP reply (is it an ESXi or vCenter "
                        "server?)", r->host, method, rs->status);
    return vdl_error (VIX_E_FAIL, "%s answered %s with something that is "
                      "not a SOAP reply", r->host, method);
  }
  if (vdl_xml_is (first, VDL_NS_SOAP, "Fault")) {
    fault_type (first, reply->fault);
    text = vdl_xml_text (vdl_xml_child (first, NULL, "faultstring"));
    if (!text || !text[0]) {
      free (text);
      text = strdup ("no reason given");
    }
    reply->fault_text = text;
    return vdl_error (VIX_E_FAIL, "%s: %s failed: %s (%s)", r->host, method,
                      text ? text : "?",
                      reply->fault[0] ? reply->fault : "unknown fault");
  }
  if (rs->status != 200)
    return vdl_error (VIX_E_FAIL, "%s answered %s with HTTP status %ld",
                      r->host, method, rs->status);
  reply->response = first;
  if (properties_unauthenticated (first)) {
    snprintf (reply->fault, sizeof reply->fault, "NotAuthenticated");
    return vdl_error (VIX_E_FAIL, "%s: %s failed: not authenticated "
                      "(NotAuthenticated)", r->host, method);
  }
  return VIX_OK;
}

/* secret: the body holds the password and the answer the new session
 * (its cookie, and on some servers the same value as the session's key
 * in the body).  The connection is then not kept (see vdl_http_request),
 * and a successful answer is not parsed: it is recognised by its status
 * and cookie alone, so that libxml2 never holds a copy of it. */
static VixError
call (struct vdl_remote *r, const char *cookie, const char *method,
      const char *body, bool secret, struct vdl_soap_reply *reply)
{
  static const char head[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<soapenv:Envelope"
    " xmlns:soapenv=\"" VDL_NS_SOAP "\""
    " xmlns:xsi=\"" VDL_NS_XSI "\""
    " xmlns=\"" VDL_NS_VIM "\"><soapenv:Body>";
  static const char tail[] = "</soapenv:Body></soapenv:Envelope>";
  struct vdl_http_request rq = { .method = "POST", .cookie = cookie,
                                 .soap_action = r->soap_action,
                                 .secret = secret };
  struct vdl_http_response rs;
  struct vdl_http *h;
  size_t blen = strlen (body);
  char *envelope, *url, *p;
  int retries = 0;
  struct vdl_retry busy;
  char what[96];
  VixError err;

  memset (reply, 0, sizeof *reply);
  envelope = malloc (sizeof head + blen + sizeof tail);
  if (!envelope || asprintf (&url, "%s/sdk", r->base) < 0) {
    free (envelope);
    return vdl_oom ();
  }
  p = stpcpy (envelope, head);
  memcpy (p, body, blen);
  memcpy (p + blen, tail, sizeof tail);
  rq.url = url;
  rq.body = envelope;

  /* The method name only: bodies may hold a password. */
  vdl_debug ("VixDiskLib: %s: SOAP %s", r->host, method);
  err = vdl_http_get (r->pool, secret, &h);
  if (err == VIX_OK) {
    /* Every call we make may be repeated: a dropped connection is
     * replaced as for reads, and a busy server asked again later. */
    snprintf (what, sizeof what, "SOAP %s", method);
    vdl_retry_start (&busy);
    for (;;) {
      vdl_http_perform (h, &rq, &rs);
      if (vdl_retry_wait (&busy, &rs, r->host, what)) {
        vdl_http_response_free (&rs);
        rq.fresh = true;
        continue;
      }
      if (rs.code == CURLE_OK || !vdl_http_retryable (&rs) ||
          retries++ == VDL_HTTP_RETRIES)
        break;
      vdl_debug ("VixDiskLib: %s: SOAP %s: %s; retrying on a new "
                 "connection", r->host, method, rs.error);
      vdl_http_response_free (&rs);
      rq.fresh = true;
    }
    vdl_http_put (r->pool, h);
    if (rs.code != CURLE_OK)
      err = vdl_http_error (r->host, &r->pin, &rs, method);
    else {
      if (secret && rs.status == 200 && rs.session_cookie)
        err = VIX_OK;
      else
        err = parse (r, method, &rs, reply);
      reply->session_cookie = rs.session_cookie;
      rs.session_cookie = NULL;
    }
    vdl_http_response_free (&rs);
  }
  vdl_zfree (envelope);
  free (url);
  return err;
}

VixError
vdl_soap_call (struct vdl_remote *r, const char *cookie, const char *method,
               const char *body, struct vdl_soap_reply *reply)
{
  return call (r, cookie, method, body, false, reply);
}

VixError
vdl_soap_call_secret (struct vdl_remote *r, const char *method,
                      const char *body, struct vdl_soap_reply *reply)
{
  return call (r, NULL, method, body, true, reply);
}
