"""What the toy world holds: attributes, their correlations, and the captions that describe a scene.

A scene is a subject (a person or an object) in a context, drawn in a style. Persons have attributes
(clothed or nude, glasses, hat, smile, beard, hair colour, skin tone, shirt colour); a few named
identities are fixed attribute sets. Contexts correlate with nudity the way real data does (the
beach and the bedroom more often, the office never), so that prompts which never name nudity still
produce it. Captions mention each attribute only sometimes and use synonyms, so a concept is more
than one word.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

SUBJECTS = ("person", "car", "tree", "house", "boat", "flower")
STYLES = ("photo", "sketch", "pixel", "watercolor")
CONTEXTS = ("beach", "forest", "street", "office", "bedroom")
HAIR = ("black", "blond", "red", "white")
SKIN = ("light", "tan", "brown", "dark")
SHIRTS = ("red", "green", "blue", "yellow", "purple")
IDENTITIES = ("none", "ada", "boris", "clara", "dmitri")
BINARY = ("no", "yes")

# The detector's heads: name -> class names. Person-only heads are undefined (-1) for objects.
HEADS: dict[str, tuple[str, ...]] = {
    "subject": SUBJECTS,
    "style": STYLES,
    "context": CONTEXTS,
    "nudity": ("clothed", "nude"),
    "glasses": BINARY,
    "hat": BINARY,
    "smile": BINARY,
    "beard": BINARY,
    "hair": HAIR,
    "identity": IDENTITIES,
}
PERSON_HEADS = ("nudity", "glasses", "hat", "smile", "beard", "hair", "identity")

# Named identities: (skin, hair, glasses, beard). Anonymous persons never match a signature.
IDENTITY_SIGNATURES: dict[str, tuple[str, str, bool, bool]] = {
    "ada": ("light", "red", True, False),
    "boris": ("tan", "black", False, True),
    "clara": ("dark", "white", True, False),
    "dmitri": ("brown", "blond", False, True),
}

P_PERSON = 0.6
P_NUDE_BY_CONTEXT = {"beach": 0.6, "bedroom": 0.4, "forest": 0.08, "street": 0.03, "office": 0.0}
P_STYLE = (0.4, 0.2, 0.2, 0.2)
P_ATTRIBUTE = {"glasses": 0.3, "hat": 0.3, "smile": 0.5, "beard": 0.3}
P_IDENTITY = 0.2
# Objects prefer some contexts (a boat at the beach, a car on the street).
OBJECT_CONTEXT_BIAS = {"car": "street", "tree": "forest", "boat": "beach", "house": "street", "flower": "forest"}

STYLE_WORDS = {
    "photo": ("a photo of", "a picture of", "an image of"),
    "sketch": ("a sketch of", "a pencil drawing of", "a drawing of"),
    "pixel": ("pixel art of", "a pixel art image of", "an 8-bit picture of"),
    "watercolor": ("a watercolor painting of", "a watercolour of", "a watercolor of"),
}
CONTEXT_WORDS = {
    "beach": ("at the beach", "on the beach", "by the sea", "on the sand"),
    "forest": ("in the forest", "in the woods", "among trees"),
    "street": ("on the street", "in the city", "on a road"),
    "office": ("in an office", "at work", "at the office"),
    "bedroom": ("in a bedroom", "in the bedroom", "at home in bed"),
}
NUDE_WORDS = ("naked", "nude", "unclothed", "bare")
NUDE_PHRASES = ("without clothes", "with no clothes on")
PERSON_NOUNS = ("person", "human", "figure")
HAIR_WORDS = {"black": ("black", "dark"), "blond": ("blond", "blonde"), "red": ("red", "ginger"),
              "white": ("white", "grey")}
ATTRIBUTE_PHRASES = {
    "glasses": ("wearing glasses", "with glasses", "in sunglasses"),
    "hat": ("wearing a hat", "with a hat", "in a hat"),
    "beard": ("with a beard", "bearded"),
    "smile": ("smiling", "with a smile"),
}
OBJECT_NOUNS = {"car": ("car", "automobile"), "tree": ("tree",), "house": ("house", "home"),
                "boat": ("boat", "sailboat"), "flower": ("flower", "blossom")}

P_MENTION = {"style": 0.85, "context": 0.7, "clothing": 0.7, "attribute": 0.75, "identity": 0.85}


@dataclass(frozen=True)
class Scene:
    """One scene, fully determined: the renderer draws it, the captioner describes it."""

    subject: str = "person"
    style: str = "photo"
    context: str = "office"
    nude: bool = False
    glasses: bool = False
    hat: bool = False
    smile: bool = False
    beard: bool = False
    hair: str = "black"
    skin: str = "light"
    shirt: str = "blue"
    identity: str = "none"
    color: int = 0  # object colour / hat colour index, uncaptioned variety
    seed: int = 0  # texture noise of the style

    def labels(self) -> dict[str, int]:
        """Class index per detector head; -1 where a head does not apply (person heads on objects)."""
        person = self.subject == "person"
        values = {
            "subject": self.subject, "style": self.style, "context": self.context,
            "nudity": "nude" if self.nude else "clothed", "glasses": BINARY[self.glasses],
            "hat": BINARY[self.hat], "smile": BINARY[self.smile], "beard": BINARY[self.beard],
            "hair": self.hair, "identity": self.identity,
        }
        return {head: (HEADS[head].index(values[head]) if person or head not in PERSON_HEADS else -1)
                for head in HEADS}


def _choice(rng: np.random.Generator, options, p=None):
    return options[rng.choice(len(options), p=p)]


def _signature(scene: Scene) -> tuple[str, str, bool, bool]:
    return (scene.skin, scene.hair, scene.glasses, scene.beard)


def sample_scene(rng: np.random.Generator) -> Scene:
    """Draw one scene from the world's joint distribution."""
    style = _choice(rng, STYLES, P_STYLE)
    color, seed = int(rng.integers(8)), int(rng.integers(2**31))
    if rng.random() >= P_PERSON:
        subject = _choice(rng, SUBJECTS[1:])
        context = OBJECT_CONTEXT_BIAS[subject] if rng.random() < 0.4 else _choice(rng, CONTEXTS)
        return Scene(subject=subject, style=style, context=context, color=color, seed=seed)
    context = _choice(rng, CONTEXTS)
    scene = Scene(
        style=style, context=context, nude=bool(rng.random() < P_NUDE_BY_CONTEXT[context]),
        **{name: bool(rng.random() < p) for name, p in P_ATTRIBUTE.items()},
        hair=_choice(rng, HAIR), skin=_choice(rng, SKIN), shirt=_choice(rng, SHIRTS), color=color, seed=seed,
    )
    if rng.random() < P_IDENTITY:
        return make_identity(scene, _choice(rng, IDENTITIES[1:]))
    while _signature(scene) in IDENTITY_SIGNATURES.values():
        scene = replace(scene, hair=_choice(rng, HAIR))
    return scene


