"""The domain of Tidings: models, operations and jobs, with no Flask request objects."""
