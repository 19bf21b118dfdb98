"""host stage of vitflow."""
