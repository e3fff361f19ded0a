#!/usr/bin/env python3
"""Registers, spill stack and code size of the kernels in kiln's disk cache, read from the cubins (no GPU).

usage: kernel_regs.py [CACHE_DIR] [SUBSTRING ...]
  CACHE_DIR defaults to $KILN_CACHE_DIR or ~/.cache/kiln; fill it with
  `kiln kernels precompile --preset P --arch sm_90a` (KILN_JIT=generic for the generic twins).
  Prints one line per cached kernel whose key contains any SUBSTRING (all when none).

Registers decide how many blocks fit on an SM (65536 per SM, allocated per warp in units of
256): e.g. 8-warp blocks at <= 64 registers fit 4 per SM, at 65-80 only 3. A stack frame (B
stack > 0) in a kernel that calls nothing is register spills: e.g. the mat-vec's generic unroll-3
twin spills 48-112 B under __maxnreg__(80), not under __launch_bounds__(256, 3). The engine's
tests read the same attributes (jit/cubin_info.h).
"""
import glob
import os
import struct
import sys

EIATTR_REGCOUNT = 0x2F  # .nv.info attribute: (symbol index, registers)
EIATTR_FRAME_SIZE = 0x11  # .nv.info attribute: (symbol index, stack frame bytes)
EIFMT_SVAL = 0x04       # attribute with a 16-bit size and a payload
EIFMT_HVAL = 0x03       # attribute with a 16-bit value and no payload


def cubin_stats(path):
    data = open(path, "rb").read()
    elf = data[data.find(b"\x7fELF"):]  # the cache entry's header comes first
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names_at = sections[shstrndx][4]
    stats = {"regs": None, "stack": 0, "code_bytes": 0}
    for name_off, _type, _flags, _addr, offset, size, *_ in sections:
        name = elf[names_at + name_off:elf.index(b"\0", names_at + name_off)].decode()
        if name.startswith(".text."):
            stats["code_bytes"] += size
        elif name.startswith(".nv.info"):
            info, i = elf[offset:offset + size], 0
            while i + 4 <= len(info):
                fmt, attr, value = struct.unpack_from("<BBH", info, i)
                if fmt == EIFMT_SVAL and attr == EIATTR_REGCOUNT:
                    stats["regs"] = struct.unpack_from("<II", info, i + 4)[1]
                elif fmt == EIFMT_SVAL and attr == EIATTR_FRAME_SIZE:
                    stats["stack"] = max(stats["stack"], struct.unpack_from("<II", info, i + 4)[1])
                i += 4 + (value if fmt == EIFMT_SVAL else 0)
    return stats


def main():
    args = sys.argv[1:]
    cache = args.pop(0) if args and os.path.isdir(args[0]) else os.environ.get(
        "KILN_CACHE_DIR", os.path.expanduser("~/.cache/kiln"))
    for path in sorted(glob.glob(os.path.join(cache, "kernels", "*.cubin"))):
        key = os.path.basename(path).rsplit(".", 3)[0]
        if args and not any(s in key for s in args):
            continue
        s = cubin_stats(path)
        print(f"{s['regs']!s:>4} regs {s['stack']:>4} B stack {s['code_bytes']:>7} B  {key}")


if __name__ == "__main__":
    main()
