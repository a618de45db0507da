"""A small CNN for image observations, shared by every agent (`Agent(..., image_shape=(H, W, C))`).

Observation layout (the contract of `scenes.base.Scene.image_shape`): each flat float observation vector
begins with a camera image, H·W·C entries in HWC order with values in [0, 1] (RGB, optionally a depth
channel as a 4th), and what follows is a plain vector (GPS, compass, goal one-hot...). `ImageEncoder`
replaces the image part by `image_features` learned features and keeps the vector part as it is, so an
agent's token is (image features, vector, previous action, previous reward, done).

The architecture is the one the embodied-navigation baselines use, learned from the Nature DQN CNN (Mnih et
al. 2015: 8x8 stride 4, 4x4 stride 2, 3x3 stride 1, ReLU, a ReLU fully connected layer) and from
habitat-baselines' `SimpleCNN` (the same three convolutions with 32, 64, 32 channels, the last one narrow so
the flattened map stays small, then Linear to the hidden size + ReLU). Changes, and why:
* Each convolution is padded by (kernel - stride) / 2, so every one divides the map by exactly its stride
  and the net ends at (H/8, W/8) for any H, W: it works from 16x16 (a 2x2 map) up, where the unpadded
  Nature kernels need at least 36x36 (an 8x8 / 4 conv on 16 pixels leaves 3, then 4x4 / 2 leaves nothing).
  At 64x64 the final map is 8x8: 32·8·8 = 2048 inputs to the Linear layer.
* `image_features` defaults to 256, not habitat's 512: our memories are d_model 32..256 wide, and the Linear
  layer is most of the parameters (2048·256 at 64x64), so 512 would double the encoder for no capacity the
  transformer can use.
At 64x64x3 with the defaults the encoder has about 0.58 M parameters and costs about 5 M multiply-adds per
image (conv1 1.6 M, conv2 2.1 M, conv3 1.2 M, Linear 0.5 M), a few milliseconds for 16 envs on one CPU
thread, so stepping stays interactive on a 2-core machine.

Weights use Kaiming-normal init for ReLU (zero biases), as habitat's SimpleCNN; the input is not rescaled
(the contract already puts pixels in [0, 1], as habitat's `/ 255`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from agents.distributed import sum_across_ranks, world_size
from scenes.errors import UserError

# (kernel, stride) of the three convolutions: the Nature DQN / habitat SimpleCNN schedule.
CONV_LAYOUT: tuple[tuple[int, int], ...] = ((8, 4), (4, 2), (3, 1))
MIN_IMAGE_SIZE = 16  # smallest height / width the encoder is meant for (its final map is then 2x2)


def conv_output_size(size: int) -> int:
    """Height (or width) of the final feature map for an input of `size` pixels (the same arithmetic as
    `nn.Conv2d` with padding (kernel - stride) // 2)."""
    for kernel, stride in CONV_LAYOUT:
        pad = (kernel - stride) // 2
        size = (size + 2 * pad - kernel) // stride + 1
    return size


def check_image_shape(image_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """Validate an (H, W, C) image shape; return it as a tuple of ints."""
    if len(image_shape) != 3 or not all(isinstance(s, int) and not isinstance(s, bool) for s in image_shape):
        raise ValueError(f"image_shape must be (height, width, channels) ints, got {image_shape!r}")
    h, w, c = image_shape
    if h < MIN_IMAGE_SIZE or w < MIN_IMAGE_SIZE or c < 1:
        raise ValueError(
            f"image_shape must have height and width >= {MIN_IMAGE_SIZE} and >= 1 channel, got {image_shape}"
        )
    return (h, w, c)


def split_observation(obs: Tensor, image_shape: tuple[int, int, int]) -> tuple[Tensor, Tensor]:
    """Split flat observations (..., obs_dim) into images (N, C, H, W), N = the product of the leading dims,
    and the vector part (..., obs_dim - H·W·C), leading dims kept.

    The images are a view in channels-last memory layout (no copy); `nn.Conv2d` accepts it directly.
    """
    h, w, c = image_shape
    size = h * w * c
    if obs.shape[-1] < size:
        raise ValueError(
            f"observations of size {obs.shape[-1]} cannot hold a {h}x{w}x{c} image ({size} entries) "
            f"at their start"
        )
    images = obs[..., :size].reshape(-1, h, w, c).permute(0, 3, 1, 2)
    return images, obs[..., size:]


class ImageEncoder(nn.Module):
    """Three strided ReLU convolutions, flatten, Linear to `features` + ReLU: (N, C, H, W) -> (N, features).

    `encode_observation` applies it to the image part of flat observations of any leading shape.
    """

    def __init__(
        self, image_shape: tuple[int, int, int], features: int = 256, channels: tuple[int, ...] = (32, 64, 32)
    ) -> None:
        super().__init__()
        self.image_shape = check_image_shape(image_shape)
        if len(channels) != len(CONV_LAYOUT) or any(ch <= 0 for ch in channels):
            raise UserError(f"cnn_channels must be {len(CONV_LAYOUT)} positive sizes, got {channels}")
        if features <= 0:
            raise UserError(f"image_features must be > 0, got {features}")
        h, w, c = self.image_shape
        self.features = features
        layers: list[nn.Module] = []
        width = c
        for (kernel, stride), out in zip(CONV_LAYOUT, channels, strict=True):
            layers += [nn.Conv2d(width, out, kernel, stride, padding=(kernel - stride) // 2), nn.ReLU()]
            width = out
        self.convs = nn.Sequential(*layers)
        flat = width * conv_output_size(h) * conv_output_size(w)
        self.fc = nn.Linear(flat, features)
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                assert module.bias is not None  # every layer here is built with a bias
                nn.init.zeros_(module.bias)

    @property
    def image_size(self) -> int:
        """Entries the image takes at the start of a flat observation (H·W·C)."""
        return math.prod(self.image_shape)

    def forward(self, images: Tensor) -> Tensor:
        return torch.relu(self.fc(self.convs(images).flatten(1)))

    def encode_observation(self, obs: Tensor, valid: Tensor | None = None) -> Tensor:
        """(..., obs_dim) flat observations -> (..., features + obs_dim - H·W·C): image features, then the
        vector part unchanged.

        `valid` (the leading shape, bool) restricts the CNN to those entries and leaves zeros elsewhere: in
        `evaluate` the padded steps of a (B, T) batch cost nothing and whatever a buffer holds there (even
        NaN) never enters the convolutions.
        """
        lead = obs.shape[:-1]
        images, vector = split_observation(obs, self.image_shape)
        if valid is None or bool(valid.all()):
            encoded = self(images)
        else:
            rows = valid.reshape(-1).nonzero().squeeze(1)
            encoded = images.new_zeros(images.shape[0], self.features).index_copy(0, rows, self(images[rows]))
        return torch.cat((encoded.view(*lead, self.features), vector), dim=-1)


class ObservationNormalizer(nn.Module):
    """Running mean / variance standardisation of vector observations, as Gymnasium's `NormalizeObservation`
    (and CleanRL's MuJoCo PPO) do: (obs - mean) / sqrt(var + 1e-8), clipped to ±10.

    The statistics are buffers of the agent, so checkpoints carry them and `step`, `evaluate`, the player and
    `eval` all see the same function. They change only through `update`, which the trainer calls after each
    PPO update with that iteration's observations: within an iteration acting and the update's recomputation
    use identical statistics, so PPO's ratio compares the same function (Gymnasium's wrapper updates every
    step and stores already-normalised observations instead).
    """

    CLIP = 10.0
    EPSILON = 1e-8
    # Buffers registered in __init__ (declared here for the type checker: Module's __getattr__ is untyped).
    mean: Tensor
    var: Tensor
    count: Tensor

    def __init__(self, size: int) -> None:
        super().__init__()
        # float64: the count reaches tens of millions and the parallel-variance update subtracts close values.
        self.register_buffer("mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("var", torch.ones(size, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    def forward(self, obs: Tensor) -> Tensor:
        scaled = (obs.double() - self.mean) / torch.sqrt(self.var + self.EPSILON)
        return scaled.clamp(-self.CLIP, self.CLIP).to(obs.dtype)

    @torch.no_grad()
    def update(self, obs: Tensor) -> None:
        """Fold a batch (..., size) into the statistics (Chan et al.'s parallel mean / variance update); in a
        distributed run the batch is the union of every rank's (`agents.distributed`)."""
        batch = obs.reshape(-1, self.mean.numel()).double()
        if world_size() > 1:  # the batch is every rank's observations: each rank folds in the same moments
            n = float(sum_across_ranks(torch.tensor([float(batch.shape[0])], dtype=torch.float64)))
            if n == 0:
                return
            batch_mean = sum_across_ranks(batch.sum(dim=0)) / n
            batch_var = sum_across_ranks((batch - batch_mean).square().sum(dim=0)) / n
        else:
            n = float(batch.shape[0])
            if n == 0:
                return
            batch_mean = batch.mean(dim=0)
            batch_var = batch.var(dim=0, correction=0)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.var.copy_(
            (self.var * self.count + batch_var * n + delta.square() * self.count * n / total) / total
        )
        self.count.copy_(total)
