/* SPDX-License-Identifier: BSD-3-Clause */
/* Checking and repairing the grain tables of a grain-table extent, and
 * the directory entries that name them, against their redundant copies.
 *
 * Every table entry (and directory entry) has a primary and, in hosted
 * sparse files, a redundant value.  Each value is good (it names a
 * place inside the file, past the metadata), none (0: no grain, no
 * table) or bad.  Entries are only ever set, never cleared, so where
 * one copy names a place and the other is none or bad, the one naming a
 * place is right; where one is none and the other bad, none is right.
 * Where both name different places, either may be right (a write was
 * interrupted between the copies, or one was damaged into something
 * plausible): nothing of that table is changed, the problem is left to
 * the user.  Where both are bad, or bad with no copy (COWD), the entry
 * is cleared and the sectors it covered are reported: they read as
 * unallocated.
 *
 * Nothing is overwritten in a hosted sparse file (copy on write): a
 * repaired table is written after the end of the file, then a repaired
 * directory naming it, both synced before the header's 64-bit directory
 * offset is switched to the new directory (vdl_check_commit_dirs).  A
 * kill at any point leaves either the old metadata or the repaired one,
 * never a mix, and never loses a good value; the old tables stay where
 * they were, unused.  A COWD file has no copies: its bad entries are
 * cleared in place, which overwrites nothing good. */
#include <endian.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check-grained.h"
#include "error.h"

#define SS VIXDISKLIB_SECTOR_SIZE
#define SAID_MAX 4              /* detailed messages per table and kind */

enum ent { ENT_BAD, ENT_NONE, ENT_GOOD };   /* worse to better */

/* Are problems being repaired (not for a table held by a conflict)? */
static bool
fixing (const struct grained *g)
{
  return g->c->repair && !g->stream && !g->hold;
}

/* One copy of a table: its entries, or what every entry is when the
 * directory names no usable table (absent != ENT_GOOD). */
struct side {
  uint32_t *e;
  enum ent absent;
  bool fixed;
};

/* Problems of one table pair, for messages. */
struct tally {
  uint64_t t;
  unsigned said[3], more[3];    /* restored primary, redundant; conflicts */
  uint64_t lost_first, lost_n;  /* a run of lost entries */
  uint32_t lost_value;
};

static enum ent
grain_class (const struct grained *g, uint32_t e)
{
  if (e == 0)
    return ENT_NONE;
  if (e == 1 && (g->h.flags & KDMV_FLAG_ZERO_GTE))
    return ENT_GOOD;
  return e >= g->min_entry && e < g->file_sectors ? ENT_GOOD : ENT_BAD;
}

static bool
overlaps (uint64_t a, uint64_t n, uint64_t b, uint64_t m)
{
  return a < b + m && b < a + n;
}

static enum ent
table_class (const struct grained *g, uint32_t e)
{
  if (e == 0)
    return ENT_NONE;
  if (e < g->min_gt || e + g->gt_sectors > g->file_sectors ||
      (g->h.desc_size &&
       overlaps (e, g->gt_sectors, g->h.desc_offset, g->h.desc_size)) ||
      (g->rebuilt_dir != 1 &&
       overlaps (e, g->gt_sectors, g->h.gd_offset, g->gd_sectors)) ||
      (g->rgd && g->rebuilt_dir != 2 &&
       overlaps (e, g->gt_sectors, g->h.rgd_offset, g->gd_sectors)))
    return ENT_BAD;
  return ENT_GOOD;
}

static const char *
grain_why (const struct grained *g, uint32_t e)
{
  return e >= g->file_sectors ? "past the end of the file"
    : "into the metadata";
}

static const char *
table_why (const struct grained *g, uint32_t e)
{
  return e + g->gt_sectors > g->file_sectors ? "outside the file"
    : table_class (g, e) == ENT_BAD
    ? "into the header, the descriptor or a directory"
    : "onto another grain table";
}

struct span {
  uint32_t at;
  uint32_t who;                 /* table * 2 + (1 if redundant) */
};

static int
span_cmp (const void *a, const void *b)
{
  const struct span *x = a, *y = b;

  return x->at < y->at ? -1 : x->at > y->at;
}

