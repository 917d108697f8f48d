"""Fails the way real scripts fail: an exception escapes."""

from azureml.core import Run  # noqa: F401


def train(learning_rate: float) -> None:
    if learning_rate <= 0:
        raise ValueError(f"learning rate must be positive, got {learning_rate}")


print("starting training")
train(-1.0)
