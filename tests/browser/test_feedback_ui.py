"""Thumbs and "Report this image" in headless Chromium: fresh results, history, the admin."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from tests.browser.conftest import submit_admin_login
from tests.browser.test_ui import submit_prompt

pytestmark = pytest.mark.browser


def stored_votes(app) -> list[tuple[str, int, bool]]:
    """Every stored feedback row as (image id, vote, reported)."""
    from webapp.db import session_factory, session_scope
    from webapp.models import ImageFeedback

    with session_scope(session_factory(app)) as session:
        rows = session.scalars(select(ImageFeedback)).all()
        return [(row.image_id, row.vote, row.report_id is not None) for row in rows]


def pressed(card, vote: str) -> str:
    """aria-pressed of a card's thumbs button."""
    return card.find_element(By.CSS_SELECTOR, f"button.vote-{vote}").get_attribute("aria-pressed")


def wait_pressed(browser, card, vote: str, state: str) -> None:
    """Wait until the server's answer has updated the button."""
    WebDriverWait(browser, 30).until(lambda _d: pressed(card, vote) == state)


def test_thumbs_and_report_reach_the_server_and_the_review_queue(guarding_server, browser):
    app = guarding_server.app
    submit_prompt(browser, guarding_server.url, "a calm beach scene", steps=2)
    card = WebDriverWait(browser, 30).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#images .image-card"))
    )
    image_id = card.get_attribute("data-image-id")
    browser.get_log("browser")  # from here on, the console must stay clean

    # A fresh result: thumbs up, then changed to thumbs down; one stored vote, changed.
    card.find_element(By.CSS_SELECTOR, "button.vote-up").click()
    wait_pressed(browser, card, "up", "true")
    assert "you liked this image" in card.find_element(By.CSS_SELECTOR, ".feedback-status").text
    assert stored_votes(app) == [(image_id, 1, False)]
    card.find_element(By.CSS_SELECTOR, "button.vote-down").click()
    wait_pressed(browser, card, "down", "true")
    assert pressed(card, "up") == "false"
    assert stored_votes(app) == [(image_id, -1, False)]
    assert browser.current_url.rstrip("/") == guarding_server.url  # never left the page

    # History shows the vote; pressing it again clears it; a report needs a reason.
    browser.get(guarding_server.url + "/history")
    card = browser.find_element(By.CSS_SELECTOR, f'.image-card[data-image-id="{image_id}"]')
    assert pressed(card, "down") == "true"
    card.find_element(By.CSS_SELECTOR, "button.vote-down").click()
    wait_pressed(browser, card, "down", "false")
    assert stored_votes(app) == [(image_id, 0, False)]
    card.find_element(By.CSS_SELECTOR, "details.report summary").click()
    send = card.find_element(By.CSS_SELECTOR, "button[name=report]")
    send.click()
    status = card.find_element(By.CSS_SELECTOR, ".feedback-status")
    WebDriverWait(browser, 10).until(lambda _d: "say what is wrong" in status.text)
    Select(card.find_element(By.NAME, "category")).select_by_value("violence")
    card.find_element(By.NAME, "reason").send_keys("It shows a weapon")
    send.click()
    WebDriverWait(browser, 30).until(lambda _d: card.find_elements(By.CSS_SELECTOR, "p.reported"))
    assert not card.find_elements(By.CSS_SELECTOR, "details.report")
    assert stored_votes(app) == [(image_id, 0, True)]
    console = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert console == []  # no CSP violation, no script error

    # The admin finds the report in the review queue, with its reason and the image.
    browser.get(guarding_server.url + "/admin/login")
    submit_admin_login(browser)
    browser.get(guarding_server.url + "/admin/moderation?stage=user_report")
    table = WebDriverWait(browser, 10).until(EC.visibility_of_element_located((By.ID, "refusals")))
    row = table.find_element(By.CSS_SELECTOR, "tbody tr")
    assert "Reported: It shows a weapon" in row.text and "violence" in row.text
    assert "a calm beach scene" in row.text
    link = row.find_element(By.LINK_TEXT, "image").get_attribute("href")
    assert link == f"{guarding_server.url}/images/{image_id}.png"
    row.find_element(By.CSS_SELECTOR, "button[value=confirmed]").click()
    # The review button posts a form and the page reloads: first the old row must be gone
    # (the click returns before the POST), then the new page's review tag says "confirmed"
    # (the old row's text holds a "Confirm" button, so a looser match could pass on it).
    WebDriverWait(browser, 30).until(EC.staleness_of(row))
    review = (By.CSS_SELECTOR, '#refusals tbody tr td[data-label="Review"] .tag')
    WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(*review).text == "confirmed"
    )
