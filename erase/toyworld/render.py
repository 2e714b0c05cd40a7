"""The procedural renderer: a Scene -> a 32x32 RGB image, deterministic, thousands per second.

Drawing happens on a colour canvas and a part map (an integer per pixel saying which shape
is there); styles then re-render both: `photo` shades and adds grain, `sketch` draws the part
outlines in pencil over tinted paper, `pixel` posterises to a hard palette, `watercolor`
blurs, bleaches and stains. Features sit on a 2-pixel grid so each stays visible in every style.
"""

from __future__ import annotations

import numpy as np

from erase.toyworld.world import Scene

SIZE = 32
_Y, _X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)

SKIN_RGB = {"light": (240, 200, 170), "tan": (214, 165, 120), "brown": (160, 108, 72), "dark": (98, 66, 46)}
HAIR_RGB = {"black": (25, 20, 20), "blond": (245, 215, 70), "red": (200, 60, 20), "white": (235, 235, 240)}
SHIRT_RGB = {"red": (210, 30, 40), "green": (40, 160, 60), "blue": (40, 70, 200), "yellow": (240, 220, 30),
             "purple": (130, 40, 170)}
PALETTE = np.array([(200, 30, 30), (30, 90, 200), (240, 200, 40), (40, 150, 60), (140, 50, 160), (240, 120, 20),
                    (90, 90, 100), (20, 160, 170)], dtype=np.float32)
INK = (30, 25, 30)


class Canvas:
    """An RGB float canvas plus a part map; every primitive paints both."""

    def __init__(self) -> None:
        self.rgb = np.zeros((SIZE, SIZE, 3), np.float32)
        self.part = np.zeros((SIZE, SIZE), np.int16)
        self.next_part = 1

    def fill(self, mask: np.ndarray, color) -> None:
        self.rgb[mask] = color
        self.part[mask] = self.next_part
        self.next_part += 1

    def rect(self, x0: int, y0: int, x1: int, y1: int, color) -> None:
        """Fill pixels x0..x1, y0..y1 inclusive."""
        self.fill((_X >= x0) & (_X <= x1) & (_Y >= y0) & (_Y <= y1), color)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, color, where=None) -> None:
        mask = ((_X - cx) / rx) ** 2 + ((_Y - cy) / ry) ** 2 <= 1.0
        self.fill(mask if where is None else mask & where, color)

    def triangle(self, p0, p1, p2, color) -> None:
        def side(a, b):
            return (b[0] - a[0]) * (_Y - a[1]) - (b[1] - a[1]) * (_X - a[0])

        s0, s1, s2 = side(p0, p1), side(p1, p2), side(p2, p0)
        self.fill(((s0 >= 0) & (s1 >= 0) & (s2 >= 0)) | ((s0 <= 0) & (s1 <= 0) & (s2 <= 0)), color)


# 1. Contexts: backgrounds that fill the whole canvas.
def _beach(c: Canvas) -> None:
    c.rect(0, 0, 31, 9, (135, 200, 240))
    c.ellipse(27, 3, 3, 3, (255, 230, 90))
    c.rect(0, 10, 31, 17, (25, 100, 190))
    c.rect(0, 18, 31, 31, (232, 208, 140))


def _forest(c: Canvas) -> None:
    c.rect(0, 0, 31, 31, (30, 90, 35))
    for x in (0, 27):
        c.rect(x + 1, 8, x + 3, 31, (95, 60, 30))
        c.ellipse(x + 2, 6, 5, 5, (70, 150, 50))
    c.rect(0, 28, 31, 31, (60, 45, 25))


def _street(c: Canvas) -> None:
    c.rect(0, 0, 31, 31, (190, 195, 205))
    c.rect(0, 2, 8, 21, (105, 105, 120))
    c.rect(24, 4, 31, 21, (125, 110, 105))
    for x, y in ((2, 5), (2, 11), (5, 5), (5, 11), (26, 7), (29, 7), (26, 13), (29, 13)):
        c.rect(x, y, x + 1, y + 2, (250, 235, 150))
    c.rect(0, 22, 31, 31, (60, 60, 65))
    for x in (1, 9, 17, 25):
        c.rect(x, 28, x + 3, 28, (245, 245, 245))