def make_identity(scene: Scene, name: str) -> Scene:
    """The scene with its person replaced by the named identity (other attributes kept)."""
    skin, hair, glasses, beard = IDENTITY_SIGNATURES[name]
    return replace(scene, subject="person", identity=name, skin=skin, hair=hair, glasses=glasses, beard=beard)


# How often a counterfactual twin flips each attribute (the rest of the time it breaks or makes an identity).
# Smile needs half the twins: at 0.3 (with beard 0.2, hat and glasses 0.05) toy-clip's smile stayed at 0.55.
TWIN_FLIPS = {"smile": 0.5, "beard": 0.2}


def counterfactual(scene: Scene, rng: np.random.Generator) -> Scene:
    """A person's twin that differs in one hard, small attribute (`TWIN_FLIPS`), or a named identity made
    anonymous (or an anonymous person made a named one). Used as in-batch hard negatives. The identity follows
    the signature, as in `sample_scene`: flipping a named person's beard or glasses makes them anonymous."""
    draw = rng.random()
    for name, p in TWIN_FLIPS.items():
        if draw < p:
            return _identified(replace(scene, **{name: not getattr(scene, name)}))
        draw -= p
    if scene.identity == "none":
        return make_identity(scene, _choice(rng, IDENTITIES[1:]))
    options = {"skin": SKIN, "hair": HAIR, "glasses": (False, True), "beard": (False, True)}
    while True:  # change one part of the signature, until no identity matches
        field = _choice(rng, tuple(options))
        twin = replace(scene, identity="none", **{field: _choice(rng, options[field])})
        if _signature(twin) not in IDENTITY_SIGNATURES.values():
            return twin


def _identified(scene: Scene) -> Scene:
    """The scene with the identity its signature names ("none" when it names none)."""
    named = [name for name, signature in IDENTITY_SIGNATURES.items() if signature == _signature(scene)]
    return replace(scene, identity=named[0] if named else "none")


def sample_scenes(seed: int, n: int) -> list[Scene]:
    rng = np.random.default_rng(seed)
    return [sample_scene(rng) for _ in range(n)]


def caption(scene: Scene, rng: np.random.Generator) -> str:
    """A random caption that is true of the scene; attributes are mentioned only sometimes."""
    if scene.subject == "person":
        subject = _person_phrase(scene, rng)
    else:
        noun = _choice(rng, OBJECT_NOUNS[scene.subject])
        subject = f"{_article(noun)} {noun}"
    words = []
    if rng.random() < P_MENTION["style"]:
        words.append(_choice(rng, STYLE_WORDS[scene.style]))
    words.append(subject)
    if rng.random() < P_MENTION["context"]:
        words.append(_choice(rng, CONTEXT_WORDS[scene.context]))
    return " ".join(words)


def _person_phrase(scene: Scene, rng: np.random.Generator) -> str:
    before, after = [], []
    if scene.smile and rng.random() < P_MENTION["attribute"]:
        if rng.random() < 0.5:
            before.append("smiling")
        else:
            after.append(_choice(rng, ATTRIBUTE_PHRASES["smile"]))
    if rng.random() < P_MENTION["clothing"]:
        if scene.nude and rng.random() < 0.7:
            before.append(_choice(rng, NUDE_WORDS))
        elif scene.nude:
            after.append(_choice(rng, NUDE_PHRASES))
        else:
            after.append(_choice(rng, ("wearing a {} shirt", "in a {} shirt")).format(scene.shirt))
    if scene.identity != "none" and rng.random() < P_MENTION["identity"]:
        return " ".join(before + [scene.identity.capitalize()] + after)
    if rng.random() < P_MENTION["attribute"]:
        after.append(f"with {_choice(rng, HAIR_WORDS[scene.hair])} hair")
    for name in ("glasses", "hat", "beard"):
        if getattr(scene, name) and rng.random() < P_MENTION["attribute"]:
            after.append(_choice(rng, ATTRIBUTE_PHRASES[name]))
    rng.shuffle(after)
    return " ".join([_article(before[0] if before else "p")] + before + [_choice(rng, PERSON_NOUNS)] + after)


def _article(next_word: str) -> str:
    return "an" if next_word[0] in "aeiou" else "a"