/* Mark in g->shared the directory entries whose table overlaps another
 * one's: a damaged entry that names another table (or the table of the
 * other copy) looks valid, but its table is not its own. */
static VixError
find_shared (struct grained *g)
{
  struct span *sp = malloc (2 * g->n_gts * sizeof *sp + 1);
  uint64_t n = 0, t, i;

  g->shared = calloc (g->n_gts + 1, 1);
  if (!sp || !g->shared) {
    free (sp);
    return vdl_oom ();
  }
  for (t = 0; t < g->n_gts; t++) {
    if (table_class (g, g->gd[t]) == ENT_GOOD)
      sp[n++] = (struct span) { g->gd[t], t * 2 };
    if (g->rgd && table_class (g, g->rgd[t]) == ENT_GOOD)
      sp[n++] = (struct span) { g->rgd[t], t * 2 + 1 };
  }
  qsort (sp, n, sizeof *sp, span_cmp);
  /* Tables are all the same size: overlaps are between neighbours. */
  for (i = 1; i < n; i++)
    if (sp[i].at < (uint64_t) sp[i - 1].at + g->gt_sectors) {
      /* Both copies of one entry naming one table: the data is not in
       * doubt, only the redundancy is lost (rebuilt from the primary). */
      if (sp[i].who / 2 == sp[i - 1].who / 2 && sp[i].at == sp[i - 1].at) {
        g->shared[sp[i].who / 2] |= 2;
        continue;
      }
      g->shared[sp[i].who / 2] |= 1 << (sp[i].who % 2);
      g->shared[sp[i - 1].who / 2] |= 1 << (sp[i - 1].who % 2);
    }
  free (sp);
  return VIX_OK;
}

/* "sectors A-B" of the disk covered by n grains from grain index i
 * (table t entry j is grain t * gt_entries + j). */
static const char *
sectors (const struct grained *g, uint64_t grain, uint64_t n, char *buf,
         size_t len)
{
  uint64_t a = grain * g->h.grain_size, b = a + n * g->h.grain_size;

  if (b > g->h.capacity)
    b = g->h.capacity;
  if (a >= b)
    snprintf (buf, len, "no sectors (past the capacity)");
  else
    snprintf (buf, len, "sectors %" PRIu64 "-%" PRIu64 " of the disk",
              g->c->base + a, g->c->base + b - 1);
  return buf;
}

/* What clearing n entries from grain index i does (or would do). */
static void
outcome (const struct grained *g, uint64_t grain, uint64_t n, char *buf,
         size_t len)
{
  char r[96];

  sectors (g, grain, n, r, sizeof r);
  if (fixing (g))
    snprintf (buf, len, "cleared, %s now read as %s", r,
              g->c->delta || g->cowd ? "the parent's data" : "zeros");
  else
    snprintf (buf, len, "%s are lost", r);
}

static void
say_lost_run (struct grained *g, struct tally *y)
{
  struct vdl_check *c = g->c;
  bool repair = fixing (g);
  char r[160];

  if (y->lost_n == 0)
    return;
  outcome (g, y->t * g->gt_entries + y->lost_first, y->lost_n, r, sizeof r);
  if (y->lost_n == 1)
    vdl_check_problem (c, g->f->path, repair, "grain table %" PRIu64
                       " entry %" PRIu64 " points to sector %" PRIu32 ", %s,"
                       " with no good copy: %s", y->t, y->lost_first,
                       y->lost_value, grain_why (g, y->lost_value), r);
  else
    vdl_check_problem (c, g->f->path, repair, "grain table %" PRIu64
                       " entries %" PRIu64 "-%" PRIu64 " point outside the"
                       " file or into the metadata, with no good copy: %s",
                       y->t, y->lost_first, y->lost_first + y->lost_n - 1, r);
  y->lost_n = 0;
}

static void
lost (struct grained *g, struct tally *y, uint64_t i, uint32_t value)
{
  if (y->lost_n && y->lost_first + y->lost_n == i) {
    y->lost_n++;
    return;
  }
  say_lost_run (g, y);
  y->lost_first = i;
  y->lost_n = 1;
  y->lost_value = value;
}

