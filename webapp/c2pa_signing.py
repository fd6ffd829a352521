"""C2PA manifests for stored PNGs, signed with the deployment's own certificate (c2pa-python).

Opt-in: ``SAFECANVAS_C2PA_CERT`` (a PEM chain: the signing certificate first, then the CA
certificates) and ``SAFECANVAS_C2PA_KEY`` (its PEM private key). The C2PA library checks the
certificate profile of the C2PA specification: the signing certificate must not be a CA, must
have the ``digitalSignature`` key usage and an extended key usage such as ``emailProtection``;
otherwise start-up stops with the library's reason. The manifest says the image was
created by a trained algorithm (``c2pa.created`` with the IPTC digital source type); it holds
neither the prompt nor the seed. No timestamp authority is asked (this server may have no way
out), so a manifest is valid only while its certificate is.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

from webapp.config import ConfigError
from webapp.provenance import DIGITAL_SOURCE_TYPE, SOFTWARE, ImageFacts

_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}  # a thumbnail would double the file


def _algorithm(key: Any) -> str:
    """The C2PA signing algorithm for a private key's type."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        names = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in names:
            return names[key.curve.name]
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    elif isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise ConfigError("SAFECANVAS_C2PA_KEY must be a P-256/384/521, Ed25519 or RSA private key")


class C2paSigner:
    """Embeds a signed C2PA manifest in PNG bytes."""

    def __init__(self, cert_path: str, key_path: str, generator_version: str = "") -> None:
        """Read the chain and key; a test signature now, so a bad pair stops start-up.

        Raises:
            ConfigError: a file is missing, the key is not one C2PA signs with, or the
                library refuses the pair (naming the variables).
        """
        from cryptography.hazmat.primitives import serialization

        try:
            self.chain = Path(cert_path).read_bytes()
            key_pem = Path(key_path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"SAFECANVAS_C2PA_CERT/KEY: cannot read {exc.filename}") from None
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"SAFECANVAS_C2PA_KEY is not a PEM private key: {exc}") from None
        self.alg = _algorithm(key)
        self.key = key_pem
        self.version = generator_version
        self._local = threading.local()  # the library's context is not shared across threads
        try:
            self.sign(_probe_png(), None)
        except Exception as exc:  # the library's own error type, raised from native code
            raise ConfigError(
                f"SAFECANVAS_C2PA_CERT/KEY: the C2PA library refused to sign with them: {exc}"
            ) from None

    def _context(self) -> Any:
        """This thread's C2PA context (thumbnails off)."""
        import c2pa

        if getattr(self._local, "context", None) is None:
            self._local.context = c2pa.Context(c2pa.Settings.from_dict(_SETTINGS))
        return self._local.context

    def manifest(self, facts: ImageFacts | None) -> dict[str, Any]:
        """The manifest definition: created by a trained algorithm, by SafeCanvas."""
        agent = {"name": SOFTWARE} | ({"version": self.version} if self.version else {})
        action: dict[str, Any] = {
            "action": "c2pa.created",
            "digitalSourceType": DIGITAL_SOURCE_TYPE,
            "softwareAgent": agent,
        }
        if facts is not None:
            action["parameters"] = {"com.safecanvas.model": facts.model}
        return {
            "claim_generator_info": [agent],
            "title": "image.png",
            "format": "image/png",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
        }

    def sign(self, png: bytes, facts: ImageFacts | None) -> bytes:
        """The PNG with the manifest embedded (every other chunk is kept)."""
        import c2pa

        info = c2pa.C2paSignerInfo(self.alg.encode(), self.chain, self.key, None)
        out = io.BytesIO()
        with c2pa.Signer.from_info(info) as signer:
            builder = c2pa.Builder(self.manifest(facts), context=self._context())
            builder.sign(signer, "image/png", io.BytesIO(png), out)
        return out.getvalue()


def _probe_png() -> bytes:
    """A 1x1 PNG to try the signer on."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1, 1)).save(out, format="PNG")
    return out.getvalue()


def read_manifest(png: bytes) -> dict[str, Any] | None:
    """The active manifest store of a PNG as a dict (None when it has none)."""
    import json

    import c2pa

    try:
        with c2pa.Reader("image/png", io.BytesIO(png)) as reader:
            return json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        return None
