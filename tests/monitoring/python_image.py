"""The python image's `python` and `pip`, natively: `python_image.py ROOTFS PROGRAM ARGS...`.

The image's Python is its own, and what its pip installs lands in the container alone. Here each
container gets a venv of the tests' Python at <rootfs>/usr/local (made on first use), over the
tests' site-packages: `pip install -r requirements.txt` resolves the pinned requirements there
(the test command installed the same versions from PyPI, and the compose network has no route
out to reach it), and installs anything missing into the container's venv only, never into the
tests' Python."""
import os
import subprocess
import sys
from pathlib import Path


def venv(rootfs):
    """The container's venv python, made once."""
    prefix = Path(rootfs) / "usr/local"
    python = prefix / "bin/python"
    if not python.exists():
        # --without-pip: the tests' pip (on the system site-packages) serves it as `-m pip`.
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(prefix)],
                       check=True)
    return python


def main(rootfs, program, *args):
    python = str(venv(rootfs))
    pip = ["-m", "pip"] if program in ("pip", "pip3") else []
    os.execv(python, [python, *pip, *args])


if __name__ == "__main__":
    main(*sys.argv[1:])
