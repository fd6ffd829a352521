"""What every stored image says about where it came from, written into the file itself.

Every PNG carries the IPTC "AI-generated" marker: ``Iptc4xmpExt:DigitalSourceType`` =
``trainedAlgorithmicMedia`` in an XMP packet, in the iTXt chunk ``XML:com.adobe.xmp`` that the
XMP specification (part 3) assigns to PNG. A deployment may add, when it opts in:

- the generation parameters as the ``parameters`` text chunk, in the layout AUTOMATIC1111
  writes and other Stable Diffusion tools read (prompt, ``Negative prompt:``, then
  ``Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: ...``); off by
  default, because prompts are private;
- a C2PA manifest signed with its own certificate (``webapp.c2pa_signing``).
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from PIL import PngImagePlugin

from generation.samplers import SAMPLERS

if TYPE_CHECKING:
    from PIL.Image import Image

    from generation.types import GenerationRequest

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
XMP_KEY = "XML:com.adobe.xmp"
PARAMETERS_KEY = "parameters"
SOFTWARE = "SafeCanvas"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}
THUMBNAIL_SIDE = 256  # longest side of a thumbnail, in pixels
THUMBNAIL_QUALITY = 82  # WebP quality: small files, no visible loss at thumbnail size


@dataclass(frozen=True)
class ImageFacts:
    """What made one image: the request (defaults filled in), its seed and the model version."""

    prompt: str
    negative_prompt: str
    steps: int
    guidance_scale: float
    seed: int
    width: int
    height: int
    model: str
    sampler: str | None = None
    lora_scale: float | None = None

    @classmethod
    def of(cls, req: GenerationRequest, seed: int, model: str) -> ImageFacts:
        """The facts of one image of a validated request."""
        return cls(
            prompt=req.prompt,
            negative_prompt=req.negative_prompt,
            steps=int(req.steps or 0),
            guidance_scale=float(req.guidance_scale or 0.0),
            seed=int(seed),
            width=int(req.width or 0),
            height=int(req.height or 0),
            model=model,
            sampler=req.sampler,
            lora_scale=req.lora_scale,
        )


class ManifestSigner(Protocol):
    """Signs a finished PNG with a C2PA manifest (``webapp.c2pa_signing.C2paSigner``)."""

    def sign(self, png: bytes, facts: ImageFacts) -> bytes:
        """The PNG with the manifest embedded."""


def xmp_packet(model: str, created: datetime | None = None) -> str:
    """An XMP packet marking the image as made by a trained algorithm (no prompt in it)."""
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    meta = ET.Element(f"{{{NS['x']}}}xmpmeta")
    rdf = ET.SubElement(meta, f"{{{NS['rdf']}}}RDF")
    when = (created or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    ET.SubElement(
        rdf,
        f"{{{NS['rdf']}}}Description",
        {
            f"{{{NS['rdf']}}}about": "",
            f"{{{NS['Iptc4xmpExt']}}}DigitalSourceType": DIGITAL_SOURCE_TYPE,
            f"{{{NS['xmp']}}}CreatorTool": f"{SOFTWARE} ({model})",
            f"{{{NS['xmp']}}}CreateDate": when,
        },
    )
    body = ET.tostring(meta, encoding="unicode")
    return f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>{body}<?xpacket end="r"?>'


def _quote(value: str) -> str:
    """A value as A1111 writes it: plain, or JSON-quoted when it holds a separator."""
    if any(ch in value for ch in ",:\n\"'"):
        return json.dumps(value, ensure_ascii=False)
    return value


def a1111_parameters(facts: ImageFacts) -> str:
    """The ``parameters`` text: prompt, negative prompt, then one line of settings."""
    label = SAMPLERS[facts.sampler].label if facts.sampler in SAMPLERS else "Default"
    settings: list[tuple[str, Any]] = [
        ("Steps", facts.steps),
        ("Sampler", label),
        ("CFG scale", f"{facts.guidance_scale:g}"),
        ("Seed", facts.seed),
        ("Size", f"{facts.width}x{facts.height}"),
        ("Model", _quote(facts.model)),
    ]
    if facts.lora_scale is not None:
        settings.append(("LoRA weight", f"{facts.lora_scale:g}"))
    lines = [facts.prompt]
    if facts.negative_prompt:
        lines.append(f"Negative prompt: {facts.negative_prompt}")
    lines.append(", ".join(f"{key}: {value}" for key, value in settings))
    return "\n".join(lines)


class PngWriter:
    """Encodes stored images: the PNG with its metadata, and its small WebP thumbnail."""

    def __init__(self, parameters: bool = False, signer: ManifestSigner | None = None) -> None:
        """``parameters``: write the generation parameters; ``signer``: add a C2PA manifest."""
        self.parameters = parameters
        self.signer = signer

    def png(self, image: Image, facts: ImageFacts) -> bytes:
        """The PNG bytes of a generated image, with the AI marker and what was opted into."""
        info = PngImagePlugin.PngInfo()
        info.add_itxt(XMP_KEY, xmp_packet(facts.model))
        if self.parameters:
            # tEXt when the text is Latin-1, else iTXt (UTF-8): Pillow picks, as A1111 does.
            info.add_text(PARAMETERS_KEY, a1111_parameters(facts))
        out = io.BytesIO()
        image.save(out, format="PNG", pnginfo=info)
        data = out.getvalue()
        return self.signer.sign(data, facts) if self.signer is not None else data

    def thumbnail(self, image: Image, model: str) -> bytes:
        """A WebP at most THUMBNAIL_SIDE pixels on its longest side (never enlarged).

        An image that is small already stays lossless: a few flat-coloured pixels blur badly.
        """
        small = image.convert("RGB")
        lossless = max(small.size) <= THUMBNAIL_SIDE
        small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        out = io.BytesIO()
        xmp = xmp_packet(model).encode("utf-8")
        small.save(out, "WEBP", lossless=lossless, quality=THUMBNAIL_QUALITY, method=4, xmp=xmp)
        return out.getvalue()
