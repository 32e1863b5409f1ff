"""A Flask/Gunicorn inference server for PyTorch, scikit-learn and ONNX models."""

__version__ = "0.1.0"


def save_model(model, name, sample, model_dir=None, labels=None, task=None, features=None):
    """Write a fitted scikit-learn estimator or a ``torch.nn.Module`` as the next version of ``name``
    (see ``inference.save.save_model``); importing ``inference`` alone stays light."""
    from inference.save import save_model as save

    return save(model, name, sample, model_dir=model_dir, labels=labels, task=task, features=features)
