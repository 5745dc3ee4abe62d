"""The thesis networks (Tables 4.1/4.2, Figs. 4.3-4.6) from ONE parameterised builder.

A conv trunk is a VGG-style layout: a tuple of ``(filters, kernel)`` convolutions (stride 1, "same"
zero padding, ReLU) and ``POOL`` markers (2x2 max pooling, stride 2). Every net then has two fc layers
(``fc_width`` units, ReLU, dropout) and a ``3J`` output with tanh (joints in cube units, eqs. 4.7-4.9).

Architectures (``ModelConfig.arch``):
- ``net1`` .. ``net9``: Tables 4.1/4.2 on a depth image (``depthnet`` = ``net6``, Fig. 4.3);
- ``rgbnet``: Depth-Net on the masked RGB crop; ``rgbdnet``: Depth-Net on 4 stacked channels (input fusion);
- ``fusepred``: Depth-Net and RGB-Net in one graph, outputs averaged with per-output weights (score fusion);
- ``fusenet-max|sum|cat|conv``: depth and RGB streams fused after conv ``fuse_at`` (default 4) with
  eqs. 4.15-4.18, then one trunk (Fig. 4.6).

The compact variant for shipping (``compact=True``) adds a 1x1-conv bottleneck before the fc layers and
a narrow head (see :data:`COMPACT`), which shrinks the flat features from 32768 to 4096 and the file to
about 12 MB (fp32) instead of 608 MB.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from inference.core.errors import ModelError
from inference.core.skeleton import NUM_JOINTS
from inference.preprocess.crop_defaults import CROP_SIZE
from inference.runtime.model_meta import INPUT_LAYOUTS

POOL = "M"
LayoutItem = tuple[int, int] | str

_C3 = 3  # the thesis' default kernel size


def _convs(filters: int, n: int, kernel: int = _C3) -> tuple[tuple[int, int], ...]:
    return ((filters, kernel),) * n


# Tables 4.1 and 4.2 (conv (filters, kernel) and pooling), read column by column.
LAYOUTS: dict[str, tuple[LayoutItem, ...]] = {
    "net1": (*_convs(32, 1), POOL, *_convs(64, 1), POOL, *_convs(128, 2), POOL),
    "net2": (*_convs(32, 1), POOL, *_convs(64, 1), POOL, *_convs(128, 3), POOL),
    "net3": ((32, 7), POOL, (64, 5), POOL, *_convs(128, 3), POOL),
    "net4": (*_convs(64, 1), POOL, *_convs(128, 1), POOL, *_convs(256, 3), POOL),
    "net5": (*_convs(32, 2), POOL, *_convs(64, 2), POOL, *_convs(128, 3), POOL),
    "net6": (*_convs(32, 2), POOL, *_convs(64, 2), POOL, *_convs(128, 3), POOL, *_convs(128, 2)),
    "net7": (*_convs(32, 1), POOL, *_convs(64, 1), POOL, *_convs(128, 2), POOL, *_convs(128, 2), POOL),
    "net8": (*_convs(32, 1), POOL, *_convs(64, 1), POOL, *_convs(128, 2), POOL, *_convs(128, 2), POOL,
             *_convs(128, 2), POOL),
    "net9": (*_convs(32, 1), POOL, *_convs(64, 1), POOL, *_convs(128, 3), POOL, *_convs(128, 3), POOL),
}

FUSIONS = ("max", "sum", "cat", "conv")
# arch -> (conv layout, input layout as in inference.runtime.model_meta.INPUT_LAYOUTS)
ARCHITECTURES: dict[str, tuple[str, str]] = {
    **{name: (name, "depth") for name in LAYOUTS},
    "depthnet": ("net6", "depth"),
    "rgbnet": ("net6", "rgb"),
    "rgbdnet": ("net6", "rgbd"),
    "fusepred": ("net6", "depth+rgb"),
    **{f"fusenet-{f}": ("net6", "depth+rgb") for f in FUSIONS},
}

HEADS = ("fc", "gap")

# The shipped compact head: 1x1 conv 128 -> 16 channels (16x16x16 = 4096 flat features) and fc-512.
COMPACT = {"bottleneck": 16, "fc_width": 512}


@dataclass
class ModelConfig:
    """Everything needed to rebuild a net; saved in checkpoints as a plain dict (``asdict``).

    Attributes:
        arch: one of :data:`ARCHITECTURES`.
        num_joints: J; the output has 3J units.
        fc_width: hidden units of each of the two fc layers (thesis: 4096).
        dropout: dropout probability after each fc layer (thesis: 0.03).
        input_size: crop edge in pixels (thesis: 128).
        bottleneck: channels of an optional 1x1 conv (+ReLU) before the fc layers, or None.
        width: multiplier of every conv layer's filter count (thesis: 1.0; < 1 for nets cheap enough to
            train and run on a CPU, same layer layout).
        fuse_at: Fuse-Net only: fuse the streams after this conv layer (1-based; thesis: conv4).
        head: ``"fc"`` (thesis: flatten the last feature map, optionally after the bottleneck) or ``"gap"``
            (global average pooling of the last feature map: C flat features whatever the input size, so the
            head is tiny; the bottleneck is unused).
    """

    arch: str = "depthnet"
    num_joints: int = NUM_JOINTS
    fc_width: int = 4096
    dropout: float = 0.03
    input_size: int = CROP_SIZE
    bottleneck: int | None = None
    fuse_at: int = 4
    width: float = 1.0
    head: str = "fc"

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ModelError(f"unknown architecture {self.arch!r}; valid: {', '.join(ARCHITECTURES)}")
        for name in ("num_joints", "fc_width", "input_size"):  # a zero / negative size is a flag typo, not a net
            if getattr(self, name) < 1:
                raise ModelError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.bottleneck is not None and self.bottleneck < 1:
            raise ModelError(f"bottleneck must be at least 1 channel, got {self.bottleneck}")
        if not self.width > 0 or not 0 <= self.dropout < 1:
            raise ModelError(f"width must be > 0 and dropout in [0, 1), got {self.width} and {self.dropout}")
        if self.head not in HEADS:
            raise ModelError(f"head must be one of {', '.join(HEADS)}, got {self.head!r}")
        n_conv = sum(1 for item in LAYOUTS[self.layout] if item != POOL)
        if self.arch.startswith("fusenet") and not 1 <= self.fuse_at <= n_conv:
            raise ModelError(f"fuse_at={self.fuse_at} out of range: {self.layout} has conv1..conv{n_conv}")

    @property
    def layout(self) -> str:
        return ARCHITECTURES[self.arch][0]

    @property
    def input_layout(self) -> str:
        return ARCHITECTURES[self.arch][1]

    @property
    def fusion(self) -> str | None:
        return self.arch.split("-", 1)[1] if self.arch.startswith("fusenet-") else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def _conv_stack(
    layout: tuple[LayoutItem, ...], in_channels: int, width: float = 1.0
) -> tuple[nn.Sequential, int, int, int]:
    """Build ``layout`` (filters scaled by ``width``) -> (layers, out channels, number of convs, number of pools)."""
    layers: list[nn.Module] = []
    channels, n_conv, n_pool = in_channels, 0, 0
    for item in layout:
        if item == POOL:
            layers.append(nn.MaxPool2d(2, 2))
            n_pool += 1
        else:
            filters, kernel = item
            filters = max(1, round(filters * width))
            layers += [nn.Conv2d(channels, filters, kernel, stride=1, padding=kernel // 2), nn.ReLU(inplace=True)]
            channels, n_conv = filters, n_conv + 1
    return nn.Sequential(*layers), channels, n_conv, n_pool


def _split_after_conv(layout: tuple[LayoutItem, ...], k: int) -> tuple[tuple[LayoutItem, ...], tuple[LayoutItem, ...]]:
    """Layout items up to and including the k-th conv, and the rest."""
    seen = 0
    for i, item in enumerate(layout):
        if item != POOL:
            seen += 1
            if seen == k:
                return layout[: i + 1], layout[i + 1:]
    raise ValueError(f"layout has only {seen} convs, cannot split after conv{k}")


class RegressionHead(nn.Module):
    """``(B, C, s, s)`` -> ``(B, 3J)``: optional 1x1 bottleneck and flatten (``head="fc"``) or global average
    pooling (``head="gap"``), then fc-W ReLU dropout x2, output 3J tanh."""

    def __init__(self, channels: int, spatial: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.spatial = spatial  # edge of the feature map the head reads
        layers: list[nn.Module] = []
        if cfg.head == "gap":
            layers.append(nn.AdaptiveAvgPool2d(1))
            flat = channels
        else:
            if cfg.bottleneck:
                layers += [nn.Conv2d(channels, cfg.bottleneck, 1), nn.ReLU(inplace=True)]
                channels = cfg.bottleneck
            flat = channels * spatial * spatial
        layers += [
            nn.Flatten(),
            nn.Linear(flat, cfg.fc_width), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.fc_width, cfg.fc_width), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.fc_width, 3 * cfg.num_joints), nn.Tanh(),
        ]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class PoseNet(nn.Module):
    """A single-stream net: ``(B, C, S, S)`` -> ``(B, 3J)`` in cube units."""

    def __init__(self, cfg: ModelConfig, in_channels: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        layout = LAYOUTS[cfg.layout]
        in_channels = in_channels or INPUT_LAYOUTS[cfg.input_layout][0][1]  # a single-stream net: one input
        self.features, channels, self.n_conv, self.n_pool = _conv_stack(layout, in_channels, cfg.width)
        self.head = RegressionHead(channels, cfg.input_size >> self.n_pool, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def fuse(kind: str, a: torch.Tensor, b: torch.Tensor, conv: nn.Module | None = None) -> torch.Tensor:
    """Feature fusion, eqs. 4.15-4.18: ``(B, D, H, W)`` x2 -> ``(B, D, H, W)`` (``(B, 2D, H, W)`` for cat).

    Concatenation interleaves the channels (y_{2k} = a_k, y_{2k-1} = b_k in eq. 4.17).
    """
    if kind == "max":
        return torch.maximum(a, b)
    if kind == "sum":
        return a + b
    cat = torch.stack((a, b), dim=2).flatten(1, 2)  # (B, 2D, H, W) interleaved a0 b0 a1 b1 ...
    if kind == "cat":
        return cat
    if kind == "conv":
        assert conv is not None
        return conv(cat)
    raise ValueError(f"unknown fusion {kind!r}; valid: {FUSIONS}")


class FuseNet(nn.Module):
    """Two streams (depth, RGB) up to conv ``fuse_at``, fused, then one trunk + head (Fig. 4.6)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.fusion = cfg.fusion
        before, after = _split_after_conv(LAYOUTS[cfg.layout], cfg.fuse_at)
        self.depth_stream, d, _, p1 = _conv_stack(before, 1, cfg.width)
        self.rgb_stream, _, _, _ = _conv_stack(before, 3, cfg.width)
        # 1x1 conv reducing 2D -> D channels (eq. 4.18); ReLU keeps the trunk's input like a conv layer output.
        self.fuse_conv = nn.Sequential(nn.Conv2d(2 * d, d, 1), nn.ReLU(inplace=True)) if self.fusion == "conv" else None
        self.trunk, channels, _, p2 = _conv_stack(after, 2 * d if self.fusion == "cat" else d, cfg.width)
        self.head = RegressionHead(channels, cfg.input_size >> (p1 + p2), cfg)

    def forward(self, depth: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        fused = fuse(self.fusion, self.depth_stream(depth), self.rgb_stream(rgb), self.fuse_conv)
        return self.head(self.trunk(fused))


class FusePredNet(nn.Module):
    """Score fusion (Fig. 4.5): ``w * depthnet(depth) + (1 - w) * rgbnet(rgb)``, w ``(3J,)`` (default 0.5)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.depth_net = PoseNet(cfg, in_channels=1)
        self.rgb_net = PoseNet(cfg, in_channels=3)
        self.register_buffer("depth_weight", torch.full((3 * cfg.num_joints,), 0.5))

    def forward_streams(self, depth: torch.Tensor, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two nets' own predictions, each ``(B, 3J)`` (they are trained independently, on their own loss)."""
        return self.depth_net(depth), self.rgb_net(rgb)

    def forward(self, depth: torch.Tensor, rgb: torch.Tensor, streams: bool = False) -> torch.Tensor:
        """Fused ``(B, 3J)``; with ``streams`` the two predictions stacked ``(2, B, 3J)`` (training, via DDP)."""
        pd, pr = self.forward_streams(depth, rgb)
        if streams:
            return torch.stack((pd, pr))
        return self.depth_weight * pd + (1.0 - self.depth_weight) * pr

    @torch.no_grad()
    def fit_weights(self, err_depth: torch.Tensor, err_rgb: torch.Tensor) -> None:
        """Per-output weights from validation errors ``(N, 3J)`` of each net: inverse-variance weighting,
        w = mse_rgb / (mse_depth + mse_rgb), so the better net dominates each output."""
        mse_d = err_depth.float().pow(2).mean(0)
        mse_r = err_rgb.float().pow(2).mean(0)
        self.depth_weight.copy_(mse_r / (mse_d + mse_r).clamp_min(1e-12))


@torch.no_grad()
def resample_input_grid(
    theirs: dict[str, torch.Tensor], model: nn.Module, their_input_size: int
) -> dict[str, torch.Tensor]:
    """Weights of a net trained on ``their_input_size`` crops, fitted to ``model`` (same layout, another input size).

    Only the fc layer on the flattened feature map depends on the input size: its weights, seen as a ``(out, C,
    s, s)`` grid over the map, are resampled to the model's grid (area interpolation, scaled by the ratio of the
    cell counts, so that a smooth feature map gives the same response). The crop covers the same cube at either
    size, so grid cell (i, j) looks at the same part of the hand.
    """
    ours = model.state_dict()
    head: RegressionHead = model.head  # type: ignore[assignment]
    s2 = head.spatial
    s1, rest = divmod(s2 * their_input_size, model.cfg.input_size)  # type: ignore[union-attr]
    out = {}
    for key, value in ours.items():
        t = theirs[key]
        if t.shape == value.shape:
            out[key] = t
            continue
        if t.dim() != 2 or t.shape[0] != value.shape[0] or rest or value.shape[1] % (s2 * s2):
            raise ModelError(f"{key}: {tuple(t.shape)} cannot be resampled to {tuple(value.shape)}")
        channels = value.shape[1] // (s2 * s2)
        grid = t.reshape(t.shape[0], channels, s1, s1)
        resized = nn.functional.interpolate(grid, size=(s2, s2), mode="area" if s2 < s1 else "bilinear")
        out[key] = (resized * (s1 * s1) / (s2 * s2)).reshape(value.shape)
    return out


@torch.no_grad()
def fusenet_from_depthnet(fuse: FuseNet, depth: PoseNet) -> None:
    """Start a conv-fusion Fuse-Net as a trained Depth-Net of the same layout: its depth stream, trunk and head take
    the Depth-Net's weights, and the 1x1 fusion conv passes the depth features through and ignores the RGB stream
    (weight 1 from each depth channel, 0 from the RGB channels: the ReLU of non-negative features is themselves),
    so the Fuse-Net first predicts exactly what the Depth-Net does and training only has to learn what RGB adds.
    The RGB stream keeps its own (random) initialisation."""
    if fuse.fusion != "conv":
        raise ModelError(f"only a conv-fusion Fuse-Net starts from a Depth-Net, not {fuse.cfg.arch}")
    ours = [m for m in (*fuse.depth_stream, *fuse.trunk) if isinstance(m, nn.Conv2d)]
    theirs = [m for m in depth.features if isinstance(m, nn.Conv2d)]
    if [m.weight.shape for m in ours] != [m.weight.shape for m in theirs]:
        raise ModelError("the Depth-Net's conv layers do not match the Fuse-Net's depth stream and trunk")
    for a, b in zip(ours, theirs, strict=True):
        a.weight.copy_(b.weight)
        a.bias.copy_(b.bias)
    fuse.head.load_state_dict(depth.head.state_dict())
    assert fuse.fuse_conv is not None
    conv = fuse.fuse_conv[0]
    conv.weight.zero_()
    conv.bias.zero_()
    for k in range(conv.out_channels):
        conv.weight[k, 2 * k] = 1.0  # channel 2k of the interleaved concatenation is depth feature k


def _glorot_init(model: nn.Module) -> None:
    """Lasagne's defaults (the thesis' framework): Glorot-uniform weights, zero biases."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def build_model(cfg: ModelConfig | dict[str, Any], init: bool = True) -> nn.Module:
    """Build the net of ``cfg`` (a :class:`ModelConfig` or its dict). Inputs follow ``cfg.input_layout``."""
    if isinstance(cfg, dict):
        cfg = ModelConfig.from_dict(cfg)
    if cfg.arch == "fusepred":
        model: nn.Module = FusePredNet(cfg)
    elif cfg.arch.startswith("fusenet-"):
        model = FuseNet(cfg)
    else:
        model = PoseNet(cfg)
    if init:
        _glorot_init(model)
    return model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def describe(cfg: ModelConfig) -> dict[str, Any]:
    """``{"conv", "pool", "params", "inputs"}`` of a net, built on the meta device (no memory, no forward)."""
    with torch.device("meta"):
        model = build_model(cfg, init=False)
    # Layers of the whole graph: two-stream nets count both streams (and the 1x1 fusion conv).
    return {
        "conv": sum(isinstance(m, nn.Conv2d) for m in model.modules()),
        "pool": sum(isinstance(m, nn.MaxPool2d) for m in model.modules()),
        "params": count_params(model),
        "inputs": [name for name, _ in INPUT_LAYOUTS[cfg.input_layout]],
    }
