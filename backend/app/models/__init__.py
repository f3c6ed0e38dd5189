"""SQLAlchemy models, one module per domain. Importing this package registers them all."""

from app.models.backtest import METRIC_COLUMNS, BacktestRun
from app.models.common import FINAL_STATUSES, RunStatus, can_transition
from app.models.optimization import Optimization, OptimizationTrial
from app.models.project import Project
from app.models.train_job import TrainJob

__all__ = [
    "FINAL_STATUSES",
    "METRIC_COLUMNS",
    "BacktestRun",
    "Optimization",
    "OptimizationTrial",
    "Project",
    "RunStatus",
    "TrainJob",
    "can_transition",
]
