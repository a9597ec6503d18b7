# SPDX-License-Identifier: MIT
"""toolmain.py - the common entry of the measuring scripts in this folder
(metaops.py, reqcount.py): their exit status convention in one place.

run(main) calls main() and exits with what it returns (0 done, 2 usage);
a failed system call (OSError) is one line on stderr naming the script,
the reason and the file, and exit status 1.
"""
import os
import sys


def run(main):
    prog = os.path.basename(sys.argv[0])
    try:
        sys.exit(main())
    except OSError as e:
        print(f"{prog}: {e.strerror}: {e.filename}", file=sys.stderr)
        sys.exit(1)
