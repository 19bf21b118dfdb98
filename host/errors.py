"""The error every layer raises for bad input: the CLI prints it as one line and exits 2."""


class UserError(ValueError):
    """Bad input from the user: reported as one line, exit code 2."""
