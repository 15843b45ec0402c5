"""A seller's photo of a product: one clean rendering, made different by what a photo brings.

``photo_shot(render, seed)`` places an RGBA rendering of an emoji on a background and
applies, each drawn from the seed (a NumPy PCG64 generator, so the same seed gives the
same bytes with the same NumPy and Pillow):

| change | how | range |
| --- | --- | --- |
| background | solid colour 35%, two-colour linear gradient 25%, blurred-noise texture ("fabric") 25%, stripes or checks ("tablecloth") 15% | colours: any hue, saturation 0-0.5, value 0.35-1 |
| perspective | each corner of the object moved independently | up to 8% of its size |
| rotation | about the centre, canvas expanded | -25 to 25 degrees |
| scale | the object's longer side against the frame | 55% to 95% |
| position | anywhere the whole object stays inside the frame | uniform |
| lighting | brightness x, contrast x, per-channel colour cast x; half the shots also a linear light falloff across the frame | 0.75-1.25, 0.75-1.2, 0.9-1.1; falloff up to 25% |
| blur | Gaussian, on 35% of the shots | radius 0.3-1.1 px |
| sensor noise | Gaussian, on 35% of the shots | sigma 2-7 (of 255) |
| JPEG | baseline JPEG | quality 45-90 |

The frame is ``size`` x ``size`` pixels (64 for the bundled benchmark).
"""

from __future__ import annotations

import colorsys
import io

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

BACKGROUNDS = (("solid", 0.35), ("gradient", 0.25), ("texture", 0.25), ("pattern", 0.15))


def _colour(rng: np.random.Generator) -> np.ndarray:
    h, s, v = rng.uniform(0, 1), rng.uniform(0, 0.5), rng.uniform(0.35, 1.0)
    return np.array(colorsys.hsv_to_rgb(h, s, v)) * 255.0


def _background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, str]:
    kinds, weights = zip(*BACKGROUNDS)
    kind = kinds[rng.choice(len(kinds), p=np.array(weights))]
    a = _colour(rng)
    if kind == "solid":
        return np.broadcast_to(a, (size, size, 3)).copy(), kind
    if kind == "gradient":
        b = _colour(rng)
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:size, 0:size] / max(1, size - 1)
        t = (np.cos(angle) * xx + np.sin(angle) * yy)
        t = (t - t.min()) / max(1e-9, t.max() - t.min())
        return a * (1 - t[..., None]) + b * t[..., None], kind
    if kind == "texture":
        cells = int(rng.integers(4, 10))
        coarse = rng.normal(0, 1, (cells, cells, 3))
        noise = np.asarray(
            Image.fromarray(((coarse - coarse.min()) / max(1e-9, np.ptp(coarse)) * 255).astype(np.uint8)).resize(
                (size, size), Image.Resampling.BICUBIC
            ),
            dtype=np.float64,
        )
        grain = rng.normal(0, 6, (size, size, 1))
        return a + (noise - 127.5) * rng.uniform(0.15, 0.4) + grain, kind
    b = _colour(rng)
    period = int(rng.integers(6, 17))
    yy, xx = np.mgrid[0:size, 0:size]
    if rng.uniform() < 0.5:
        on = ((xx + yy * rng.uniform(-1, 1)) // (period / 2)).astype(int) % 2 == 0  # stripes
    else:
        on = ((xx // (period / 2)).astype(int) + (yy // (period / 2)).astype(int)) % 2 == 0  # checks
    return np.where(on[..., None], a, b), kind


def _perspective_coefficients(src: np.ndarray, dst: np.ndarray) -> list[float]:
    """The 8 coefficients PIL's PERSPECTIVE transform takes to map dst corners to src."""
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return np.linalg.solve(np.array(rows, dtype=np.float64), src.reshape(8)).tolist()


def _object(render: Image.Image, rng: np.random.Generator, size: int) -> Image.Image:
    obj = render.convert("RGBA")
    w, h = obj.size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    moved = corners + rng.uniform(-0.08, 0.08, (4, 2)) * np.array([w, h])
    obj = obj.transform(
        (w, h), Image.Transform.PERSPECTIVE, _perspective_coefficients(corners, moved), Image.Resampling.BICUBIC
    )
    obj = obj.rotate(float(rng.uniform(-25, 25)), resample=Image.Resampling.BICUBIC, expand=True)
    box = obj.getbbox() or (0, 0, obj.width, obj.height)
    obj = obj.crop(box)
    side = max(1, round(rng.uniform(0.55, 0.95) * size))
    scale = side / max(obj.size)
    return obj.resize((max(1, round(obj.width * scale)), max(1, round(obj.height * scale))), Image.Resampling.LANCZOS)


def photo_shot(render: Image.Image, seed: int, size: int = 64) -> tuple[bytes, dict]:
    """JPEG bytes of one photo of the rendering, and the drawn settings."""
    rng = np.random.Generator(np.random.PCG64(seed))
    background, kind = _background(rng, size)
    canvas = Image.fromarray(np.clip(background, 0, 255).round().astype(np.uint8), "RGB")
    obj = _object(render, rng, size)
    x = int(rng.integers(0, size - obj.width + 1))
    y = int(rng.integers(0, size - obj.height + 1))
    canvas.paste(obj, (x, y), obj)

    brightness, contrast = rng.uniform(0.75, 1.25), rng.uniform(0.75, 1.2)
    canvas = ImageEnhance.Contrast(ImageEnhance.Brightness(canvas).enhance(brightness)).enhance(contrast)
    pixels = np.asarray(canvas, dtype=np.float64) * rng.uniform(0.9, 1.1, 3)
    falloff = rng.uniform(0, 0.25) if rng.uniform() < 0.5 else 0.0
    if falloff:
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:size, 0:size] / max(1, size - 1) - 0.5
        pixels *= (1.0 - falloff * (np.cos(angle) * xx + np.sin(angle) * yy + 0.5))[..., None]
    blur = rng.uniform(0.3, 1.1) if rng.uniform() < 0.35 else 0.0
    noise = rng.uniform(2, 7) if rng.uniform() < 0.35 else 0.0
    if noise:
        pixels += rng.normal(0, noise, pixels.shape)
    canvas = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")
    if blur:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    quality = int(rng.integers(45, 91))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=quality)
    settings = {
        "background": kind,
        "position": [x, y],
        "object_size": list(obj.size),
        "brightness": round(brightness, 3),
        "contrast": round(contrast, 3),
        "falloff": round(falloff, 3),
        "blur": round(blur, 3),
        "noise": round(noise, 3),
        "jpeg_quality": quality,
    }
    return out.getvalue(), settings
