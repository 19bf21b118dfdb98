"""What commands load for a model: its model file (checked as `vitflow train` checks a new one) and the test
split of a data set in the model's input shape."""

from __future__ import annotations

from .backends import ModelPaths
from .errors import UserError


def load_model(paths: ModelPaths):
    """The model file of `paths`, its config checked as `vitflow train` checks a new one (model/config.py)."""
    from ..model.config import config_of_model_file
    from ..quant.model_file import IntModel

    if not paths.model_file.is_file() and paths.checkpoint.is_file():
        raise UserError(f"no model file beside {paths.checkpoint}: write it with "
                        f"`vitflow export --checkpoint {paths.checkpoint}`")
    m = IntModel.load(paths.model_file)
    config_of_model_file(m.config, str(paths.model_file))
    return m


def load_test_split(dataset: str, data_dir: str | None, limit: int | None, input_shape):
    """(data set, its first `limit` test images, their labels); a UserError when the images are not the model's."""
    from ..model.datasets import load_dataset

    data = load_dataset(dataset, data_dir)
    if list(data.x_test.shape[1:]) != list(input_shape):
        raise UserError(f"the model takes images of shape {input_shape}, data set {data.name} has "
                        f"{list(data.x_test.shape[1:])}: train a model for it with `vitflow train --dataset`")
    n = len(data.x_test) if limit is None else min(limit, len(data.x_test))
    return data, data.x_test[:n], data.y_test[:n]
