/* SPDX-License-Identifier: BSD-3-Clause */
/* Small libxml2 helpers for vSphere's SOAP: elements are matched by
 * namespace and local name (servers choose their own prefixes: vcsim
 * writes xsi:type as "XMLSchema-instance:type"), and strings going into
 * requests are escaped.
 */
#ifndef VDL_REMOTE_XML_H
#define VDL_REMOTE_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#define VDL_NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define VDL_NS_VIM "urn:vim25"
#define VDL_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"

/* Parse a reply (no network access, no entity expansion); NULL if it
 * is not well-formed XML. */
xmlDoc *vdl_xml_parse (const char *text, size_t len);

/* Whether node is an element ns:name (ns NULL: in no namespace). */
bool vdl_xml_is (const xmlNode *node, const char *ns, const char *name);
/* The first element child of node (or the next element sibling after
 * node) named ns:name; name NULL matches any element. */
xmlNode *vdl_xml_child (const xmlNode *node, const char *ns,
                        const char *name);
xmlNode *vdl_xml_next (const xmlNode *node, const char *ns,
                       const char *name);
/* The first element child of node, whatever its name. */
xmlNode *vdl_xml_element (const xmlNode *node);
/* A vim25 child's text, malloc'd; NULL if there is no such child. */
char *vdl_xml_vim_text (const xmlNode *node, const char *name);
/* A vim25 child's decimal value (xsd:long or int, at least 0) into
 * *out; false (and 0) if there is no such child or it is not one. */
bool vdl_xml_vim_number (const xmlNode *node, const char *name,
                         uint64_t *out);
/* node's text, malloc'd; NULL for a NULL node. */
char *vdl_xml_text (const xmlNode *node);
/* node's xsi:type without its prefix ("" if none), into buf. */
void vdl_xml_type (const xmlNode *node, char *buf, size_t size);

/* s with &, <, >, " and ' escaped; malloc'd (NULL: out of memory). */
char *vdl_xml_escape (const char *s);

#endif
