/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading inventory properties through the PropertyCollector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "remote-internal.h"
#include "remote-xml.h"

/* Call fn for each <objects> of a returnval; the continuation token if
 * the server has more pages. */
static VixError
each_object (xmlNode *response, vdl_object_fn *fn, void *ctx, char **token)
{
  xmlNode *rv = vdl_xml_child (response, VDL_NS_VIM, "returnval"), *o;
  VixError err;

  /* No returnval at all: nothing matched. */
  for (o = vdl_xml_child (rv, VDL_NS_VIM, "objects"); o;
       o = vdl_xml_next (o, VDL_NS_VIM, "objects"))
    if ((err = fn (ctx, o)) != VIX_OK)
      return err;
  *token = vdl_xml_vim_text (rv, "token");
  return VIX_OK;
}

VixError
vdl_remote_retrieve (struct vdl_remote *r, const char *spec,
                     vdl_object_fn *fn, void *ctx, char fault[VDL_FAULT_LEN])
{
  struct vdl_soap_reply reply;
  char *pc = vdl_xml_escape (r->property_collector), *body = NULL;
  char *token = NULL, *tok;
  const char *method = "RetrievePropertiesEx";
  VixError err;

  if (fault)
    fault[0] = '\0';
  if (!pc || asprintf (&body, "<RetrievePropertiesEx><_this type="
                       "\"PropertyCollector\">%s</_this><specSet>%s"
                       "</specSet><options/></RetrievePropertiesEx>",
                       pc, spec) < 0) {
    free (pc);
    return vdl_oom ();
  }
  for (;;) {
    err = vdl_remote_call (r, method, body, &reply);
    if (err == VIX_OK)
      err = each_object (reply.response, fn, ctx, &token);
    else if (fault)
      memcpy (fault, reply.fault, VDL_FAULT_LEN);
    vdl_soap_reply_free (&reply);
    free (body);
    body = NULL;
    if (err != VIX_OK || !token)
      break;
    /* The next page. */
    method = "ContinueRetrievePropertiesEx";
    tok = vdl_xml_escape (token);
    free (token);
    token = NULL;
    if (!tok || asprintf (&body, "<ContinueRetrievePropertiesEx><_this "
                          "type=\"PropertyCollector\">%s</_this><token>%s"
                          "</token></ContinueRetrievePropertiesEx>",
                          pc, tok) < 0) {
      free (tok);
      body = NULL;
      err = vdl_oom ();
      break;
    }
    free (tok);
  }
  free (token);
  free (body);
  free (pc);
  return err;
}

xmlNode *
vdl_remote_prop (const xmlNode *object, const char *path)
{
  xmlNode *ps;
  char *name;
  bool match;

  for (ps = vdl_xml_child (object, VDL_NS_VIM, "propSet"); ps;
       ps = vdl_xml_next (ps, VDL_NS_VIM, "propSet")) {
    name = vdl_xml_vim_text (ps, "name");
    match = name && strcmp (name, path) == 0;
    free (name);
    if (match)
      return vdl_xml_child (ps, VDL_NS_VIM, "val");
  }
  return NULL;
}

void
vdl_remote_obj_type (const xmlNode *object, char *buf, size_t size)
{
  xmlNode *obj = vdl_xml_child (object, VDL_NS_VIM, "obj");
  xmlChar *type = obj ? xmlGetProp (obj, BAD_CAST "type") : NULL;

  snprintf (buf, size, "%s", type ? (const char *) type : "");
  xmlFree (type);
}
