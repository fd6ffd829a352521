"""The gallery in headless Chromium: history pages, then "Reuse these settings" fills the form."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from webapp.studio import HISTORY_PER_PAGE

pytestmark = pytest.mark.browser

GENERATION_TIMEOUT_S = 120
CIRCLES = "two red circles on a blue background"
TRIANGLE = "a green triangle on a white background"


def generate(browser, base_url: str, prompt: str, **fields: str) -> None:
    """Fill in the studio form, press Generate and wait until the images are shown."""
    browser.get(base_url + "/")
    box = browser.find_element(By.ID, "prompt")
    box.clear()
    box.send_keys(prompt)
    for name, value in fields.items():
        field = browser.find_element(By.ID, name)
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        else:
            field.clear()
            field.send_keys(value)
    browser.find_element(By.ID, "generate").click()
    count = int(fields.get("n", "1"))
    WebDriverWait(browser, GENERATION_TIMEOUT_S).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#images .image-card")) == count
    )


def wait_for_the_studio(browser, card) -> None:
    """After a click on a card's "Reuse" link: the history page is gone, the studio's form is in.

    The Generate button ends the form, so once it is there every field has been parsed.
    """
    WebDriverWait(browser, 30).until(EC.staleness_of(card))
    WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "generate")))


def value(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).get_attribute("value")


def test_history_pages_and_reuse_fills_the_form(live_server, browser):
    generate(browser, live_server.url, CIRCLES, n="16", steps="2", seed="100")
    generate(browser, live_server.url, TRIANGLE, n="16", steps="3", seed="7", sampler="euler")
    fresh = browser.find_element(By.CSS_SELECTOR, "#images .image-card")
    assert fresh.find_element(By.LINK_TEXT, "Reuse these settings")  # on fresh results too

    browser.get(live_server.url + "/history")
    grid = browser.find_elements(By.CSS_SELECTOR, ".history-grid .image-card")
    assert len(grid) == HISTORY_PER_PAGE
    assert "Page 1 of 2" in browser.find_element(By.CSS_SELECTOR, ".pagination").text
    assert grid[0].find_element(By.CSS_SELECTOR, ".prompt-text").text == TRIANGLE
    picture = grid[0].find_element(By.TAG_NAME, "img")
    assert picture.value_of_css_property("image-rendering") == "pixelated"  # 32 px, enlarged
    assert abs(picture.size["width"] - picture.size["height"]) <= 1  # its own (square) aspect

    browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
    # The click returns before the navigation: wait until page 1 is gone and page 2 is shown.
    WebDriverWait(browser, 30).until(EC.staleness_of(grid[0]))
    WebDriverWait(browser, 30).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".pagination"), "Page 2 of 2")
    )
    assert "page=2" in browser.current_url
    older = browser.find_elements(By.CSS_SELECTOR, ".history-grid .image-card")
    assert len(older) == 32 - HISTORY_PER_PAGE
    prompts = {card.find_element(By.CSS_SELECTOR, ".prompt-text").text for card in older}
    assert prompts == {CIRCLES}
    assert not browser.find_elements(By.CSS_SELECTOR, "a[rel=next]")
    # Newest job first, each job's images in order: page 2 holds the first job's last 8.
    ninth = older[0]
    assert ninth.find_element(By.CSS_SELECTOR, ".image-meta code").text == "108"

    ninth.find_element(By.LINK_TEXT, "Reuse these settings").click()
    wait_for_the_studio(browser, ninth)
    assert value(browser, "prompt") == CIRCLES
    assert (value(browser, "seed"), value(browser, "steps"), value(browser, "n")) == (
        "108",
        "2",
        "1",
    )
    assert value(browser, "size") == "32x32" and value(browser, "sampler") == ""

    browser.get(live_server.url + "/history")
    newest = browser.find_element(By.CSS_SELECTOR, ".history-grid .image-card")
    newest.find_element(By.LINK_TEXT, "Reuse these settings").click()
    wait_for_the_studio(browser, newest)
    assert value(browser, "prompt") == TRIANGLE
    assert value(browser, "seed") == "7" and value(browser, "steps") == "3"
    assert value(browser, "sampler") == "euler"

    # What the form now holds generates again: the same settings, the same seed.
    browser.find_element(By.ID, "generate").click()
    WebDriverWait(browser, GENERATION_TIMEOUT_S).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#images .image-card")) == 1
    )
    seed = browser.find_element(By.CSS_SELECTOR, "#images .image-meta code").text
    assert seed == "7"
