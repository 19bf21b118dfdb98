"""The error every layer raises for bad input, and the exceptions that mean bad input: the CLI prints them as
one line and exits 2."""

import sys


class UserError(ValueError):
    """Bad input from the user: reported as one line, exit code 2."""


def user_errors() -> tuple[type, ...]:
    """Exceptions that mean bad input. CheckpointError lives beside torch: it can only be raised once
    model.train is imported, so it is looked up there and never imported here."""
    from ..model.config import ConfigError
    from ..model.datasets import DataError
    from ..quant.model_file import ModelFileError

    train = sys.modules.get(__name__.rsplit(".", 2)[0] + ".model.train")
    return (UserError, ConfigError, DataError, ModelFileError) + ((train.CheckpointError,) if train else ())
