"""The metadata written into every stored PNG, read back the way other tools read it."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from tests.webapp.c2pa_certs import write_test_signer
from webapp.config import ConfigError
from webapp.provenance import (
    DIGITAL_SOURCE_TYPE,
    THUMBNAIL_SIDE,
    ImageFacts,
    PngWriter,
    a1111_parameters,
)

IPTC_EXT = "{http://iptc.org/std/Iptc4xmpExt/2008-02-29/}DigitalSourceType"
FACTS = ImageFacts(
    prompt="two red circles on a blue background",
    negative_prompt="green",
    steps=20,
    guidance_scale=7.5,
    seed=4_000_000_123,
    width=64,
    height=32,
    model="canvas-shapes",
    sampler="euler_a",
)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk of a PNG as (type, payload), in file order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def source_type(xmp: str | bytes) -> str | None:
    """The IPTC DigitalSourceType of an XMP packet."""
    text = xmp.decode("utf-8") if isinstance(xmp, bytes) else xmp
    body = text[text.index("<x:xmpmeta") : text.rindex("</x:xmpmeta>") + len("</x:xmpmeta>")]
    for node in ET.fromstring(body).iter():
        if IPTC_EXT in node.attrib:
            return node.attrib[IPTC_EXT]
    return None


def image() -> Image.Image:
    return Image.new("RGB", (64, 32), (20, 120, 200))


def test_every_png_carries_the_ai_marker_in_an_xmp_itxt_chunk():
    data = PngWriter().png(image(), FACTS)
    itxt = [payload for kind, payload in png_chunks(data) if kind == b"iTXt"]
    assert any(p.startswith(b"XML:com.adobe.xmp\x00") for p in itxt)
    read = Image.open(io.BytesIO(data))
    assert source_type(read.info["XML:com.adobe.xmp"]) == DIGITAL_SOURCE_TYPE
    assert read.size == (64, 32) and read.getpixel((3, 3)) == (20, 120, 200)


def test_without_the_opt_in_no_prompt_or_parameter_is_written():
    data = PngWriter(parameters=False).png(image(), FACTS)
    assert "parameters" not in Image.open(io.BytesIO(data)).info
    assert b"red circles" not in data and b"4000000123" not in data


def test_parameters_follow_the_a1111_layout():
    data = PngWriter(parameters=True).png(image(), FACTS)
    assert any(kind == b"tEXt" and p.startswith(b"parameters\x00") for kind, p in png_chunks(data))
    lines = Image.open(io.BytesIO(data)).info["parameters"].split("\n")
    assert lines[0] == FACTS.prompt
    assert lines[1] == "Negative prompt: green"
    settings = dict(item.split(": ", 1) for item in lines[2].split(", "))
    assert settings == {
        "Steps": "20",
        "Sampler": "Euler a",
        "CFG scale": "7.5",
        "Seed": "4000000123",
        "Size": "64x32",
        "Model": "canvas-shapes",
    }


def test_parameters_without_negative_prompt_or_sampler():
    facts = ImageFacts("a cat", "", 4, 3.0, 7, 32, 32, "fake-1", None, 0.5)
    text = a1111_parameters(facts)
    assert text == (
        "a cat\nSteps: 4, Sampler: Default, CFG scale: 3, Seed: 7, Size: 32x32, Model: fake-1, "
        "LoRA weight: 0.5"
    )


def test_a_model_name_with_separators_is_quoted():
    facts = ImageFacts("a cat", "", 4, 3.0, 7, 32, 32, "my, model: v2", None)
    assert 'Model: "my, model: v2"' in a1111_parameters(facts)


def test_non_latin1_prompts_go_in_an_utf8_itxt_chunk():
    facts = ImageFacts("два круга 🟥", "", 4, 3.0, 7, 64, 32, "fake-1")
    data = PngWriter(parameters=True).png(image(), facts)
    assert any(kind == b"iTXt" and p.startswith(b"parameters\x00") for kind, p in png_chunks(data))
    assert Image.open(io.BytesIO(data)).info["parameters"].startswith("два круга 🟥\n")


@pytest.mark.parametrize(("size", "expected"), [((1024, 512), (256, 128)), ((32, 32), (32, 32))])
def test_thumbnails_are_small_webp_with_the_marker(size, expected):
    data = PngWriter().thumbnail(Image.new("RGB", size, (200, 30, 30)), "fake-1")
    thumb = Image.open(io.BytesIO(data))
    assert thumb.format == "WEBP" and thumb.size == expected
    assert max(thumb.size) <= THUMBNAIL_SIDE
    assert source_type(thumb.info["xmp"]) == DIGITAL_SOURCE_TYPE
    if size == (32, 32):  # small images stay lossless
        assert thumb.convert("RGB").getpixel((5, 5)) == (200, 30, 30)


# -- C2PA ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def c2pa_signer(tmp_path_factory):
    from webapp.c2pa_signing import C2paSigner

    cert, key = write_test_signer(tmp_path_factory.mktemp("c2pa"))
    return C2paSigner(str(cert), str(key), "0.1.0")


def test_a_signed_png_carries_a_valid_c2pa_manifest_and_keeps_its_chunks(c2pa_signer):
    from webapp.c2pa_signing import read_manifest

    data = PngWriter(parameters=True, signer=c2pa_signer).png(image(), FACTS)
    store = read_manifest(data)
    manifest = store["manifests"][store["active_manifest"]]
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))
    created = actions["data"]["actions"][0]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert manifest["signature_info"]["common_name"] == "SafeCanvas test signer"
    # Signed by our own CA, which no trust list knows: valid, but untrusted.
    assert store["validation_state"] == "Valid"
    codes = {s["code"] for s in store.get("validation_status", [])}
    assert codes <= {"signingCredential.untrusted"}
    read = Image.open(io.BytesIO(data))
    assert source_type(read.info["XML:com.adobe.xmp"]) == DIGITAL_SOURCE_TYPE
    assert read.info["parameters"].startswith(FACTS.prompt)
    assert FACTS.prompt.encode() not in _manifest_bytes(data)  # the prompt stays out of it


def _manifest_bytes(data: bytes) -> bytes:
    return b"".join(p for kind, p in png_chunks(data) if kind == b"caBX")


def test_altered_pixels_break_the_c2pa_hash(c2pa_signer):
    from webapp.c2pa_signing import read_manifest

    data = bytearray(PngWriter(signer=c2pa_signer).png(image(), FACTS))
    idat = data.index(b"IDAT") + 10
    data[idat] ^= 0xFF
    store = read_manifest(bytes(data))
    assert store["validation_state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in {s["code"] for s in store["validation_status"]}


def test_an_unsigned_png_has_no_manifest():
    from webapp.c2pa_signing import read_manifest

    assert read_manifest(PngWriter().png(image(), FACTS)) is None


def test_a_certificate_c2pa_refuses_stops_start_up(tmp_path):
    from webapp.c2pa_signing import C2paSigner

    cert, key = write_test_signer(tmp_path, key_usage=False)
    with pytest.raises(ConfigError, match="SAFECANVAS_C2PA_CERT/KEY"):
        C2paSigner(str(cert), str(key))


def test_a_missing_key_file_stops_start_up(tmp_path):
    from webapp.c2pa_signing import C2paSigner

    cert, _key = write_test_signer(tmp_path)
    with pytest.raises(ConfigError, match="cannot read"):
        C2paSigner(str(cert), str(tmp_path / "nope.pem"))
