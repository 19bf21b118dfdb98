"""vitflow: tiny ViTs from PyTorch to bit-exact integer hardware."""
__version__ = "0.1.0"
