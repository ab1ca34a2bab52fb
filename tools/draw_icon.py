"""Draw the addon's icon: a customer card with ticked preferences and a heart.

    python3 tools/draw_icon.py consumer_preferences/static/description/icon.png

Drawn with Pillow, so that the icon is the project's own and can be redrawn.
"""

import sys
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 128
SCALE = 8  # drawn large, then reduced: smooth edges without anti-aliasing code
BACKGROUND_TOP = (113, 75, 103)  # Odoo's purple
BACKGROUND_BOTTOM = (76, 48, 70)
CARD = (255, 255, 255)
LINE = (176, 160, 172)
TICK = (0, 160, 157)  # Odoo's teal
HEART = (232, 85, 96)


def draw(path):
    size = SIZE * SCALE
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle(
        [0, 0, size - 1, size - 1], 22 * SCALE, fill=255
    )
    gradient = Image.new("RGBA", (size, size))
    gradient_draw = ImageDraw.Draw(gradient)
    for y in range(size):
        ratio = y / (size - 1)
        colour = tuple(
            round(top + (bottom - top) * ratio)
            for top, bottom in zip(BACKGROUND_TOP, BACKGROUND_BOTTOM, strict=True)
        )
        gradient_draw.line([(0, y), (size, y)], fill=colour)
    image.paste(gradient, (0, 0), mask)

    def box(x0, y0, x1, y1):
        return [x0 * SCALE, y0 * SCALE, x1 * SCALE, y1 * SCALE]

    canvas = ImageDraw.Draw(image)
    canvas.rounded_rectangle(box(26, 20, 92, 106), 8 * SCALE, fill=CARD)
    # The customer: a head and shoulders at the top of the card.
    canvas.ellipse(box(51, 28, 67, 44), fill=BACKGROUND_TOP)
    canvas.pieslice(box(43, 44, 75, 72), 180, 360, fill=BACKGROUND_TOP)
    # Preference lines, each ticked.
    for top in (66, 78, 90):
        canvas.line(
            [
                (36 * SCALE, (top + 3) * SCALE),
                (39 * SCALE, (top + 6) * SCALE),
                (45 * SCALE, top * SCALE),
            ],
            fill=TICK,
            width=3 * SCALE,
            joint="curve",
        )
        canvas.rounded_rectangle(box(50, top + 1, 82, top + 5), 2 * SCALE, fill=LINE)
    # The heart: two circles and a triangle, on a white disc.
    canvas.ellipse(box(76, 72, 114, 110), fill=CARD)
    canvas.ellipse(box(83, 81, 96, 94), fill=HEART)
    canvas.ellipse(box(94, 81, 107, 94), fill=HEART)
    canvas.polygon(
        [
            (84 * SCALE, 90 * SCALE),
            (106 * SCALE, 90 * SCALE),
            (95 * SCALE, 103 * SCALE),
        ],
        fill=HEART,
    )
    image.resize((SIZE, SIZE), Image.LANCZOS).save(path, optimize=True)


if __name__ == "__main__":
    draw(Path(sys.argv[1]))
