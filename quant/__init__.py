"""quant stage of vitflow."""
