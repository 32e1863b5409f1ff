"""The serving core: manifests, predictors, the model registry. Never imports Flask."""
