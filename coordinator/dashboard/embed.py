#!/usr/bin/env python3
"""embed.py IN OUT NAME - write OUT, a C file defining NAME (the bytes of
IN as an unsigned char array, NUL-terminated) and NAME_len (their count).
The dashboard is embedded in the coordinator at build time with it; the
generated file is never committed."""
import sys

src, out, name = sys.argv[1:4]
data = open(src, 'rb').read()
with open(out, 'w') as f:
    f.write('/* generated from %s by embed.py - do not edit */\n' % src.split('/')[-1])
    f.write('#include <stddef.h>\n')
    f.write('const unsigned char %s[] = {\n' % name)
    for i in range(0, len(data), 16):
        f.write(''.join('%d,' % b for b in data[i:i + 16]) + '\n')
    f.write('0};\n')
    f.write('const size_t %s_len = %d;\n' % (name, len(data)))