def _office(c: Canvas) -> None:
    c.rect(0, 0, 31, 31, (222, 212, 182))
    c.rect(1, 2, 7, 10, (175, 215, 240))
    c.rect(24, 3, 30, 16, (120, 80, 50))
    for y in (6, 10, 14):
        c.rect(25, y - 2, 29, y - 1, (60, 110, 160))
    c.rect(0, 27, 31, 31, (110, 75, 45))


def _bedroom(c: Canvas) -> None:
    c.rect(0, 0, 31, 31, (200, 170, 215))
    c.rect(0, 21, 31, 31, (250, 250, 250))
    c.rect(0, 19, 31, 20, (150, 60, 110))
    c.rect(25, 16, 31, 21, (255, 240, 245))
    c.rect(2, 3, 6, 8, (250, 225, 120))


CONTEXT_PAINTERS = {"beach": _beach, "forest": _forest, "street": _street, "office": _office, "bedroom": _bedroom}


# 2. Subjects.
def _person(c: Canvas, s: Scene) -> None:
    skin, hair = SKIN_RGB[s.skin], HAIR_RGB[s.hair]
    body = skin if s.nude else SHIRT_RGB[s.shirt]
    c.ellipse(16, 31, 11, 11, body, where=_Y >= 20)  # shoulders and torso
    c.rect(4, 22, 6, 31, body)  # arms
    c.rect(25, 22, 27, 31, body)
    if s.nude:
        c.rect(11, 25, 12, 26, (200, 90, 100))
        c.rect(19, 25, 20, 26, (200, 90, 100))
        c.rect(15, 29, 16, 30, tuple(v * 0.7 for v in skin))
    c.rect(14, 17, 17, 20, skin)  # neck
    c.ellipse(16, 10, 7.5, 8, hair)  # hair behind the face
    c.ellipse(16, 11.5, 6, 6.5, skin)  # face
    if s.beard:
        c.ellipse(16, 11.5, 6.2, 6.7, tuple(v * 0.8 for v in hair), where=_Y >= 14)
    c.rect(12, 10, 13, 11, INK)  # eyes
    c.rect(18, 10, 19, 11, INK)
    if s.glasses:
        c.rect(11, 9, 14, 12, (20, 20, 30))
        c.rect(17, 9, 20, 12, (20, 20, 30))
        c.rect(14, 10, 17, 10, (20, 20, 30))
    if s.smile:
        c.ellipse(15.5, 14.5, 3.5, 2.6, (160, 20, 40), where=_Y >= 15)
        c.rect(13, 15, 18, 15, (250, 250, 250))
    else:
        c.rect(14, 16, 17, 16, (120, 50, 50))
    if s.hat:
        hat = tuple(PALETTE[s.color % len(PALETTE)])
        c.rect(10, 0, 21, 4, hat)
        c.rect(7, 4, 24, 6, hat)


def _car(c: Canvas, s: Scene) -> None:
    body = PALETTE[s.color]
    c.rect(3, 15, 28, 23, body)
    c.triangle((8, 15), (12, 8), (12, 15), body)
    c.rect(12, 8, 20, 15, body)
    c.triangle((20, 8), (24, 15), (20, 15), body)
    c.rect(13, 10, 15, 14, (190, 225, 250))
    c.rect(17, 10, 20, 14, (190, 225, 250))
    for x in (9, 22):
        c.ellipse(x, 24, 3.2, 3.2, (20, 20, 20))
        c.ellipse(x, 24, 1.2, 1.2, (180, 180, 180))


def _tree(c: Canvas, s: Scene) -> None:
    c.rect(14, 17, 17, 31, (110, 70, 35))
    c.ellipse(16, 11, 10, 9, (40 + 8 * s.color, 150, 50))
    c.ellipse(12, 9, 3, 3, (80, 190, 70))


def _house(c: Canvas, s: Scene) -> None:
    c.rect(7, 15, 24, 31, PALETTE[s.color])
    c.triangle((4, 15), (16, 4), (27, 15), (150, 40, 30))
    c.rect(14, 23, 17, 31, (100, 60, 30))
    c.rect(9, 18, 12, 21, (190, 225, 250))
    c.rect(19, 18, 22, 21, (190, 225, 250))