/* The value v of one copy, for a message. */
static const char *
describe (const struct grained *g, uint32_t v, char *buf, size_t len)
{
  if (v == 0)
    snprintf (buf, len, "0, no grain");
  else if (grain_class (g, v) == ENT_BAD)
    snprintf (buf, len, "sector %" PRIu32 ", %s", v, grain_why (g, v));
  else
    snprintf (buf, len, "sector %" PRIu32, v);
  return buf;
}

enum kind { RESTORED_PRIMARY, RESTORED_REDUNDANT, CONFLICT };

static void
say_entry (struct grained *g, struct tally *y, enum kind k, uint64_t i,
           uint32_t p, uint32_t r)
{
  struct vdl_check *c = g->c;
  bool repair = fixing (g);
  char a[96], b[96];

  if (y->said[k] == SAID_MAX) {
    y->more[k]++;
    return;
  }
  y->said[k]++;
  describe (g, p, a, sizeof a);
  describe (g, r, b, sizeof b);
  if (k == RESTORED_PRIMARY)
    vdl_check_problem (c, g->f->path, repair, "grain table %" PRIu64
                       " entry %" PRIu64 " is %s; %s the redundant copy "
                       "(%s)", y->t, i, a, repair ? "restored from"
                       : "it can be restored from", b);
  else if (k == RESTORED_REDUNDANT)
    vdl_check_problem (c, g->f->path, repair, "the redundant copy of grain "
                       "table %" PRIu64 " differs from the primary one at "
                       "entry %" PRIu64 " (%s); %s the primary (%s)", y->t,
                       i, b, repair ? "restored from" : "it can be restored "
                       "from", a);
  else
    vdl_check_problem (c, g->f->path, false, "grain table %" PRIu64
                       " entry %" PRIu64 " is %s in the primary copy and %s "
                       "in the redundant one: either may be right, so "
                       "neither is chosen (the disk reads the primary)",
                       y->t, i, a, b);
}

static void
say_more (struct grained *g, const struct tally *y)
{
  struct vdl_check *c = g->c;
  bool repair = fixing (g);

  if (y->more[RESTORED_PRIMARY])
    vdl_check_problem (c, g->f->path, repair, "grain table %" PRIu64 ": %u "
                       "more entries %s the redundant copy", y->t,
                       y->more[RESTORED_PRIMARY],
                       repair ? "restored from" : "to restore from");
  if (y->more[RESTORED_REDUNDANT])
    vdl_check_problem (c, g->f->path, repair, "the redundant copy of grain "
                       "table %" PRIu64 ": %u more entries %s the primary",
                       y->t, y->more[RESTORED_REDUNDANT],
                       repair ? "restored from" : "to restore from");
  if (y->more[CONFLICT])
    vdl_check_problem (c, g->f->path, false, "grain table %" PRIu64 ": %u "
                       "more entries name different grains in the two "
                       "copies", y->t, y->more[CONFLICT]);
}

static VixError
note_grain (struct grained *g, uint32_t e)
{
  if (grain_class (g, e) != ENT_GOOD || e == 1)
    return VIX_OK;
  if (g->n_grains == g->cap_grains) {
    uint64_t nc = g->cap_grains ? 2 * g->cap_grains : 4096;
    uint32_t *ng = realloc (g->grains, nc * 4);
    if (!ng)
      return vdl_oom ();
    g->grains = ng;
    g->cap_grains = nc;
  }
  g->grains[g->n_grains++] = e;
  return VIX_OK;
}

/* Entries that name different grains in the two copies. */
static uint64_t
conflicts (const struct grained *g, const struct side *p,
           const struct side *r)
{
  uint64_t i, n = 0;

  if (p->absent != ENT_GOOD || r->absent != ENT_GOOD)
    return 0;
  for (i = 0; i < g->gt_entries; i++)
    n += p->e[i] != r->e[i] && grain_class (g, p->e[i]) == ENT_GOOD &&
      grain_class (g, r->e[i]) == ENT_GOOD;
  return n;
}

