"""Signed, expiring image URLs: what an ``<img>`` in a chat UI can load without the API key.

A token is itsdangerous' URL-safe, timed signature of the image id under the app's secret key
(Flask's ``SECRET_KEY``, from ``SAFECANVAS_SECRET_KEY``) with a salt of its own, so it is good
for nothing else. It expires ``SAFECANVAS_IMAGE_URL_TTL_S`` after signing (one hour by default,
like OpenAI's image URLs). The keyed ``/api/v1/images/<id>.png`` stays as it is.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, send_file
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from webapp.api import public_url
from webapp.errors import Forbidden
from webapp.generation_service import get_generation_service

bp = Blueprint("signed_images", __name__, url_prefix="/api/v1/images/signed")
SALT = "safecanvas.signed-image-url"


def _serializer() -> URLSafeTimedSerializer:
    """Signs and checks image tokens with the app's secret key."""
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def signed_image_url(image_id: str) -> str:
    """A URL that serves the image without a key until it expires (``public_url``)."""
    token = _serializer().dumps(image_id)
    return public_url("signed_images.image_file", token=token)


@bp.get("/<token>.png")
def image_file(token: str):
    """The PNG a valid, unexpired token names; 403 for an expired or altered one."""
    ttl = current_app.config["SAFECANVAS_IMAGE_URL_TTL_S"]
    try:
        image_id, signed_at = _serializer().loads(token, max_age=ttl, return_timestamp=True)
    except SignatureExpired:
        raise Forbidden("This image URL has expired; request the image again.") from None
    except BadData:  # a wrong signature, or a payload that is not ours
        raise Forbidden("This image URL is not valid.") from None
    # The signature is the permission: it was only ever handed to the image's owner.
    png = get_generation_service().image_file(str(image_id), "", is_admin=True)
    left = max(0, int(signed_at.timestamp() + ttl - time.time()))
    response = send_file(png, mimetype="image/png", max_age=left)
    response.cache_control.public = False
    response.cache_control.private = True  # a shared cache would outlive the expiry
    return response
