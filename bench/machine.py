"""What a benchmark ran on: the one description every bench/ script writes into its results."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _proc_field(path: str, name: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def describe() -> dict[str, Any]:
    """CPU model, cores, memory, OS, Python, the load when measuring started, and the time."""
    memory_kb = _proc_field("/proc/meminfo", "MemTotal:").split(" ")[0]
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(int(memory_kb or 0) / 2**20, 1),
        "os": f"{platform.system()} {platform.release()}",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
