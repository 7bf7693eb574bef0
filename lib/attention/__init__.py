"""ANN attention: the model registry, passive attribution methods and active attention modules."""
