/* SPDX-License-Identifier: BSD-3-Clause */
/* Progress of long operations: a bar on standard error when it is a
 * terminal (as qemu-img -p shows), JSON lines on standard output with
 * --json, nothing with -q or when output goes to a file. */
#include <string.h>
#include <unistd.h>

#include "vdm.h"

#define WIDTH 40

void
vdm_progress_init (struct vdm_progress *p, const struct vdm_opts *o,
                   const char *what, const char *op)
{
  memset (p, 0, sizeof *p);
  p->what = what;
  p->op = op;
  p->json = o->json;
  p->bar = !o->quiet && !o->json && isatty (STDERR_FILENO);
  p->last = -1;
}

char
vdm_progress_cb (void *data, int percent)
{
  struct vdm_progress *p = data;
  char bar[WIDTH + 1];
  int fill;

  vdm_signals_recancel ();
  if (percent < 0)
    percent = 0;
  if (percent > 100)
    percent = 100;
  if (percent == p->last)
    return 1;
  p->last = percent;
  if (p->json) {
    printf ("{\"event\": \"progress\", \"operation\": \"%s\", "
            "\"percent\": %d}\n", p->op, percent);
    fflush (stdout);
  }
  if (p->bar) {
    fill = percent * WIDTH / 100;
    memset (bar, '#', fill);
    memset (bar + fill, '.', WIDTH - fill);
    bar[WIDTH] = '\0';
    fprintf (stderr, "\r%s [%s] %3d%%", p->what, bar, percent);
    fflush (stderr);
  }
  return 1;
}

void
vdm_progress_done (struct vdm_progress *p)
{
  /* End the bar's line whether or not it reached 100%. */
  if (p->bar && p->last >= 0)
    fputc ('\n', stderr);
}
