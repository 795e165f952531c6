#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write deterministic corrupted variants of good VMDK images.

usage: mutate-vmdk.py OUTDIR SEED IMAGE...

Each IMAGE is a descriptor or monolithic file; files it references sit
beside it.  For every variant a directory OUTDIR/NNN/ gets a copy of the
image's files with one file damaged, and OUTDIR/NNN/target names the file
to open.  The damage aims at what a parser trusts: header fields, grain
directory and table entries, compressed grain markers, descriptor lines,
and truncation.
"""
import os, random, re, shutil, struct, sys

def referenced(path):
    """Files an image consists of: itself plus extents its text names."""
    files = [path]
    with open(path, "rb") as f:
        head = f.read(4)
    if head in (b"KDMV", b"COWD"):
        return files
    text = open(path, "rb").read().split(b"\0")[0].decode("latin-1")
    for m in re.finditer(r'^\s*(RW|RDONLY|NOACCESS)\s+\d+\s+\w+\s+"([^"]+)"', text, re.M):
        p = os.path.join(os.path.dirname(path), m.group(2))
        if os.path.exists(p) and p not in files:
            files.append(p)
    return files

def u32(b, off): return struct.unpack_from("<I", b, off)[0]
def u64(b, off): return struct.unpack_from("<Q", b, off)[0]

def mutate_sparse(data, rnd):
    b = bytearray(data)
    choice = rnd.randrange(9)
    if choice == 0:                                  # random header bytes
        for _ in range(rnd.randrange(1, 6)):
            b[rnd.randrange(4, 80)] = rnd.randrange(256)
    elif choice == 1:                                # extreme header field
        off = rnd.choice([12, 20, 28, 36, 44, 48, 56, 64])
        size = 4 if off == 44 else 8
        val = rnd.choice([0, 1, 3, 0xffffffff, (1 << 63) - 1, (1 << 64) - 1,
                          len(b) // 512 + 1, len(b) // 512 - 1])
        b[off:off + size] = (val & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    elif choice in (2, 3):                           # grain directory / table
        gd = u64(b, 56)
        if gd == (1 << 64) - 1 or gd * 512 + 4 > len(b):
            gd = u64(b, 48)
        target = gd * 512
        if choice == 3 and gd * 512 + 4 <= len(b):
            gt = u32(b, gd * 512)
            if 0 < gt * 512 + 2048 <= len(b):
                target = gt * 512 + 4 * rnd.randrange(512)
        if 0 < target + 4 <= len(b):
            val = rnd.choice([1, 2, len(b) // 512, len(b) // 512 + 7,
                              0xffffffff, rnd.randrange(1 << 32)])
            b[target:target + 4] = val.to_bytes(4, "little")
    elif choice == 4:                                # truncate
        return bytes(b[:rnd.choice([0, 3, 100, 511, 512, 1024,
                                     rnd.randrange(len(b) + 1)])])
    elif choice == 5:                                # flip bits in the body
        for _ in range(rnd.randrange(1, 50)):
            i = rnd.randrange(len(b))
            b[i] ^= 1 << rnd.randrange(8)
    elif choice == 6:                                # grain marker size/lba
        for at in range(512, len(b) - 12, 512):
            if b[at + 12:at + 14] in (b"\x78\x01", b"\x78\x9c", b"\x78\xda"):
                fld = rnd.choice([0, 8])
                val = rnd.choice([0, 1, 0xffffffff, rnd.randrange(1 << 32)])
                b[at + fld:at + fld + 4] = val.to_bytes(4, "little")
                break
    elif choice == 7:                                # compressed payload
        for at in range(512, len(b) - 64, 512):
            if b[at + 12:at + 14] in (b"\x78\x01", b"\x78\x9c", b"\x78\xda"):
                for i in range(at + 14, at + 60):
                    b[i] = rnd.randrange(256)
                break
    else:                                            # embedded descriptor
        doff = u64(b, 28) * 512
        if 0 < doff < len(b):
            for _ in range(rnd.randrange(1, 10)):
                i = doff + rnd.randrange(min(512, len(b) - doff))
                b[i] = rnd.choice(b'"= \n\x00RW9x')
    return bytes(b)

def mutate_cowd(data, rnd):
    b = bytearray(data)
    choice = rnd.randrange(4)
    if choice == 0:                                  # header field
        off = rnd.choice([4, 12, 16, 20, 24, 28])
        val = rnd.choice([0, 1, 2, 3, 4096, 0xffffffff, len(b) // 512 + 1])
        b[off:off + 4] = val.to_bytes(4, "little")
    elif choice == 1:                                # directory entry
        gd = u32(b, 20)
        if 0 < gd * 512 + 4 <= len(b):
            val = rnd.choice([1, 3, len(b) // 512, 0xffffffff, rnd.randrange(1 << 32)])
            b[gd * 512:gd * 512 + 4] = val.to_bytes(4, "little")
    elif choice == 2:                                # grain table entries
        for _ in range(rnd.randrange(1, 20)):
            i = rnd.randrange(2048, len(b) - 4) & ~3
            b[i:i + 4] = rnd.choice([1, 2, 0xffffffff, len(b) // 512]).to_bytes(4, "little")
    else:
        return bytes(b[:rnd.randrange(len(b))])
    return bytes(b)

def mutate_text(data, rnd):
    lines = data.split(b"\0")[0].split(b"\n")
    choice = rnd.randrange(6)
    i = rnd.randrange(len(lines))
    if choice == 0:
        del lines[i]
    elif choice == 1:
        lines[i] = re.sub(rb"\d+", lambda m: rnd.choice(
            [b"0", b"18446744073709551615", b"99999999999999999999", b"-1"]), lines[i])
    elif choice == 2:
        lines.insert(i, bytes(rnd.randrange(1, 256) for _ in range(rnd.randrange(80))))
    elif choice == 3:
        lines[i] = lines[i].replace(b'"', b"")
    elif choice == 4:
        lines = [re.sub(rb"\b(SPARSE|FLAT|VMFS)\b", rnd.choice(
            [b"ZERO", b"VMFSSPARSE", b"BOGUS", b"SESPARSE", b"FLAT"]), l) for l in lines]
    else:
        lines[i] = lines[i] + b" " + b"x" * rnd.randrange(5000)
    return b"\n".join(lines)

def main():
    outdir, seed, images = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    rnd = random.Random(seed)
    n = 0
    for image in images:
        files = referenced(image)
        for _ in range(int(os.environ.get("MUTATIONS", "40"))):
            d = os.path.join(outdir, "%03d" % n)
            os.makedirs(d)
            for f in files:
                shutil.copy(f, d)
            victim = os.path.join(d, os.path.basename(rnd.choice(files)))
            data = open(victim, "rb").read()
            if data[:4] == b"KDMV":
                data = mutate_sparse(data, rnd)
            elif data[:4] == b"COWD":
                data = mutate_cowd(data, rnd)
            elif len(data) < (1 << 20):
                data = mutate_text(data, rnd)
            else:
                data = data[:rnd.randrange(len(data))]   # flat: truncate
            open(victim, "wb").write(data)
            open(os.path.join(d, "target"), "w").write(
                os.path.join(d, os.path.basename(image)))
            n += 1
    print(n)

main()
