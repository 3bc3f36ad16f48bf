"""Sandboxed execution of model-written code, unit-test rewards and HumanEval evaluation for hfplug.

from hfplug_code_exec import ExecutorPool, Job
with ExecutorPool() as pool:
    result = pool.run(Job(program, test, entry_point, prompt=stub, public_test=public))
    result.pass_fraction, result.feedback
"""

from hfplug_code_exec.errors import CodeExecError, InvalidTestsError, IsolationUnavailableError, WorkerFailure
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.pool import ExecutorPool, Job, shared_pool
from hfplug_code_exec.results import ExecutionResult
from hfplug_code_exec.rewards import unit_tests, unit_tests_all

__all__ = [
    "CodeExecError",
    "ExecutionLimits",
    "ExecutionResult",
    "ExecutorPool",
    "InvalidTestsError",
    "IsolationUnavailableError",
    "Job",
    "WorkerFailure",
    "shared_pool",
    "unit_tests",
    "unit_tests_all",
]
