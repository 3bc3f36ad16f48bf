"""Errors of the code executor."""

from __future__ import annotations

from hfplug.errors import HfplugError


class CodeExecError(HfplugError):
    """Base class of this plugin's errors."""


class IsolationUnavailableError(CodeExecError):
    """No sandbox can be started and the user has not opted out of isolation."""


class WorkerFailure(CodeExecError):
    """The worker or its sandbox died or broke the protocol: an infrastructure failure, not the program's."""


class InvalidTestsError(CodeExecError):
    """The tests themselves are malformed (no ``check`` function, a syntax error, ...)."""


class ClusterUnavailableError(CodeExecError):
    """The ``ray`` executor found no node of its Ray cluster that can run code (none alive, or none started a pool)."""
