"""A Flask/Gunicorn inference server for PyTorch and scikit-learn models."""

__version__ = "0.1.0"
