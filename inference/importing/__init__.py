"""Turning a model trained elsewhere into a verified version of the repository: ``inference add``
(a joblib/pickle/skops file, an ONNX file, an MLflow model directory) and ``save_model`` (a
fitted scikit-learn estimator or a ``torch.nn.Module`` in memory). Each path builds a
``Candidate`` (files, signature, labels, sample rows), which ``publish`` writes as the next version."""
