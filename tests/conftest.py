"""Shared fixtures for Herald's browser tests: one demo server per session, one Chromium."""
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


class Herald:
    def __init__(self, url, email, password, workdir):
        self.url = url.rstrip("/")
        self.email = email
        self.password = password
        self.workdir = workdir


@pytest.fixture(scope="session")
def herald():
    binary = os.environ.get("HERALD_BIN") or str(ROOT / ".build" / "debug" / "herald")
    if not os.path.exists(binary):
        pytest.fail(f"the herald binary is missing at {binary}; run `swift build` or set HERALD_BIN")
    workdir = tempfile.mkdtemp(prefix="herald-browser-")
    log_path = os.path.join(workdir, "server.log")
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [binary, "serve", "--demo", "--port", "0", "--bcrypt-cost", "4", "--database", os.path.join(workdir, "h.sqlite")],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = email = password = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and url is None:
        if process.poll() is not None:
            break
        text = Path(log_path).read_text(errors="replace")
        found_url = re.search(r"Herald is running at (http://\S+)", text)
        if found_url:
            url = found_url.group(1)
            email = re.search(r"email:\s+(\S+)", text).group(1)
            password = re.search(r"password:\s+(\S+)", text).group(1)
            break
        time.sleep(0.05)  # polling the server's output while it starts, not a fixed wait
    if url is None:
        process.kill()
        pytest.fail("Herald did not start:\n" + Path(log_path).read_text(errors="replace")[-4000:])
    yield Herald(url, email, password, workdir)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    shutil.rmtree(workdir, ignore_errors=True)


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
