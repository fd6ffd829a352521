"""The studio's gallery over HTTP: history pages, image cards at their aspect, reusing settings."""

from __future__ import annotations

import dataclasses
import re

from tests.webapp.test_studio import FORM, finished, submit
from webapp.studio import HISTORY_PER_PAGE

CARD = re.compile(r'<li class="image-card" data-image-id="([0-9a-f-]+)"')


def make_images(client, jobs: int, n: int, **changes) -> list[str]:
    """Run ``jobs`` jobs of ``n`` images from the form; image ids, newest job first (each
    job's own in position order)."""
    ids: list[str] = []
    for i in range(jobs):
        view = finished(
            client, submit(client, n=str(n), prompt=f"square {i}", **changes)["status_url"]
        )
        assert view["status"] == "succeeded"
        ids = [img["id"] for img in view["images"]] + ids
    return ids


def cards(page: str) -> list[str]:
    return CARD.findall(page)


def test_history_pages_through_every_image_newest_first(client):
    ids = make_images(client, jobs=7, n=4)  # 28 images: a full page and 4 more
    first = client.get("/history")
    assert first.status_code == 200
    page1 = first.get_data(as_text=True)
    assert cards(page1) == ids[:HISTORY_PER_PAGE]
    assert "28 in all" in page1 and "Page 1 of 2" in page1
    assert 'href="/history?page=2" rel="next"' in page1 and 'rel="prev"' not in page1
    page2 = client.get("/history?page=2").get_data(as_text=True)
    assert cards(page2) == ids[HISTORY_PER_PAGE:]
    assert 'href="/history?page=1" rel="prev"' in page2 and 'rel="next"' not in page2
    assert client.get("/history?page=3").status_code == 404
    assert client.get("/history?page=x").status_code == 400
    stranger = client.application.test_client()
    assert cards(stranger.get("/history").get_data(as_text=True)) == []


def test_cards_keep_the_image_aspect_and_crisp_pixels_only_when_tiny(client, fake_generator):
    limits = fake_generator.limits
    fake_generator.limits = dataclasses.replace(limits, sizes=(*limits.sizes, (512, 256)))
    (wide,) = make_images(client, 1, 1, size="512x256")
    (tiny,) = make_images(client, 1, 1, size="32x32")
    page = client.get("/history").get_data(as_text=True)
    img = {
        m.group(1): m.group(0) for m in re.finditer(r'data-image-id="([^"]+)">\s*<img[^>]*>', page)
    }
    assert 'width="512" height="256"' in img[wide] and "pixel" not in img[wide]
    assert 'width="32" height="32"' in img[tiny] and 'class="pixel"' in img[tiny]
    job_page = client.get(f"/?reuse={wide}").get_data(as_text=True)
    assert '<option value="512x256" selected>' in job_page


def test_reuse_fills_the_form_with_the_image_settings_and_its_seed(client):
    view = finished(
        client,
        submit(
            client,
            prompt="three green triangles",
            negative_prompt="blue",
            n="2",
            steps="5",
            guidance_scale="4.5",
            seed="41",
            sampler="euler_a",
            size="64x64",
        )["status_url"],
    )
    second = view["images"][1]
    assert second["seed"] == 42
    page = client.get(f"/?reuse={second['id']}").get_data(as_text=True)
    assert ">three green triangles</textarea>" in page
    assert 'id="negative_prompt" name="negative_prompt" type="text" value="blue"' in page
    for name, value in (("n", "1"), ("steps", "5"), ("guidance_scale", "4.5"), ("seed", "42")):
        assert re.search(rf'id="{name}"[^>]*value="{value}"', page, re.S), name
    assert '<option value="64x64" selected>' in page
    assert '<option value="euler_a" selected>Euler a</option>' in page
    # The history links every card to it.
    assert f'href="/?reuse={second["id"]}"' in client.get("/history").get_data(as_text=True)


def test_reuse_of_another_browsers_image_is_not_found(client):
    (image,) = make_images(client, 1, 1)
    stranger = client.application.test_client()
    assert stranger.get(f"/?reuse={image}").status_code == 404
    assert stranger.get("/?reuse=not-a-uuid").status_code == 404


def test_the_form_offers_the_model_samplers_and_states_its_limits(client):
    page = client.get("/").get_data(as_text=True)
    assert '<option value="">The model\'s own</option>' in page
    assert '<option value="euler">Euler</option>' in page
    assert "dpmpp_2m" not in page  # the fake model accepts only euler and euler_a
    assert "This server runs <code>fake-1</code>" in page and "coloured shapes" not in page
    assert 'Images <span class="optional">(1–4)</span>' in page
    assert 'Steps <span class="optional">(1–50)</span>' in page


def test_a_sampler_from_the_form_reaches_the_job(client):
    view = finished(client, submit(client, sampler="euler_a")["status_url"])
    assert view["params"]["sampler"] == "euler_a"
    refused = client.post(
        "/jobs", data={**FORM, "sampler": "dpmpp_2m"}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 400 and refused.get_json()["error"]["param"] == "sampler"


def test_the_built_in_model_gets_its_own_copy(app):
    page = app.test_client().get("/").get_data(as_text=True)
    assert "coloured shapes" in page and "32 × 32 pixel images" in page
    assert '<option value="dpmpp_2m">DPM++ 2M</option>' in page
    assert "dpmpp_2m_karras" not in page


def test_the_job_page_shows_cards_with_reuse_links(client):
    job = submit(client, n="1")
    finished(client, job["status_url"])
    page = client.get(job["status_url"]).get_data(as_text=True)
    assert "Reuse these settings" in page and 'class="pixel"' in page
