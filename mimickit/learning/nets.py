"""MLP bodies selected by name in agent configs."""

from __future__ import annotations

from torch import nn

from mimickit.util.config import ConfigError

NET_LAYERS = {
    "fc_2layers_128units": (128, 64),
    "fc_2layers_256units": (256, 128),
    "fc_2layers_512units": (512, 256),
    "fc_2layers_1024units": (1024, 512),
    "fc_3layers_1024units": (1024, 1024, 512),
}


def build_mlp(name: str, in_dim: int) -> tuple[nn.Sequential, int]:
    """ReLU MLP for ``name`` (hidden biases 0, PyTorch default weights); returns it and its output size."""
    if name not in NET_LAYERS:
        raise ConfigError(f"unknown network '{name}'; available: {sorted(NET_LAYERS)}")
    layers: list[nn.Module] = []
    size = in_dim
    for units in NET_LAYERS[name]:
        linear = nn.Linear(size, units)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
        size = units
    return nn.Sequential(*layers), size
