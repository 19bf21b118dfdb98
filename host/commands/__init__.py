"""The commands of `vitflow`, by group: each module declares its parsers (add_parsers) beside the functions
that run them (cmd_*), each a thin layer over library calls."""
