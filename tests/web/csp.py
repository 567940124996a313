"""Watching a real Chromium for Content-Security-Policy violations (shared by the web security tests).

``watch_csp`` makes Chromium register a ``securitypolicyviolation`` listener in every new document
before the page's own scripts run (DevTools scripts are outside the page's CSP); ``violations``
reads what the current document reported.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

_LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def watch_csp(browser: WebDriver) -> None:
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _LISTEN})


def violations(browser: WebDriver) -> list[str]:
    time.sleep(0.05)  # the events are queued as tasks
    return list(browser.execute_script("return window.__csp || []"))
