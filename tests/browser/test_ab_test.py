"""An A/B test in a real browser: set up on the mass email form, sent now to a demo view
(into the .eml outbox), people's clicks on variant B's messages (their tracked links, taken
out of the outbox and requested over HTTP) shown side by side on the mass email's page, B
picked by hand and sent to the rest, and the line on the summary."""
import email
import email.policy
import glob
import os
import re
import time
import urllib.error
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import NAVIGATION_ERRORS

from test_follow_ups import ensure_template
from test_trigger_actions import choose, start_form

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
SUBJECTS = {"A": "Spring letter, plain", "B": "Spring letter, bold"}


def wait(driver, seconds=20):
    return WebDriverWait(driver, seconds, ignored_exceptions=NAVIGATION_ERRORS)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def click(url):
    """Requests a tracked link as a person's browser would, without following it off 127.0.0.1."""
    request = urllib.request.Request(url, headers={"User-Agent": BROWSER})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return response.status, response.headers.get("Location")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location")


def outbox(herald):
    """The outbox's messages of this test, by variant letter: the HTML of each."""
    found = {"A": [], "B": []}
    for path in glob.glob(os.path.join(herald.workdir, "outbox", "*.eml")):
        with open(path, "rb") as handle:
            message = email.message_from_bytes(handle.read(), policy=email.policy.default)
        for letter, subject in SUBJECTS.items():
            if message["Subject"] == subject:
                found[letter].append(message.get_body(("html",)).get_content())
    return found


def variant_rows(driver):
    return {row.find_element(By.CSS_SELECTOR, "th").text.split()[0]: row
            for row in driver.find_elements(By.CSS_SELECTOR, "#ab-test tbody tr")}


def test_an_ab_test_shows_its_variants_side_by_side_and_sends_the_winner_to_the_rest(admin, herald):
    ensure_template(admin, herald, "A/B letter", subject="Spring letter",
                    html='<p>Our spring letter: <a href="https://example.com/spring">read it</a>.</p>')
    start_form(admin, herald, "Browser A/B test")
    choose(admin, "template_id", "A/B letter")
    admin.find_element(By.NAME, "ab_on").click()
    admin.find_element(By.NAME, "ab_subject_0").send_keys(SUBJECTS["A"])
    admin.find_element(By.NAME, "ab_subject_1").send_keys(SUBJECTS["B"])
    percent = admin.find_element(By.NAME, "ab_percent")
    percent.clear()
    percent.send_keys("40")
    choose(admin, "ab_measure", "clicks")
    admin.find_element(By.CSS_SELECTOR, "input[name=send][value=now]").click()
    admin.find_element(By.ID, "save-mass-email").click()
    # The form has an #ab-test fieldset of its own: wait for what only the mass email's page
    # has, or the page read below may still be the form's.
    wait(admin).until(EC.presence_of_element_located((By.ID, "ab-state")))
    assert "/mass-emails/new" not in admin.current_url
    page = admin.current_url.split("#")[0]

    # The test share goes out, half A, half B; the rest wait for the winner.
    # A page that is sending reloads itself every 3 s: what is read of one load is read in the
    # wait that loaded it, retried when its elements go stale under the reload.
    def drawn():
        admin.get(page)
        found = re.search(r"(\d+) recipients wait for it", admin.find_element(By.ID, "ab-state").text)
        return found and int(found.group(1))
    held = wait(admin).until(lambda _: drawn())
    assert held > 0

    def test_share_sent():
        rows = variant_rows(admin)
        sent = [int(rows[letter].find_elements(By.CSS_SELECTOR, "td.num")[0].text) for letter in "AB"]
        found = outbox(herald)
        return sent[0] > 0 and abs(sent[0] - sent[1]) <= 1 and [len(found["A"]), len(found["B"])] == sent
    wait(admin).until(lambda _: (admin.get(page), test_share_sent())[1])
    messages = outbox(herald)

    # People click three of B's messages. A click within seconds of delivery is taken for a
    # link scanner's (MachineRules' quiet window, 5 s by default): wait that out first.
    time.sleep(6)
    for html in messages["B"][:3]:
        link = re.search(r'href="([^"]+/t/c/[a-z2-7]+)"', html).group(1)
        assert click(link) == (302, "https://example.com/spring")

    # B goes to the rest, picked by hand before the wait is over: its button is pressed on the
    # load that showed the clicks (the last step, so a retry means it was not pressed).
    def clicks_shown_then_pick():
        admin.get(page)
        rows = variant_rows(admin)
        if [rows[letter].find_elements(By.CSS_SELECTOR, "td.num")[2].text for letter in "AB"] != ["0", "3"]:
            return None
        row_b, panel = rows["B"].text, admin.find_element(By.ID, "ab-test").text
        rows["B"].find_element(By.CSS_SELECTOR, "button").click()
        return row_b, panel
    row_b, panel = wait(admin).until(lambda _: clicks_shown_then_pick())
    assert SUBJECTS["B"] in row_b and "A/B letter" in row_b
    assert "★ Winner" not in panel

    # The old page still has an #ab-state until the answer replaces it: read the state and
    # the rows from one load.

    def decided():
        state = admin.find_element(By.ID, "ab-state").text
        if "Variant B won" not in state:
            return None
        return state, variant_rows(admin)["B"].text, len(admin.find_elements(By.CSS_SELECTOR, "#ab-test button"))
    state, row_b, buttons = wait(admin).until(lambda _: decided())
    assert "picked by" in state
    assert "★ Winner" in row_b
    assert buttons == 0

    def all_sent():
        admin.get(page)
        return admin.find_element(By.CSS_SELECTOR, "h1 .status").text == "sent"
    wait(admin, 60).until(lambda _: all_sent())
    final = outbox(herald)
    assert len(final["A"]) == len(messages["A"])
    assert len(final["B"]) == len(messages["B"]) + held

    admin.get(herald.url + "/mass-emails?tab=sent")
    row = admin.find_element(By.XPATH, "//table[contains(@class,'mass-emails')]//tr[.//a[text()='Browser A/B test']]")
    line = row.find_element(By.CSS_SELECTOR, ".ab-line").text
    assert line.startswith("A/B by clicks: A 0.0% · B ") and line.endswith("★")
