"""ML train jobs: cross-sectional features, walk-forward training and scores files.

Importable without FastAPI or a database::

    from app.ml import TrainParams, train_walk_forward
    output = train_walk_forward(data, TrainParams(model="ridge"), Path("var/artifacts/job"))
    output.metrics["ic_mean"], output.scores_path
"""

from app.ml.scores_import import ScoresValidationError, import_scores_file, validate_scores_file
from app.ml.training import (
    ModelWindow,
    TrainInputError,
    TrainOutput,
    TrainParams,
    plan_walk_forward,
    train_walk_forward,
)

__all__ = [
    "ModelWindow",
    "ScoresValidationError",
    "TrainInputError",
    "TrainOutput",
    "TrainParams",
    "import_scores_file",
    "plan_walk_forward",
    "train_walk_forward",
    "validate_scores_file",
]
