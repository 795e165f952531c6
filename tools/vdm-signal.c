/* SPDX-License-Identifier: BSD-3-Clause */
/* Ctrl-C and SIGTERM during an operation that makes a new disk (-c,
 * -r): the library is asked to stop (OpenVixDiskLib_Cancel), removes
 * what it made and returns; then the tool dies of the same signal, so
 * that the shell or script that ran it sees it was interrupted. */
#include <signal.h>
#include <string.h>

#include "vdm.h"

static volatile sig_atomic_t caught;

static void
on_signal (int sig)
{
  caught = sig;
  OpenVixDiskLib_Cancel ();
}

void
vdm_signals_catch (void)
{
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
  struct sigaction sa, old;
  size_t i;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  /* A signal ignored by whoever started us (nohup, a background job
   * of a shell without job control) stays ignored. */
  for (i = 0; i < sizeof sigs / sizeof *sigs; i++)
    if (sigaction (sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
      sigaction (sigs[i], &sa, NULL);
}

/* A signal that came before the library began its operation would be
 * lost (a cancel stops only what is in progress): the progress
 * callback, called once it runs, says it again. */
void
vdm_signals_recancel (void)
{
  if (caught)
    OpenVixDiskLib_Cancel ();
}

void
vdm_signals_reraise (void)
{
  int sig = caught;

  if (!sig)
    return;
  fflush (stdout);
  signal (sig, SIG_DFL);
  raise (sig);
}