def _boat(c: Canvas, s: Scene) -> None:
    c.rect(15, 4, 16, 20, (90, 60, 30))
    c.triangle((17, 5), (17, 19), (27, 19), (250, 250, 250))
    c.triangle((14, 7), (14, 19), (6, 19), (235, 235, 225))
    c.rect(8, 21, 23, 25, PALETTE[s.color])
    c.triangle((3, 21), (8, 21), (8, 25), PALETTE[s.color])
    c.triangle((23, 21), (28, 21), (23, 25), PALETTE[s.color])


def _flower(c: Canvas, s: Scene) -> None:
    c.rect(15, 15, 16, 31, (40, 140, 40))
    c.ellipse(12, 23, 3, 1.5, (60, 170, 60))
    c.ellipse(19, 26, 3, 1.5, (60, 170, 60))
    petal = PALETTE[(s.color + 2) % len(PALETTE)]
    for dx, dy in ((0, -5), (5, -1), (3, 5), (-3, 5), (-5, -1)):
        c.ellipse(15.5 + dx, 10.5 + dy, 3.2, 3.2, petal)
    c.ellipse(15.5, 10.5, 2.5, 2.5, (250, 210, 40))


SUBJECT_PAINTERS = {"person": _person, "car": _car, "tree": _tree, "house": _house, "boat": _boat, "flower": _flower}


# 3. Styles.
def _edges(part: np.ndarray) -> np.ndarray:
    edge = np.zeros(part.shape, bool)
    edge[:, 1:] |= part[:, 1:] != part[:, :-1]
    edge[1:, :] |= part[1:, :] != part[:-1, :]
    return edge


def _blur(img: np.ndarray) -> np.ndarray:
    padded = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode="edge")
    k = (1, 2, 1)
    rows = sum(w * padded[i : i + SIZE] for i, w in enumerate(k)) / 4
    return sum(w * rows[:, i : i + SIZE] for i, w in enumerate(k)) / 4


def _photo(rgb, part, rng):
    shade = 1.1 - 0.25 * (_Y / SIZE)[..., None] - 0.1 * (np.abs(_X - 16) / 16)[..., None]
    return rgb * shade + rng.normal(0, 6, rgb.shape)


def _sketch(rgb, part, rng):
    gray = rgb.mean(-1, keepdims=True)
    paper = 246 + rng.normal(0, 3, (SIZE, SIZE, 1))
    tinted = 0.55 * paper + 0.45 * (0.5 * rgb + 0.5 * gray)
    hatch = ((_X + _Y) % 4 == 0)[..., None] & (gray < 110)
    tinted = np.where(hatch, tinted * 0.7, tinted)
    return np.where(_edges(part)[..., None], np.array(INK, np.float32) + 30, tinted)


def _pixel(rgb, part, rng):
    levels = np.round(rgb / 255 * 2) / 2 * 255
    return np.where(_edges(part)[..., None], 0.0, levels)


def _watercolor(rgb, part, rng):
    soft = _blur(rgb) * 0.7 + 255 * 0.3
    a, b, phase = rng.uniform(0.1, 0.4, 3), rng.uniform(0.1, 0.4, 3), rng.uniform(0, 6.3, 3)
    stain = sum(np.sin(a[i] * _X + b[i] * _Y + phase[i]) for i in range(3))[..., None]
    return soft + 6 * stain + rng.normal(0, 2, rgb.shape)


STYLE_PAINTERS = {"photo": _photo, "sketch": _sketch, "pixel": _pixel, "watercolor": _watercolor}


def render(scene: Scene) -> np.ndarray:
    """Draw one scene as a (32, 32, 3) uint8 image; the same scene always gives the same pixels."""
    canvas = Canvas()
    CONTEXT_PAINTERS[scene.context](canvas)
    SUBJECT_PAINTERS[scene.subject](canvas, scene)
    rng = np.random.default_rng(scene.seed)
    out = STYLE_PAINTERS[scene.style](canvas.rgb, canvas.part, rng)
    return np.clip(out, 0, 255).astype(np.uint8)


def render_batch(scenes: list[Scene]) -> np.ndarray:
    """(N, 32, 32, 3) uint8."""
    return np.stack([render(s) for s in scenes])