/* Decide every entry of table t from its two copies (see the top). */
static VixError
merge (struct grained *g, uint64_t t, struct side *p, struct side *r)
{
  struct tally y = { .t = t };
  uint64_t i;
  VixError err = VIX_OK;

  for (i = 0; i < g->gt_entries && err == VIX_OK; i++) {
    uint32_t pv = p->e[i], rv = r->e[i];
    enum ent sp = p->absent == ENT_GOOD ? grain_class (g, pv) : p->absent;
    enum ent sr = r->absent == ENT_GOOD ? grain_class (g, rv) : r->absent;

    if (sp == ENT_GOOD && sr == ENT_GOOD) {
      if (pv != rv)
        say_entry (g, &y, CONFLICT, i, pv, rv);
    }
    else if (sp == ENT_BAD && sr == ENT_BAD) {
      lost (g, &y, i, p->absent == ENT_GOOD ? pv : rv);
      p->e[i] = r->e[i] = 0;
      p->fixed = r->fixed = true;
    }
    else if (sp > sr) {
      /* A table with no place of its own gets the whole message at
       * its directory entry, not one per entry. */
      if (r->absent == ENT_GOOD)
        say_entry (g, &y, RESTORED_REDUNDANT, i, pv, rv);
      r->e[i] = pv;
      r->fixed = true;
    }
    else if (sr > sp) {
      if (p->absent == ENT_GOOD)
        say_entry (g, &y, RESTORED_PRIMARY, i, pv, rv);
      p->e[i] = rv;
      p->fixed = true;
    }
    err = note_grain (g, p->e[i]);
  }
  say_lost_run (g, &y);
  say_more (g, &y);
  return err;
}

static VixError
read_table (struct grained *g, uint32_t at, uint32_t *e)
{
  uint64_t i;
  VixError err = vdl_file_pread (g->f, e, g->gt_bytes, (uint64_t) at * SS);

  for (i = 0; i < g->gt_entries; i++)
    e[i] = le32toh (e[i]);
  return err;
}

/* Write a table (padded to whole sectors) at sector at. */
static VixError
write_table (struct grained *g, const uint32_t *e, uint64_t at)
{
  size_t bytes = g->gt_sectors * SS;
  uint32_t *le = calloc (1, bytes);
  uint64_t i;
  VixError err;

  if (!le)
    return vdl_oom ();
  for (i = 0; i < g->gt_entries; i++)
    le[i] = htole32 (e[i]);
  g->changed = true;
  err = vdl_file_pwrite (g->f, le, bytes, at * SS);
  free (le);
  return err;
}

/* Set directory entry t (of a directory in memory): in a COWD file in
 * place, at once; otherwise when the directory is committed. */
static VixError
set_dir_entry (struct grained *g, bool primary, uint64_t t, uint32_t v)
{
  uint32_t le = htole32 (v);
  VixError err;

  if (!g->cowd) {
    (primary ? g->gd : g->rgd)[t] = v;
    *(primary ? &g->gd_dirty : &g->rgd_dirty) = true;
    return VIX_OK;
  }
  g->changed = true;
  err = vdl_file_pwrite (g->f, &le, 4, g->h.gd_offset * SS + t * 4);
  return err == VIX_OK ? vdl_file_sync (g->f) : err;
}

/* Store copy s of table t: in a COWD file over the old one (only bad
 * entries were cleared); otherwise after the end of the file, named by
 * its directory once that is committed. */
static VixError
store_table (struct grained *g, bool primary, uint64_t t,
             const struct side *s)
{
  uint64_t at = g->append_at;
  VixError err;

  if (g->cowd) {
    err = write_table (g, s->e, g->gd[t]);
    return err == VIX_OK ? vdl_file_sync (g->f) : err;
  }
  if (at + g->gt_sectors > UINT32_MAX)
    return vdl_error (VIX_E_FILE_TOO_BIG, "%s: no room for a copy of grain "
                      "table %" PRIu64 " below 2 TiB", g->f->path, t);
  err = write_table (g, s->e, at);
  if (err != VIX_OK)
    return err;
  g->append_at = at + g->gt_sectors;
  return set_dir_entry (g, primary, t, at);
}

