"""What a person sees in headless Chromium: progress then image, a refusal, the admin log."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import submit_admin_login

pytestmark = pytest.mark.browser

GENERATION_TIMEOUT_S = 90
# The page sees a job's progress only once its event stream is open: a 10-step job (0.3 s
# here) can end before a busy browser opens it, and the page then jumps straight to "Done".
PROGRESS_STEPS = 50
# Records every status text and progress value the page shows, so a test can assert the
# progress bar was on screen before the image, however briefly each state showed.
RECORD_PROGRESS = """
window.__seen = [];
const bar = document.getElementById('progress-bar');
const status = document.getElementById('status');
const note = () => window.__seen.push({
  value: bar.getAttribute('aria-valuenow'),
  visible: !document.getElementById('progress').hidden,
  status: status.textContent.trim(),
  images: document.querySelectorAll('#images img').length,
});
new MutationObserver(note).observe(bar, {attributes: true});
new MutationObserver(note).observe(status, {childList: true, subtree: true});
"""
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2;alert(1)">'


def stored_seed(app) -> int:
    """The seed of the newest stored image."""
    from sqlalchemy import select

    from webapp.db import session_factory, session_scope
    from webapp.models import Image

    with session_scope(session_factory(app)) as session:
        return session.scalar(select(Image.seed).order_by(Image.created_at.desc()).limit(1))


def submit_prompt(browser, base_url: str, prompt: str, steps: int = 10) -> None:
    """Open the studio, fill in the form with one image and few steps, and press Generate."""
    browser.get(base_url + "/")
    browser.execute_script(RECORD_PROGRESS)
    field = browser.find_element(By.ID, "prompt")
    field.clear()
    field.send_keys(prompt)
    for name, value in (("n", "1"), ("steps", str(steps))):
        box = browser.find_element(By.ID, name)
        box.clear()
        box.send_keys(value)
    browser.find_element(By.ID, "generate").click()


def test_prompt_shows_progress_then_the_image(live_server, browser):
    submit_prompt(browser, live_server.url, "two red circles on a blue background", PROGRESS_STEPS)
    image = WebDriverWait(browser, GENERATION_TIMEOUT_S).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#images img"))
    )
    loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(loaded, image))
    seen = browser.execute_script("return window.__seen")
    running = [
        s
        for s in seen
        if s["visible"]
        and s["images"] == 0
        and s["status"] in ("Generating…", "Waiting in the queue…")
    ]
    assert running, f"the progress bar never showed a running job: {seen}"
    assert browser.find_element(By.ID, "progress-bar").get_attribute("aria-valuenow") == "100"
    assert image.value_of_css_property("image-rendering") == "pixelated"
    assert image.size["width"] >= 200  # the 32 px image is shown upscaled
    card = browser.find_element(By.CSS_SELECTOR, "#images .image-card")
    shown_seed = card.find_element(By.CSS_SELECTOR, ".image-meta code").text
    assert shown_seed == str(stored_seed(live_server.app))  # exact, even above 2**53
    link = card.find_element(By.LINK_TEXT, "Download")
    assert link.get_attribute("href").endswith(".png?download=1")
    assert "Done: 1 image." in browser.find_element(By.ID, "status").text


def test_unsafe_prompt_shows_a_calm_refusal(live_server, browser):
    submit_prompt(browser, live_server.url, "a blue square covered in gore")
    notice = WebDriverWait(browser, 30).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#status .notice-refusal"))
    )
    assert "violence" in notice.text
    assert "has been logged" in notice.text
    assert "gore" not in notice.text  # the matched words are for the log only
    assert not browser.find_elements(By.CSS_SELECTOR, "#images img")
    link = notice.find_element(By.CSS_SELECTOR, "a.policy-link")
    assert link.get_attribute("href") == live_server.url + "/policy#violence"
    link.click()
    section = WebDriverWait(browser, 10).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "article.policy h2#violence"))
    )
    assert "Violence" in section.text and browser.current_url.endswith("/policy#violence")


def test_admin_sees_the_refusal_and_attack_payloads_stay_text(live_server, browser):
    submit_prompt(browser, live_server.url, f"gore {XSS}")
    WebDriverWait(browser, 30).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#status .notice-refusal"))
    )
    browser.get(live_server.url + "/admin/moderation")
    assert "/admin/login" in browser.current_url
    submit_admin_login(browser)
    table = WebDriverWait(browser, 30).until(EC.visibility_of_element_located((By.ID, "refusals")))
    newest = table.find_element(By.CSS_SELECTOR, "tbody tr")
    assert newest.find_element(By.CSS_SELECTOR, "td.prompt").text == f"gore {XSS}"
    assert "violence" in newest.text and "blocklist" in newest.text
    assert browser.execute_script("return window.__xss") is None
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018  (reading it is the check)
    assert not browser.find_elements(By.CSS_SELECTOR, "td.prompt img, td.prompt script")
