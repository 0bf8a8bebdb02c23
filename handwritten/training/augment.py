"""On-device data augmentation, traced into the jitted training step.

MNIST digits are neat and centred; people draw slanted, rotated, thick or thin digits, and our
preprocessing then re-fits them to 20 px and re-centres them by mass. So an augmented digit is a
random affine distortion and stroke-width change of an MNIST digit, *re-normalised the way
`preprocess` would* (longest side 20 px, centre of mass at (14, 14)), plus a little jitter, blur
and gain. That teaches the model what preprocessed user drawings look like rather than shifted
MNIST digits. Sometimes a stroke is broken (a small disc of ink erased), because people lift the
pen and segmentation then hands the model a digit with a gap in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax.scipy.ndimage import map_coordinates

SIZE = 28
CENTRE = 14.0
FIT = 20.0


@dataclass(frozen=True)
class AugmentConfig:
    rotate_degrees: float = 15.0
    shear: float = 0.25
    scale_range: tuple[float, float] = (0.85, 1.15)  # independent x / y stretch
    thicken_prob: float = 0.25
    thin_prob: float = 0.2
    jitter_pixels: float = 1.0  # residual shift after re-centring
    fit_jitter: float = 0.08  # relative error of the re-fit size
    blur_prob: float = 0.2
    gain_range: tuple[float, float] = (0.8, 1.0)
    break_prob: float = 0.15  # erase a disc of ink: a stroke drawn in two parts
    break_radius: tuple[float, float] = (0.8, 1.8)


def _warp(image_hw: jax.Array, matrix: jax.Array, source_centre: jax.Array) -> jax.Array:
    """Sample image at source = matrix @ (p - CENTRE) + source_centre for each output pixel p."""
    grid = jnp.stack(jnp.meshgrid(jnp.arange(SIZE), jnp.arange(SIZE), indexing="ij"), 0)
    offsets = grid.reshape(2, -1).astype(jnp.float32) - CENTRE
    source = matrix @ offsets + source_centre[:, None]
    return map_coordinates(image_hw, list(source), order=1, mode="constant", cval=0.0).reshape(
        SIZE, SIZE
    )


def _pool3(image_hw: jax.Array, op) -> jax.Array:
    init = -jnp.inf if op is jax.lax.max else jnp.inf
    return jax.lax.reduce_window(image_hw, init, op, (3, 3), (1, 1), "SAME")


def _refit(image_hw: jax.Array, key: jax.Array, config: AugmentConfig) -> jax.Array:
    """Scale so the ink's longer side is 20 px and move the centre of mass to (14, 14)."""
    mask = image_hw > 0.35
    rows, cols = mask.any(axis=1), mask.any(axis=0)
    index = jnp.arange(SIZE)
    height = jnp.where(rows, index, -1).max() - jnp.where(rows, index, SIZE).min() + 1
    width = jnp.where(cols, index, -1).max() - jnp.where(cols, index, SIZE).min() + 1
    extent = jnp.maximum(jnp.maximum(height, width), 1).astype(jnp.float32)
    mass = jnp.maximum(image_hw.sum(), 1e-6)
    centre = jnp.stack(
        [(image_hw.sum(axis=1) * index).sum() / mass, (image_hw.sum(axis=0) * index).sum() / mass]
    )
    k_fit, k_shift = jax.random.split(key)
    fit = FIT * (1.0 + config.fit_jitter * jax.random.uniform(k_fit, minval=-1.0, maxval=1.0))
    shift = jax.random.uniform(k_shift, (2,), minval=-1.0, maxval=1.0) * config.jitter_pixels
    inverse_scale = extent / fit
    return _warp(image_hw, jnp.eye(2) * inverse_scale, centre - shift * inverse_scale)


def _break_stroke(image_hw: jax.Array, key: jax.Array, config: AugmentConfig) -> jax.Array:
    """Erase a soft disc around a random ink pixel (chosen in proportion to its ink squared)."""
    k_where, k_radius = jax.random.split(key)
    flat = image_hw.reshape(-1)
    index = jax.random.categorical(k_where, jnp.log(flat * flat + 1e-8))
    row, col = index // SIZE, index % SIZE
    radius = jax.random.uniform(
        k_radius, minval=config.break_radius[0], maxval=config.break_radius[1]
    )
    yy, xx = jnp.meshgrid(jnp.arange(SIZE), jnp.arange(SIZE), indexing="ij")
    distance = jnp.sqrt((yy - row) ** 2 + (xx - col) ** 2)
    return image_hw * jnp.clip(distance - radius + 0.5, 0.0, 1.0)


def augment_one(image_hw: jax.Array, key: jax.Array, config: AugmentConfig) -> jax.Array:
    """Augment one (28, 28) float image in [0, 1]."""
    keys = jax.random.split(key, 10)
    angle = jnp.deg2rad(config.rotate_degrees) * jax.random.uniform(keys[0], minval=-1, maxval=1)
    shear = config.shear * jax.random.uniform(keys[1], minval=-1, maxval=1)
    low, high = config.scale_range
    scale = jax.random.uniform(keys[2], (2,), minval=low, maxval=high)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    forward = (
        jnp.array([[cos, -sin], [sin, cos]])
        @ jnp.array([[1.0, 0.0], [shear, 1.0]])
        @ jnp.diag(scale)
    )
    image = _warp(image_hw, jnp.linalg.inv(forward), jnp.array([CENTRE, CENTRE]))

    choice = jax.random.uniform(keys[3])
    thick = _pool3(image, jax.lax.max)
    thin = 0.5 * (image + _pool3(image, jax.lax.min))
    image = jnp.where(
        choice < config.thicken_prob,
        thick,
        jnp.where(choice < config.thicken_prob + config.thin_prob, thin, image),
    )
    image = _refit(image, keys[4], config)
    broken = _break_stroke(image, keys[8], config)
    image = jnp.where(jax.random.uniform(keys[9]) < config.break_prob, broken, image)

    blurred = jax.scipy.signal.convolve2d(
        image, jnp.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], jnp.float32) / 16.0, mode="same"
    )
    image = jnp.where(jax.random.uniform(keys[5]) < config.blur_prob, blurred, image)
    gain = jax.random.uniform(keys[6], minval=config.gain_range[0], maxval=config.gain_range[1])
    # Normalise the stroke core to 1 first, as preprocessing does, then apply the gain.
    core = image > 0.5 * image.max()
    level = (image * core).sum() / jnp.maximum(core.sum(), 1)
    image = image / jnp.maximum(level, 1e-6)
    return jnp.clip(image * gain, 0.0, 1.0)


def augment_batch(images_nhw: jax.Array, key: jax.Array, config: AugmentConfig) -> jax.Array:
    """Augment a batch (N, 28, 28) of floats in [0, 1]; each image gets its own key."""
    keys = jax.random.split(key, images_nhw.shape[0])
    return jax.vmap(augment_one, in_axes=(0, 0, None))(images_nhw, keys, config)