/* Report a directory entry of one copy (what: "" or "redundant ") that
 * names no usable table while the other copy names one. */
static void
say_directory (struct grained *g, uint64_t t, const char *what,
               uint32_t v, const char *other, uint32_t ov)
{
  struct vdl_check *c = g->c;
  bool repair = fixing (g);

  if (v == 0)
    vdl_check_problem (c, g->f->path, repair, "%sgrain directory entry %"
                       PRIu64 " is 0 (no table), but the %s one names a "
                       "table at sector %" PRIu32 "; %s", what, t, other, ov,
                       repair ? "a copy of that table was written for it"
                       : "it can be rebuilt from it");
  else
    vdl_check_problem (c, g->f->path, repair, "%sgrain directory entry %"
                       PRIu64 " points to sector %" PRIu32 ", %s; %s the %s "
                       "one's table (sector %" PRIu32 ")", what, t, v,
                       table_why (g, v), repair ? "rebuilt from"
                       : "it can be rebuilt from", other, ov);
}

/* Directory entries of table t that are none or bad in both copies (or
 * bad with no copy): the bad ones are cleared. */
static VixError
both_unusable (struct grained *g, uint64_t t, enum ent sp, enum ent sr)
{
  struct vdl_check *c = g->c;
  bool repair = fixing (g), lost = sp == ENT_BAD;
  uint32_t v = sp == ENT_BAD && g->gd[t] ? g->gd[t] : g->rgd[t];
  char r[160];
  VixError err = VIX_OK;

  outcome (g, t * g->gt_entries, g->gt_entries, r, sizeof r);
  if (lost)
    vdl_check_problem (c, g->f->path, repair, "grain directory entry %"
                       PRIu64 " points to sector %" PRIu32 ", %s, with no "
                       "good copy: %s", t, v, table_why (g, v), r);
  else
    vdl_check_problem (c, g->f->path, repair, "redundant grain directory "
                       "entry %" PRIu64 " points to sector %" PRIu32 ", %s, "
                       "and the primary names no table; %s", t, v,
                       table_why (g, v), repair ? "cleared" : "it can be "
                       "cleared");
  if (!repair)
    return VIX_OK;
  if (sp == ENT_BAD)
    err = set_dir_entry (g, true, t, 0);
  if (err == VIX_OK && g->rgd && sr == ENT_BAD)
    err = set_dir_entry (g, false, t, 0);
  return err;
}

static VixError
check_pair (struct grained *g, uint64_t t, uint32_t *pt, uint32_t *rt)
{
  enum ent sp = table_class (g, g->gd[t]);
  enum ent sr = g->rgd ? table_class (g, g->rgd[t]) : ENT_BAD;
  struct side p = { .e = pt, .absent = ENT_GOOD };
  struct side r = { .e = rt, .absent = ENT_GOOD };
  bool repair = g->c->repair && !g->stream;
  VixError err = VIX_OK;

  /* A directory being rebuilt does not know its tables yet: unknown
   * (bad), unless the other copy has no table there either. */
  if (g->rebuilt_dir == 1 && sp == ENT_NONE && sr != ENT_NONE)
    sp = ENT_BAD;
  if (g->rebuilt_dir == 2 && g->rgd && sr == ENT_NONE && sp != ENT_NONE)
    sr = ENT_BAD;

  /* A table shared with another entry is not trusted, but with no
   * good copy to rebuild from, it is not cleared either. */
  if (g->shared[t] & 1)
    sp = ENT_BAD;
  if (g->shared[t] & 2)
    sr = ENT_BAD;
  if (sp == ENT_NONE && (sr == ENT_NONE || !g->rgd))
    return VIX_OK;
  if (sp != ENT_GOOD && sr != ENT_GOOD && g->shared[t]) {
    vdl_check_problem (g->c, g->f->path, false, "grain directory entry %"
                       PRIu64 " names a grain table that another entry "
                       "names too (sector %" PRIu32 "), with no good copy: "
                       "left as it is", t, g->shared[t] & 1 ? g->gd[t]
                       : g->rgd[t]);
    return VIX_OK;
  }
  if (sp != ENT_GOOD && sr != ENT_GOOD)
    return both_unusable (g, t, sp, sr);
  if (sp == ENT_GOOD)
    err = read_table (g, g->gd[t], pt);
  else {
    memset (pt, 0, g->gt_bytes);
    p.absent = sp;
    if (g->rebuilt_dir != 1)
      say_directory (g, t, "", g->gd[t], "redundant", g->rgd[t]);
  }
  if (err == VIX_OK && sr == ENT_GOOD)
    err = read_table (g, g->rgd[t], rt);
  else if (err == VIX_OK) {
    memset (rt, 0, g->gt_bytes);
    r.absent = sr;
    if (g->rgd && g->rebuilt_dir != 2)
      say_directory (g, t, "redundant ", g->rgd[t], "primary", g->gd[t]);
  }
  /* Two plausible copies that differ: hands off the whole table. */
  g->hold = err == VIX_OK && conflicts (g, &p, &r) > 0;
  if (err == VIX_OK)
    err = merge (g, t, &p, &r);
  repair = fixing (g);
  g->hold = false;
  if (err != VIX_OK || !repair)
    return err;
  if (sp != ENT_GOOD || p.fixed)
    err = store_table (g, true, t, &p);
  if (err == VIX_OK && g->rgd && (sr != ENT_GOOD || r.fixed))
    err = store_table (g, false, t, &r);
  return err;
}

