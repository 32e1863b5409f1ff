"""PyTorch architectures that manifests may name; weights are loaded into them as a state_dict.

Only classes registered here can be built, so a manifest cannot make the server run
arbitrary code.
"""

from typing import Any

import torch
from torch import nn

ARCHITECTURES: dict[str, type[nn.Module]] = {}


def register(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: make an architecture buildable by its class name."""
    ARCHITECTURES[cls.__name__] = cls
    return cls


def build(name: str, kwargs: dict[str, Any]) -> nn.Module:
    """Instantiate the registered architecture ``name`` with ``kwargs``."""
    try:
        cls = ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; registered: {sorted(ARCHITECTURES)}") from None
    return cls(**kwargs)


@register
class SimpleNN(nn.Module):
    """Linear(in, hidden) - ReLU - Linear(hidden, classes): the iris MLP."""

    def __init__(self, input_size=4, hidden_size=16, num_classes=3):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


@register
class SimpleNet(nn.Module):
    """Linear(in, 16) - ReLU - Linear(16, 8) - ReLU - Linear(8, classes): the diabetes-risk net."""

    def __init__(self, input_size=4, hidden1=16, hidden2=8, num_classes=3):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(input_size, hidden1),
            nn.ReLU(),
            nn.Linear(hidden1, hidden2),
            nn.ReLU(),
            nn.Linear(hidden2, num_classes),
        )

    def forward(self, x):
        return self.layers(x)


@register
class SimpleModel(nn.Module):
    """A single Linear(in, out) layer: the ``linear`` regression example."""

    def __init__(self, input_size=3, output_size=1):
        super().__init__()
        self.linear = nn.Linear(input_size, output_size)

    def forward(self, x):
        return self.linear(x)


def fill_constant(model: nn.Module, weight: float, bias: float) -> nn.Module:
    """Set every weight of ``model`` to ``weight`` and every bias to ``bias`` (for SimpleModel)."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.fill_(bias if name.endswith("bias") else weight)
    return model


@register
class MLP(nn.Module):
    """Linear layers of the given widths with ReLU between them: a general tabular network."""

    def __init__(self, input_size, hidden_sizes, num_classes):
        super().__init__()
        layers, width = [], input_size
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


@register
class DigitsCNN(nn.Module):
    """A small CNN for 8x8 grey digits; takes rows of 64 pixel values (row-major) and reshapes them."""

    def __init__(self, side=8, num_classes=10):
        super().__init__()
        self.side = side
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * (side // 2) ** 2, 64),
            nn.ReLU(),
            nn.Linear(64, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x.reshape(-1, 1, self.side, self.side)))
