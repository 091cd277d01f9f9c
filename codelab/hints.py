"""Paths in the commands that messages suggest, written so that they can be pasted.

A hint such as "run: python3 predict.py --model models/3.1 my_digit.png" is copied
into a terminal as it is: a path with a space, a bracket or a quote in it must come
quoted, or the shell splits it or expands it.
"""

import os
import shlex
import subprocess


def shell_path(path):
    """`path` as one word of a command line: as it is when that is safe (models/3.1),
    else quoted ('my runs/3.1') for a POSIX shell, or, on Windows, in double quotes
    as cmd.exe and PowerShell read them."""
    text = os.fspath(path)
    if os.name == "nt":
        return subprocess.list2cmdline([text])
    return shlex.quote(text)
