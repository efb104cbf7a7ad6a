"""Shared fixtures for Herald's browser tests: one demo server per session, one Chromium."""
import os
import shutil
import tempfile

import pytest

try:
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    # What a wait reads past and tries again: while a form's post loads the next page,
    # Chromium may answer that an element just found "does not belong to the document" (an
    # inspector error, not a stale element). A real failure still ends in the wait's timeout.
    NAVIGATION_ERRORS = (StaleElementReferenceException, WebDriverException)
except ImportError:  # the tests that need no browser run without selenium
    NAVIGATION_ERRORS = ()

from herald_process import Server

# Every herald process of the run shares one key file for the secrets it seals, as the
# processes of one deployment on one database must.
os.environ.setdefault("HERALD_SECRET_KEY_FILE", os.path.join(tempfile.mkdtemp(prefix="herald-keys-"), "secret.key"))
# The spamd the test command started (network rules off), for "Check for spam".
if os.environ.get("HERALD_TEST_SPAMD"):
    os.environ.setdefault("HERALD_SPAMD", os.environ["HERALD_TEST_SPAMD"])


class Herald:
    def __init__(self, url, email, password, workdir, log_path=None):
        self.url = url.rstrip("/")
        self.email = email
        self.password = password
        self.workdir = workdir
        self.log_path = log_path


@pytest.fixture(scope="session")
def herald():
    workdir = tempfile.mkdtemp(prefix="herald-browser-")
    try:
        server = Server(["--demo", "--database", os.path.join(workdir, "h.sqlite")], workdir)
    except RuntimeError as error:
        pytest.fail(str(error))
    yield Herald(server.url, server.email, server.password, workdir, server.log_path)
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test reports the end of its servers' logs beside its error (the shared
    one, or a fixture's own): what Herald did (a resolution retried, a slow query) is the
    other half of a timeout."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or not hasattr(item, "funcargs"):
        return
    for name, value in item.funcargs.items():
        for server in value if isinstance(value, tuple) else (value,):
            if isinstance(server, Herald) and server.log_path and os.path.exists(server.log_path):
                with open(server.log_path, errors="replace") as handle:
                    report.sections.append((f"herald serve log of {name} (last 60 lines)", "".join(handle.readlines()[-60:])))


def make_driver(width=1280, height=900, javascript=True):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--proxy-server=direct://", "--proxy-bypass-list=*"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    options.binary_location = binary
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="session")
def driver_factory():
    drivers = []

    def make(**kwargs):
        d = make_driver(**kwargs)
        drivers.append(d)
        return d

    yield make
    for d in drivers:
        d.quit()


@pytest.fixture(scope="session")
def browser(driver_factory):
    return driver_factory()


@pytest.fixture(scope="session")
def admin(browser, herald):
    """The session browser, logged in as the demo admin."""
    login(browser, herald)
    return browser


def login(driver, herald):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(herald.url + "/login")
    driver.find_element(By.NAME, "email").send_keys(herald.email)
    driver.find_element(By.NAME, "password").send_keys(herald.password)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "a[href='/account']")))
