"""Draw the Isaac Sim extension's icon and preview image (exts/isaac.rl.workbench/data/).

icon.png (256 x 256): a cart-pole over a rising return curve. preview.png: the browser panel while it trains
cart-pole (docs/images/panel_training.png, the same panel model the Isaac Sim window renders), scaled to 1024 px
wide under a title bar. Run: .venv/bin/python scripts/make_ext_images.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "exts" / "isaac.rl.workbench" / "data"
GREEN, DARK, BLUE = (118, 185, 0), (32, 36, 40), (47, 126, 216)


def icon(size: int = 256) -> Image.Image:
    """A dark rounded tile, a return curve climbing to a plateau, and a cart balancing a pole."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((4, 4, size - 4, size - 4), radius=size // 6, fill=DARK)
    xs = np.linspace(28, size - 28, 60)
    ys = size - 40 - (size * 0.55) * (1 - np.exp(-np.linspace(0, 5, 60)))
    draw.line(list(zip(xs, ys, strict=True)), fill=GREEN, width=10, joint="curve")
    cart_y = size - 70
    draw.line((30, cart_y + 22, size - 30, cart_y + 22), fill=(200, 200, 200), width=4)
    draw.rounded_rectangle((size / 2 - 34, cart_y - 6, size / 2 + 34, cart_y + 18), radius=6, fill=BLUE)
    draw.line((size / 2, cart_y - 4, size / 2 + 26, cart_y - 110), fill=(235, 235, 235), width=9)
    draw.ellipse((size / 2 - 7, cart_y - 11, size / 2 + 7, cart_y + 3), fill=(235, 235, 235))
    return img


def preview(width: int = 1024) -> Image.Image:
    """The browser panel screenshot under a title bar with the icon."""
    shot = Image.open(REPO / "docs" / "images" / "panel_training.png").convert("RGB")
    shot = shot.resize((width, round(shot.height * width / shot.width)), Image.LANCZOS)
    bar = 72
    img = Image.new("RGB", (width, shot.height + bar), DARK)
    img.paste(shot, (0, bar))
    small = icon().resize((56, 56), Image.LANCZOS)
    img.paste(small, (10, 8), small)
    ImageDraw.Draw(img).text(
        (80, 18), "RL Workbench: train a policy for your USD robot", fill=(240, 240, 240), font_size=28
    )
    return img


if __name__ == "__main__":
    DATA.mkdir(parents=True, exist_ok=True)
    icon().save(DATA / "icon.png")
    preview().save(DATA / "preview.png")
    print(f"wrote {DATA / 'icon.png'} and {DATA / 'preview.png'}")
