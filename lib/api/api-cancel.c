/* SPDX-License-Identifier: BSD-3-Clause */
/* OpenVixDiskLib_Cancel, this library's extension (cancel.h): called
 * from signal handlers, so it only bumps the cancel counter. */
#include "api.h"
#include "cancel.h"

API void
OpenVixDiskLib_Cancel (void)
{
  vdl_cancel ();
}
