"""What a person sees of a guarded prompt: the images, and why they were made with safeguards."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import submit_admin_login
from tests.browser.test_ui import submit_prompt

pytestmark = pytest.mark.browser


def test_a_guarded_prompt_shows_its_images_and_a_calm_note(guarding_server, browser):
    submit_prompt(browser, guarding_server.url, "a borderline beach scene", steps=4)
    note = WebDriverWait(browser, 30).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#status .notice-guarded"))
    )
    assert "Generated with safeguards." in note.text and "sexual" in note.text
    assert "kept for an administrator to review" in note.text
    assert "nudity" not in note.text  # the safety negative prompt's words stay server-side
    assert len(browser.find_elements(By.CSS_SELECTOR, "#images img")) == 1
    assert not browser.find_elements(By.CSS_SELECTOR, "#status .notice-refusal")
    link = note.find_element(By.CSS_SELECTOR, "a.policy-link")
    assert link.get_attribute("href") == guarding_server.url + "/policy#sexual"


def test_an_allowed_prompt_shows_no_note(guarding_server, browser):
    submit_prompt(browser, guarding_server.url, "a calm beach scene", steps=4)
    WebDriverWait(browser, 30).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#images img"))
    )
    assert not browser.find_elements(By.CSS_SELECTOR, ".notice-guarded")


def test_the_admin_log_shows_the_guarded_entry_and_its_job(guarding_server, browser):
    submit_prompt(browser, guarding_server.url, "a borderline beach scene", steps=4)
    WebDriverWait(browser, 30).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#status .notice-guarded"))
    )
    browser.get(guarding_server.url + "/admin/login")
    submit_admin_login(browser)
    browser.get(guarding_server.url + "/admin/moderation?outcome=guarded")
    table = WebDriverWait(browser, 10).until(EC.visibility_of_element_located((By.ID, "refusals")))
    row = table.find_element(By.CSS_SELECTOR, "tbody tr")
    assert "guarded" in row.text and "a borderline beach scene" in row.text
    assert row.find_element(By.CSS_SELECTOR, "button[value=should_refuse]").is_displayed()
    row.find_element(By.LINK_TEXT, "job").click()
    image = WebDriverWait(browser, 30).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, ".image-grid img"))
    )
    loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
    # Shown is not yet loaded: wait for the picture itself (it fails if it never loads).
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(loaded, image))
    assert "Generated with safeguards." in browser.find_element(By.CSS_SELECTOR, "main").text
