"""The machine a benchmark ran on, for the results table."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe_machine() -> str:
    """CPU model and count, memory, kernel: one line."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split()[1])
        memory = f", {total_kib / 2**20:.1f} GiB RAM"
    cores = len(os.sched_getaffinity(0))
    return f"Machine: {model}, {cores} cores{memory}, {platform.system()} {platform.release()}"