/* Write the directory d after the end of the file, then switch the
 * header's offset (at byte field) to it, each step synced. */
static VixError
commit_dir (struct grained *g, const uint32_t *d, unsigned field)
{
  size_t bytes = g->gd_sectors * SS;
  uint32_t *le = calloc (1, bytes);
  uint64_t at = g->append_at, i, off = htole64 (at);
  VixError err;

  if (!le)
    return vdl_oom ();
  for (i = 0; i < g->n_gts; i++)
    le[i] = htole32 (d[i]);
  g->changed = true;
  /* The tables it names are durable before it. */
  err = vdl_file_sync (g->f);
  if (err == VIX_OK)
    err = vdl_file_pwrite (g->f, le, bytes, at * SS);
  free (le);
  if (err == VIX_OK)
    err = vdl_file_sync (g->f);
  if (err == VIX_OK)
    err = vdl_file_pwrite (g->f, &off, 8, field);
  if (err == VIX_OK)
    err = vdl_file_sync (g->f);
  g->append_at = at + g->gd_sectors;
  return err;
}

VixError
vdl_check_commit_dirs (struct grained *g)
{
  VixError err = VIX_OK;

  if (g->gd_dirty)
    err = commit_dir (g, g->gd, KDMV_GD_OFFSET_FIELD);
  if (err == VIX_OK && g->rgd_dirty)
    err = commit_dir (g, g->rgd, KDMV_RGD_OFFSET_FIELD);
  return err;
}

static int
cmp_u32 (const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

  return x < y ? -1 : x > y;
}

VixError
vdl_check_tables (struct grained *g)
{
  struct vdl_check *c = g->c;
  uint32_t *pt = malloc (g->gt_bytes), *rt = malloc (g->gt_bytes);
  uint64_t t, i;
  VixError err = VIX_OK;

  if (!pt || !rt)
    err = vdl_oom ();
  if (err == VIX_OK)
    err = find_shared (g);
  for (t = 0; t < g->n_gts && err == VIX_OK; t++)
    err = check_pair (g, t, pt, rt);
  /* Two entries naming one grain: a write to either changes both. */
  if (err == VIX_OK && g->n_grains > 1 && !g->stream) {
    qsort (g->grains, g->n_grains, 4, cmp_u32);
    for (i = 1; i < g->n_grains; i++)
      if (g->grains[i] == g->grains[i - 1])
        vdl_check_problem (c, g->f->path, false, "the grain at sector %u "
                           "is named by more than one table entry",
                           g->grains[i]);
  }
  free (pt);
  free (rt);
  free (g->shared);
  g->shared = NULL;
  return err;
}
