"""/api/docs in headless Chromium: Swagger UI lists the operations, under the strict CSP."""

from __future__ import annotations

import threading

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.wait import WebDriverWait

# Collects every CSP violation the page reports, from before its first script runs.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory):
    """The app with its models unloaded (the document needs only their bounds), in a thread."""
    from werkzeug.serving import make_server

    from webapp import create_app
    from webapp.config import test_config
    from webapp.migrate import upgrade

    instance = tmp_path_factory.mktemp("docs")
    cfg = test_config(str(instance))
    upgrade(cfg["SAFECANVAS_DATABASE_URL"])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SAFECANVAS_INSTANCE_PATH", str(instance))
        app = create_app(cfg)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="docs-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_api_docs_render_every_operation_under_the_csp(browser, docs_server):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_CSP})
    browser.get_log("browser")  # start from an empty console
    browser.get(f"{docs_server}/api/docs")
    WebDriverWait(browser, 30).until(
        ready.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path"))
    )
    doc = requests.get(f"{docs_server}/api/openapi.json", timeout=30).json()
    expected = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}

    def shown_operations(driver) -> set[tuple[str, str]]:
        return {
            (
                block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text,
                block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute(
                    "data-path"
                ),
            )
            for block in driver.find_elements(By.CSS_SELECTOR, ".opblock")
        }

    # Swagger UI renders in React passes: the first path on screen is not yet all of them,
    # and a block read during a pass can be replaced under us.
    try:
        WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: shown_operations(d) == expected
        )
    except TimeoutException:
        pass  # the assertion below says what differs
    shown = shown_operations(browser)
    assert shown == expected
    assert ("POST", "/v1/images/generations") in shown and ("GET", "/v1/models") in shown

    # Open one operation: its response schema renders from the document, not a bare object.
    operation = browser.find_element(By.ID, "operations-default-post_api_v1_images")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    # The table comes first; its schema is resolved and filled in after (asynchronously).
    WebDriverWait(browser, 30).until(
        ready.text_to_be_present_in_element((By.CSS_SELECTOR, ".responses-table"), "signed_url")
    )

    assert browser.execute_script("return window.__cspViolations") == []
    console = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not [m for m in console if "Content Security Policy" in m], console
    csp = requests.get(f"{docs_server}/api/docs", timeout=30).headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
