"""Jobs: durable records, the store, the worker-side task and the local executor."""

from lampyris.jobs.executor import JobExecutor, Outcome
from lampyris.jobs.payloads import TaskOutput, TaskResult
from lampyris.jobs.record import TERMINAL, JobRecord, State
from lampyris.jobs.settings import JobSettings
from lampyris.jobs.store import SqlJobStore
from lampyris.jobs.task import Task, TaskFailure, WorkerEnv, execute

__all__ = [
    "TERMINAL", "JobExecutor", "JobRecord", "JobSettings", "Outcome",
    "SqlJobStore", "State", "Task", "TaskFailure", "TaskOutput", "TaskResult", "WorkerEnv",
    "execute",
]
