"""The HTTP layer: Flask blueprints, marshmallow schemas, and the one place errors are rendered."""
