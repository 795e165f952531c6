/* SPDX-License-Identifier: BSD-3-Clause */
/* libxml2 helpers for SOAP replies (see remote-xml.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "remote-xml.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
init (void)
{
  xmlInitParser ();
}

static void
quiet (void *ctx, const char *msg, ...)
{
  (void) ctx;
  (void) msg;
}

xmlDoc *
vdl_xml_parse (const char *text, size_t len)
{
  xmlGenericErrorFunc old_func;
  void *old_ctx;
  xmlDoc *doc;

  pthread_once (&init_once, init);
  if (len > (size_t) __INT_MAX__)
    return NULL;
  /* Replies come from the network: no DTDs fetched, no entities
   * substituted, no error printed on stderr.  The flags do not silence
   * the encoding layer, which would print bytes of a bad reply, so this
   * thread's generic handler is quiet while parsing (libxml2 keeps it
   * per thread: the application's own handler is left alone). */
  old_func = xmlGenericError;
  old_ctx = xmlGenericErrorContext;
  xmlSetGenericErrorFunc (NULL, quiet);
  doc = xmlReadMemory (text, (int) len, "reply.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR |
                       XML_PARSE_NOWARNING);
  xmlSetGenericErrorFunc (old_ctx, old_func);
  return doc;
}

bool
vdl_xml_is (const xmlNode *node, const char *ns, const char *name)
{
  if (!node || node->type != XML_ELEMENT_NODE)
    return false;
  if (name && strcmp ((const char *) node->name, name) != 0)
    return false;
  if (!ns)
    return !node->ns || !node->ns->href;
  return node->ns && node->ns->href &&
    strcmp ((const char *) node->ns->href, ns) == 0;
}

xmlNode *
vdl_xml_next (const xmlNode *node, const char *ns, const char *name)
{
  xmlNode *n;

  for (n = node ? node->next : NULL; n; n = n->next)
    if (vdl_xml_is (n, ns, name))
      return n;
  return NULL;
}

xmlNode *
vdl_xml_child (const xmlNode *node, const char *ns, const char *name)
{
  xmlNode *n;

  for (n = node ? node->children : NULL; n; n = n->next)
    if (vdl_xml_is (n, ns, name))
      return n;
  return NULL;
}

xmlNode *
vdl_xml_element (const xmlNode *node)
{
  xmlNode *n;

  for (n = node ? node->children : NULL; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE)
      return n;
  return NULL;
}

char *
vdl_xml_text (const xmlNode *node)
{
  xmlChar *t;
  char *r;

  if (!node)
    return NULL;
  t = xmlNodeGetContent (node);
  r = strdup (t ? (const char *) t : "");
  xmlFree (t);
  return r;
}

char *
vdl_xml_vim_text (const xmlNode *node, const char *name)
{
  return vdl_xml_text (vdl_xml_child (node, VDL_NS_VIM, name));
}

bool
vdl_xml_vim_number (const xmlNode *node, const char *name, uint64_t *out)
{
  char *text = vdl_xml_vim_text (node, name), *end;
  unsigned long long v = 0;
  bool ok = text && text[0] >= '0' && text[0] <= '9';

  if (ok) {
    errno = 0;
    v = strtoull (text, &end, 10);
    ok = !errno && !*end && v <= INT64_MAX;
  }
  free (text);
  *out = ok ? v : 0;
  return ok;
}

void
vdl_xml_type (const xmlNode *node, char *buf, size_t size)
{
  xmlChar *t = node ? xmlGetNsProp (node, BAD_CAST "type",
                                    BAD_CAST VDL_NS_XSI) : NULL;
  const char *v = t ? (const char *) t : "", *colon = strchr (v, ':');

  snprintf (buf, size, "%s", colon ? colon + 1 : v);
  xmlFree (t);
}

char *
vdl_xml_escape (const char *s)
{
  size_t n = 1;
  const char *p;
  char *r, *q;

  for (p = s; *p; p++)
    n += strchr ("&<>\"'", *p) ? 6 : 1;
  r = q = malloc (n);
  if (!r)
    return NULL;
  for (p = s; *p; p++)
    switch (*p) {
    case '&': q = stpcpy (q, "&amp;"); break;
    case '<': q = stpcpy (q, "&lt;"); break;
    case '>': q = stpcpy (q, "&gt;"); break;
    case '"': q = stpcpy (q, "&quot;"); break;
    case '\'': q = stpcpy (q, "&apos;"); break;
    default: *q++ = *p;
    }
  *q = '\0';
  return r;
}
