""""Check for spam" in a real browser: a clean template and a shouting one scored by the test
command's spamd, in the template editor and on the mass email form."""
import os

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import NAVIGATION_ERRORS

from test_mass_email import ensure_sender

pytestmark = pytest.mark.skipif(not os.environ.get("HERALD_TEST_SPAMD") and os.environ.get("HERALD_REQUIRE_PEERS") != "1",
                                reason="no spamd (HERALD_TEST_SPAMD)")

CLEAN_SUBJECT = "Notes from Tuesday's meeting"
CLEAN_HTML = ("<p>Dear {{first_name | \"colleague\"}},</p><p>Here are the notes from Tuesday. We agreed to move the review "
              "to Friday and to ask the design team for the new drawings before then. Let me know if I missed anything.</p>"
              "<p>Best regards,<br>Ann</p>")
SHOUTING_SUBJECT = "FREE MONEY!!! ACT NOW!!! 100% GUARANTEED"
SHOUTING_HTML = ('<a href="http://example.com/x"><img src="http://example.com/big.png" width="600" height="800"></a>'
                 '<p><font size="7" color="#ff0000"><b>CLICK HERE TO CLAIM YOUR FREE CASH PRIZE!!! ACT NOW!!!</b></font></p>')


def wait(driver, seconds=30):
    return WebDriverWait(driver, seconds, ignored_exceptions=NAVIGATION_ERRORS)


def write_template(driver, herald, name, subject, html):
    driver.get(herald.url + "/m/contacts/templates/new")
    driver.find_element(By.ID, "t-name").send_keys(name)
    driver.find_element(By.ID, "t-subject").send_keys(subject)
    field = driver.find_element(By.ID, "t-html")
    field.clear()
    # Typed through the page's own value setter: send_keys would take seconds for each.
    driver.execute_script("arguments[0].value = arguments[1]", field, html)
    driver.find_element(By.ID, "save-template").click()
    wait(driver).until(EC.url_matches(r"/m/contacts/templates/\d+$"))
    return driver.current_url.split("/")[-1].split("?")[0]


def check_in_editor(driver, test_address=""):
    Select(driver.find_element(By.ID, "t-record-choice")).select_by_index(1)
    if test_address:
        driver.find_element(By.ID, "t-to").send_keys(test_address)
    driver.find_element(By.ID, "spam-button").click()
    return wait(driver).until(EC.presence_of_element_located((By.ID, "spam-score")))


def test_the_editor_and_the_mass_email_form_score_a_template(admin, herald):
    ensure_sender(admin, herald)
    letter = write_template(admin, herald, "Spam check letter", CLEAN_SUBJECT, CLEAN_HTML)
    # A test address half typed in the same form does not hold the check up (it reads no address).
    score = float(check_in_editor(admin, test_address="ann@").text)
    assert score < 5.0
    assert admin.find_element(By.ID, "spam-ok").is_displayed()
    assert not admin.find_elements(By.ID, "spam-warning")

    shouting = write_template(admin, herald, "Spam check shouting", SHOUTING_SUBJECT, SHOUTING_HTML)
    score = float(check_in_editor(admin).text)
    assert score >= 5.0
    assert "At or over the threshold" in admin.find_element(By.ID, "spam-warning").text
    rules = admin.find_element(By.ID, "spam-rules").text
    assert "SUBJ_ALL_CAPS" in rules and "Subject is all capitals" in rules
    # What was typed is still in the editor.
    assert admin.find_element(By.ID, "t-subject").get_attribute("value") == SHOUTING_SUBJECT

    # The mass email form checks the chosen template and keeps what was filled in.
    admin.get(herald.url + "/mass-emails/new?module=contacts")
    admin.find_element(By.ID, "me-name").send_keys("Spam check launch")
    Select(admin.find_element(By.ID, "me-template")).select_by_value(shouting)
    admin.find_element(By.ID, "me-spam-button").click()
    warning = wait(admin).until(EC.presence_of_element_located((By.ID, "spam-warning")))
    assert "At or over the threshold" in warning.text
    assert float(admin.find_element(By.ID, "spam-score").text) >= 5.0
    assert "SUBJ_ALL_CAPS" in admin.find_element(By.ID, "spam-rules").text
    assert admin.find_element(By.ID, "me-name").get_attribute("value") == "Spam check launch"
    assert Select(admin.find_element(By.ID, "me-template")).first_selected_option.get_attribute("value") == shouting

    # The letter, checked on the same form, is under the threshold.
    Select(admin.find_element(By.ID, "me-template")).select_by_value(letter)
    admin.find_element(By.ID, "me-spam-button").click()
    wait(admin).until(EC.presence_of_element_located((By.ID, "spam-ok")))
    assert float(admin.find_element(By.ID, "spam-score").text) < 5.0
    assert not admin.find_elements(By.ID, "spam-warning")
