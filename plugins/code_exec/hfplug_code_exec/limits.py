"""Per-run resource limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExecutionLimits:
    """What one run (a program plus all of its tests) may use.

    Every field is enforced per run: ``wall_time_s`` (the whole program: load and all tests) and
    ``test_time_s`` (each test) by the worker, the others by rlimits set in the
    run before the program starts, except the output caps, which the in-sandbox zygote enforces
    while it reads the program's stdout and stderr (it kills the run when a cap trips).
    """

    wall_time_s: float = 10.0
    test_time_s: float = 5.0  # one test (one call, one stdin/stdout case) of the run
    cpu_time_s: float = 10.0
    memory_mb: int = 1024  # address space of each process of the run (RLIMIT_AS)
    max_processes: int = 16  # RLIMIT_NPROC of the run's user
    max_file_mb: int = 16  # largest file the run may write (RLIMIT_FSIZE)
    max_open_files: int = 64
    folder_mb: int = 64  # size of the run's tmpfs working folder (isolated mode)
    max_output_bytes: int = 64 * 1024
    max_output_lines: int = 2000
    max_value_bytes: int = 4 * 1024 * 1024  # largest encoded return value of one call

    def __post_init__(self) -> None:
        for name, value in self.as_dict().items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"ExecutionLimits.{name} must be a positive number, got {value!r}.")

    def as_dict(self) -> dict[str, Any]:
        """The limits as a JSON-ready dict (what travels to the worker and the sandbox). Every field is a number: a
        plain copy (``dataclasses.asdict`` deep-copies each value, a tenth of a millisecond per run in the worker)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
