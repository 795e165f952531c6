# SPDX-License-Identifier: BSD-3-Clause
"""The seSparse headers, as qemu's reverse engineering of ESXi's format
describes them, for the test generators (make-sesparse*.py)."""
import struct

SS = 512


def constant_header(capacity, grain, gd_off, gd_size, gt_off, gt_size,
                    grains_off, grains_size):
    """Sector 0: sizes and where each part of the file is (in sectors);
    the volatile header, journal header and journal at sectors 1-3, then
    a free bitmap and a backmap sector after the grain tables."""
    h = bytearray(SS)
    struct.pack_into("<QQQQQQ", h, 0, 0xcafebabe, 0x0000000200000001,
                     capacity, grain, 64, 0)
    struct.pack_into("<" + "Q" * 17, h, 72,
                     0,                          # reserved4
                     1, 1,                       # volatile header
                     2, 1,                       # journal header
                     3, 1,                       # journal
                     gd_off, gd_size,
                     gt_off, gt_size,
                     gt_off + gt_size, 1,        # free bitmap
                     gt_off + gt_size + 1, 1,    # backmap
                     grains_off, grains_size)
    return bytes(h)


def volatile_header(n_tables):
    """Sector 1: clean (no journal to replay)."""
    return struct.pack("<QQQQ", 0xcafecafe, n_tables, 1, 0).ljust(SS, b"\0")
