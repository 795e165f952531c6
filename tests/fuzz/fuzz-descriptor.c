/* SPDX-License-Identifier: BSD-3-Clause */
/* The text descriptor (lib/vmdk/descriptor.c): parsing, and the edits the
 * library makes to a descriptor it has parsed.
 *
 * The input is descriptor text.  Whatever parses must survive what the
 * library later does with it, each edit leaving a descriptor that
 * parses to the same thing with only the edit changed:
 *   - format (how Create and Clone write descriptors) and parse again;
 *   - replace the CID (the first write after each open);
 *   - set a DDB entry in the text (WriteMetadata, the long content ID).
 */
#include <stdbool.h>
#include <string.h>

#include "descriptor.h"
#include "fuzz.h"

#define NEW_CID 0x1234abcdu
#define KEY "ddb.uuid"
#define VALUE "60 00 C2 9a 12 34 56 78-9a bc de f0 12 34 56 78"

static bool
same_str (const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

/* Everything but the CID and the DDB, which the edits change. */
static void
check_same_header (const struct vdl_descriptor *a,
                   const struct vdl_descriptor *b)
{
  size_t i;

  FUZZ_CHECK (a->version == b->version);
  FUZZ_CHECK (a->parent_cid == b->parent_cid);
  FUZZ_CHECK (same_str (a->create_type, b->create_type));
  FUZZ_CHECK (same_str (a->parent_hint, b->parent_hint));
  FUZZ_CHECK (a->n_extents == b->n_extents);
  for (i = 0; i < a->n_extents; i++) {
    const struct vdl_desc_extent *x = &a->extents[i], *y = &b->extents[i];
    FUZZ_CHECK (x->access == y->access);
    FUZZ_CHECK (x->sectors == y->sectors);
    FUZZ_CHECK (x->type == y->type);
    FUZZ_CHECK (same_str (x->filename, y->filename));
    /* Only flat extents have an offset the library uses (and writes). */
    if (x->type == VDL_EXTENT_FLAT)
      FUZZ_CHECK (x->offset == y->offset);
  }
}

static void
check_same_ddb (const struct vdl_descriptor *a,
                const struct vdl_descriptor *b)
{
  size_t i;

  FUZZ_CHECK (a->n_ddb == b->n_ddb);
  for (i = 0; i < a->n_ddb; i++) {
    FUZZ_CHECK (strcmp (a->ddb[i].key, b->ddb[i].key) == 0);
    FUZZ_CHECK (strcmp (a->ddb[i].value, b->ddb[i].value) == 0);
  }
}

/* text must parse (it came from a descriptor that did). */
static void
reparse (const char *text, struct vdl_descriptor *out)
{
  char err[256];

  if (vdl_descriptor_parse (text, strlen (text), out, err,
                            sizeof err) == -1) {
    fprintf (stderr, "edited descriptor does not parse: %s\n---\n%s\n---\n",
             err, text);
    FUZZ_CHECK (!"an edited descriptor parses");
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct vdl_descriptor d, e;
  char err[256], *text, *edited;
  size_t i;

  /* The library reads descriptors of up to 1 MiB; longer inputs add
   * nothing but time. */
  if (size > 65536)
    return 0;
  err[0] = '\0';
  if (vdl_descriptor_parse ((const char *) data, size, &d, err,
                            sizeof err) == -1) {
    FUZZ_CHECK (err[0] != '\0');        /* every failure explains itself */
    return 0;
  }
  FUZZ_CHECK (d.create_type != NULL);
  for (i = 0; i < d.n_extents; i++) {
    FUZZ_CHECK (vdl_extent_type_name (d.extents[i].type) != NULL);
    FUZZ_CHECK ((d.extents[i].type == VDL_EXTENT_ZERO) ==
                (d.extents[i].filename == NULL));
  }
  vdl_descriptor_ddb (&d, "ddb.adapterType");
  vdl_descriptor_ddb (&d, "ddb.geometry.cylinders");

  /* As link.c keeps it: the text up to the first NUL. */
  text = strndup ((const char *) data, size);
  FUZZ_CHECK (text != NULL);

  edited = vdl_descriptor_format (&d);
  FUZZ_CHECK (edited != NULL);
  reparse (edited, &e);
  check_same_header (&d, &e);
  FUZZ_CHECK (e.cid == d.cid);
  check_same_ddb (&d, &e);
  vdl_descriptor_free (&e);
  free (edited);

  edited = vdl_descriptor_replace_cid (text, NEW_CID);
  if (edited) {                 /* NULL: no CID line, nothing to update */
    reparse (edited, &e);
    check_same_header (&d, &e);
    FUZZ_CHECK (e.cid == NEW_CID);
    check_same_ddb (&d, &e);
    vdl_descriptor_free (&e);
    free (edited);
  }

  edited = vdl_descriptor_set_ddb_text (text, KEY, VALUE);
  FUZZ_CHECK (edited != NULL);
  reparse (edited, &e);
  check_same_header (&d, &e);
  FUZZ_CHECK (e.cid == d.cid);
  FUZZ_CHECK (same_str (vdl_descriptor_ddb (&e, KEY), VALUE));
  vdl_descriptor_free (&e);
  free (edited);

  FUZZ_CHECK (vdl_descriptor_set_ddb (&d, KEY, VALUE) == 0);
  FUZZ_CHECK (same_str (vdl_descriptor_ddb (&d, KEY), VALUE));

  free (text);
  vdl_descriptor_free (&d);
  return 0;
}
